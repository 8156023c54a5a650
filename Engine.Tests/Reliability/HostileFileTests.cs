// Broken and hostile files through `inspect` and the loaders a user calls: every one is refused with a message naming
// the file and what is wrong, in bounded memory (a header that declares 100 GB allocates nothing of the kind), and a
// refused checkpoint leaves the model and trainer exactly as they were.
using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Engine.Checkpoints;
using Engine.Data.Mnist;
using Engine.Reliability.Fuzz.Targets;
using Engine.Reliability.Inspect;
using Engine.Reliability.Runs;
using Engine.Tests.Data;
using Engine.Training;
using NUnit.Framework;

namespace Engine.Tests.Reliability;

public sealed class HostileFileTests
{
    /// <summary>Far below what any hostile header below declares.</summary>
    private const long Budget = 4 << 20;

    [Test]
    public void A_safetensors_header_declaring_100_GB_is_refused_without_allocating_it()
    {
        using var dir = new TempDir();
        string path = dir["huge.safetensors"];
        File.WriteAllBytes(path, SafeTensorsTarget.Raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[50000,500000],\"data_offsets\":[0,100000000000]}}", new byte[16]));
        var (rc, text, allocated) = Inspect(path);
        Assert.That(rc, Is.EqualTo(1));
        Assert.That(text, Does.StartWith($"error: {path}: "));
        Assert.That(text, Is.EqualTo($"error: {path}: the tensors need 100000000000 bytes of data but the file holds 16 (truncated file).\n"));
        Assert.That(allocated, Is.LessThan(Budget));
    }

    [Test]
    public void A_safetensors_header_length_past_the_end_is_refused_as_truncated()
    {
        using var dir = new TempDir();
        string path = dir["cut.safetensors"];
        File.WriteAllBytes(path, SafeTensorsTarget.Raw("{}", [], declaredLength: 1 << 20));
        var (rc, text, allocated) = Inspect(path);
        Assert.That((rc, text), Is.EqualTo((1, $"error: {path}: header length 1048576 exceeds the 2 bytes after the length field (truncated file).\n")));
        Assert.That(allocated, Is.LessThan(Budget));
    }

    [Test]
    public void Overlapping_and_out_of_range_offsets_are_refused_by_name()
    {
        using var dir = new TempDir();
        string overlap = dir["overlap.safetensors"], outside = dir["outside.safetensors"];
        File.WriteAllBytes(overlap, SafeTensorsTarget.Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]));
        File.WriteAllBytes(outside, SafeTensorsTarget.Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", new byte[8]));
        Assert.That(() => SafeTensorsFile.Read(overlap), Throws.TypeOf<SafeTensorsFormatException>().With.Message.StartsWith(overlap).And.Message.Contains("'b'"));
        Assert.That(() => SafeTensorsFile.Read(outside), Throws.TypeOf<SafeTensorsFormatException>().With.Message.StartsWith(outside).And.Message.Contains("'a'"));
    }

    [Test]
    public void An_idx_header_declaring_a_terabyte_is_refused_as_truncated_without_allocating_it()
    {
        using var dir = new TempDir();
        string path = dir["train-images-idx3-ubyte"];
        File.WriteAllBytes(path, [0, 0, 8, 3, 0x00, 0x98, 0x96, 0x80, 0x00, 0x00, 0x27, 0x10, 0x00, 0x00, 0x00, 0x0A, 1, 2, 3]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path, 3));
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(Budget));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("declares dimensions [10000000, 10000").And.Contain("corrupt"));

        // MNIST's own size (60000 x 28 x 28 = 47 MB) declared over 3 bytes: refused as truncated before the 47 MB exist.
        File.WriteAllBytes(path, [0, 0, 8, 3, 0x00, 0x00, 0xEA, 0x60, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3]);
        before = GC.GetAllocatedBytesForCurrentThread();
        e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path, 3));
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(Budget));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("[60000, 28, 28] = 47040000 bytes").And.Contain("only 3 follow"));
    }

    [Test]
    public void A_gzipped_idx_declaring_2_GB_allocates_by_the_data_that_arrive()
    {
        using var dir = new TempDir();
        string path = dir["labels-idx1-ubyte.gz"];
        using (var f = File.Create(path))
        using (var gz = new GZipStream(f, CompressionLevel.Optimal))
        {
            gz.Write([0, 0, 8, 1, 0x7F, 0xFF, 0xFF, 0xC7, 1, 2, 3]);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path, 1));
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(Budget), "a gzip stream's buffer grows with the data, not the header");
        Assert.That(e!.Message, Does.Contain(path).And.Contain("truncated").And.Contain("only 3 follow"));
    }

    [Test]
    public void A_truncated_or_corrupted_checkpoint_is_refused_naming_the_file_and_changes_nothing()
    {
        using var dir = new TempDir();
        using var run = new TinyRun(1, new CheckpointOptions { Directory = dir.Path, EveryEpochs = 0, EverySteps = 2, AtEnd = false, Keep = 0 });
        run.Trainer.Fit(TinyRun.Blobs(12), null);
        string latest = Trainer.FindLatestCheckpoint(dir.Path)!;
        string state = Checkpoint.TrainingStatePath(latest);
        string before = Snapshot(run);

        // Truncated: the state file cut in half.
        var bytes = File.ReadAllBytes(state);
        File.WriteAllBytes(state, bytes[..(bytes.Length / 2)]);
        var cut = Assert.Throws<SafeTensorsFormatException>(() => run.Trainer.LoadCheckpoint(latest));
        Assert.That(cut!.Message, Does.StartWith(state).And.Contain("truncated"));
        Assert.That(Snapshot(run), Is.EqualTo(before));

        // Corrupted: the trainer's JSON in the metadata edited into nonsense of the same length (the file still parses).
        var text = System.Text.Encoding.Latin1.GetString(bytes);
        int at = text.IndexOf("\\u0022epoch\\u0022:", StringComparison.Ordinal);
        Assert.That(at, Is.GreaterThan(0), "the state file holds the trainer's epoch");
        var edited = System.Text.Encoding.Latin1.GetBytes(text[..at] + "\\u0022epocX\\u0022:" + text[(at + "\\u0022epoch\\u0022:".Length)..]);
        File.WriteAllBytes(state, edited);
        var bad = Assert.Throws<CheckpointMismatchException>(() => run.Trainer.LoadCheckpoint(latest));
        Assert.That(bad!.Message, Does.Contain(state).And.Contain("'epoch'"));
        Assert.That(Snapshot(run), Is.EqualTo(before));

        // inspect says the same, and lists a sound checkpoint.
        var (rc, output, _) = Inspect(state);
        Assert.That(rc, Is.EqualTo(1));
        Assert.That(output, Does.EndWith($"error: {bad.Message}\n"));
        var (okRc, okText, _) = Inspect(latest);
        Assert.That(okRc, Is.EqualTo(0), okText);
        Assert.That(okText, Does.Contain("safetensors, ").And.Contain("0.weight"));
    }

    [Test]
    public void A_hostile_latest_pointer_is_ignored()
    {
        using var dir = new TempDir();
        using var run = new TinyRun(1, new CheckpointOptions { Directory = dir.Path, EveryEpochs = 0, EverySteps = 2, AtEnd = false, Keep = 0 });
        run.Trainer.Fit(TinyRun.Blobs(12), null);
        string newest = Trainer.FindLatestCheckpoint(dir.Path)!;
        File.WriteAllText(dir["latest"], "../../etc/passwd");
        Assert.That(Trainer.FindLatestCheckpoint(dir.Path), Is.EqualTo(newest), "the pointer names no managed checkpoint: the newest by name is taken");
    }

    private static (int Rc, string Text, long Allocated) Inspect(string path)
    {
        using var o = new StringWriter { NewLine = "\n" };
        long before = GC.GetAllocatedBytesForCurrentThread();
        int rc = FileInspector.Inspect(path, o);
        return (rc, o.ToString(), GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static string Snapshot(TinyRun run) =>
        $"{run.WeightsHash()} {run.Trainer.Epoch} {run.Trainer.BatchInEpoch} {run.Trainer.StepCount} {run.Optimizer.StepCount} {string.Join(",", run.Optimizer.Groups.Select(g => g.LR))}";
}
