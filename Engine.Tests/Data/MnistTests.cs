// IDX files and MNIST folders: round trips plain and gzipped, and a clear error for every way a file can be wrong.
using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Engine.Data.Mnist;
using NUnit.Framework;

namespace Engine.Tests.Data;

public sealed class MnistTests
{
    private static byte[] Images(int count, int side = 28) =>
        [.. Enumerable.Range(0, count * side * side).Select(i => (byte)((i * 7) % 256))];

    private static void WriteFolder(string dir, int train, int test, bool gzip)
    {
        string ext = gzip ? ".gz" : string.Empty;
        IdxFile.Write(Path.Combine(dir, "train-images-idx3-ubyte" + ext), Images(train), [train, 28, 28]);
        IdxFile.Write(Path.Combine(dir, "train-labels-idx1-ubyte" + ext), [.. Enumerable.Range(0, train).Select(i => (byte)(i % 10))], [train]);
        IdxFile.Write(Path.Combine(dir, "t10k-images-idx3-ubyte" + ext), Images(test), [test, 28, 28]);
        IdxFile.Write(Path.Combine(dir, "t10k-labels-idx1-ubyte" + ext), [.. Enumerable.Range(0, test).Select(i => (byte)(9 - (i % 10)))], [test]);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Idx_files_round_trip_plain_and_gzipped(bool gzip)
    {
        using var tmp = new TempDir();
        string path = tmp["a-idx3-ubyte" + (gzip ? ".gz" : string.Empty)];
        var data = Images(3, side: 5);
        IdxFile.Write(path, data, [3, 5, 5]);
        var bytes = File.ReadAllBytes(path);
        Assert.That(bytes[..2], gzip ? Is.EqualTo(new byte[] { 0x1F, 0x8B }) : Is.EqualTo(new byte[] { 0, 0 }));
        if (!gzip)
        {
            Assert.That(bytes[..8], Is.EqualTo(new byte[] { 0, 0, 8, 3, 0, 0, 0, 3 }));
            Assert.That(bytes.Length, Is.EqualTo(16 + 75));
        }

        var back = IdxFile.Read(path, 3);
        Assert.That(back.Dimensions, Is.EqualTo(new[] { 3, 5, 5 }));
        Assert.That(back.Data, Is.EqualTo(data));

        // Gzip is recognised by content, not by name.
        string renamed = tmp["renamed"];
        File.Copy(path, renamed);
        Assert.That(IdxFile.Read(renamed, 3).Data, Is.EqualTo(data));
    }

    [Test]
    public void Malformed_idx_files_name_the_file_and_the_problem()
    {
        using var tmp = new TempDir();
        string Put(string name, byte[] content)
        {
            File.WriteAllBytes(tmp[name], content);
            return tmp[name];
        }

        byte[] Header(byte type, byte rank, params int[] dims) =>
            [0, 0, type, rank, .. dims.SelectMany(d => BitConverter.GetBytes(d).Reverse())];

        Assert.That(() => IdxFile.Read(tmp["nope"], 1), Throws.InstanceOf<FileNotFoundException>().With.Message.Contain("nope"));
        var cases = new (string Name, byte[] Content, int Rank, string Expect)[]
        {
            ("short", [0, 0], 1, "truncated: it holds 2 byte(s)"),
            ("html", "<!DOCTYPE html>"u8.ToArray(), 1, "is not an IDX file: it starts with 0x3C21444F"),
            ("floats", Header(0x0D, 1, 4), 1, "type 0x0D (float)"),
            ("rank", [.. Header(8, 1, 4), 1, 2, 3, 4], 3, "0x00000801 (1 dimension(s)) but 0x00000803 (3 dimension(s))"),
            ("dims", [0, 0, 8, 3, 0, 0, 0, 2], 3, "truncated inside its header"),
            ("zero", Header(8, 2, 3, 0), 2, "dimension 1 as 0"),
            ("cut", [.. Header(8, 2, 2, 3), 1, 2, 3, 4], 2, "declares [2, 3] = 6 bytes of data but only 4 follow"),
            ("long", [.. Header(8, 1, 2), 1, 2, 3], 1, "has bytes after the 2 bytes of data"),
            ("badgz", [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0x00], 1, "is not a valid gzip stream"),
        };
        foreach (var c in cases)
        {
            string p = Put(c.Name, c.Content);
            Assert.That(() => IdxFile.Read(p, c.Rank), Throws.InstanceOf<InvalidDataException>().With.Message.Contain(p).And.Message.Contain(c.Expect), c.Name);
        }

        // A gzipped file cut short is reported as truncated.
        IdxFile.Write(tmp["full.gz"], Images(4), [4, 28, 28]);
        var gz = File.ReadAllBytes(tmp["full.gz"]);
        string cutGz = Put("cut.gz", gz[..(gz.Length / 2)]);
        Assert.That(() => IdxFile.Read(cutGz, 3), Throws.InstanceOf<InvalidDataException>().With.Message.Contain(cutGz));
        Assert.That(() => IdxFile.Write(tmp["x"], new byte[5], [2, 3]), Throws.ArgumentException.With.Message.Contain("hold 6 bytes but data has 5"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Mnist_folders_load_and_scale_pixels(bool gzip)
    {
        using var tmp = new TempDir();
        WriteFolder(tmp.Path, 12, 5, gzip);
        Assert.That(Mnist.MissingFiles(tmp.Path), Is.Empty);
        var train = Mnist.Load(tmp.Path, MnistSplit.Train);
        var test = Mnist.Load(tmp.Path, MnistSplit.Test);
        Assert.That(train.Count, Is.EqualTo(12));
        Assert.That(test.Count, Is.EqualTo(5));
        Assert.That(train.SampleShape, Is.EqualTo(new Shape(1, 28, 28)));
        Assert.That(test.Labels.ToArray(), Is.EqualTo(new byte[] { 9, 8, 7, 6, 5 }));
        var f = new float[784];
        Assert.That(train.Read(11, f), Is.EqualTo(1));
        var raw = Images(12);
        Assert.That(f[5], Is.EqualTo(raw[(11 * 784) + 5] / 255f));
        Assert.That(train.Image(11).ToArray(), Is.EqualTo(raw[(11 * 784)..(12 * 784)]));
    }

    [Test]
    public void Mnist_folders_explain_what_is_missing_or_inconsistent()
    {
        using var tmp = new TempDir();
        Assert.That(() => Mnist.Load(tmp.Path, MnistSplit.Train),
            Throws.InstanceOf<FileNotFoundException>().With.Message.Contain("'train-images-idx3-ubyte' (or 'train-images-idx3-ubyte.gz') is missing from")
                .And.Message.Contain("t10k-labels-idx1-ubyte"));
        Assert.That(Mnist.MissingFiles(tmp.Path), Has.Count.EqualTo(4));

        // Mirrors that spell the names with a dot are found too.
        IdxFile.Write(tmp["train-images.idx3-ubyte"], Images(3), [3, 28, 28]);
        IdxFile.Write(tmp["train-labels.idx1-ubyte"], [1, 2, 3], [3]);
        Assert.That(Mnist.Load(tmp.Path, MnistSplit.Train).Count, Is.EqualTo(3));

        IdxFile.Write(tmp["t10k-images-idx3-ubyte"], Images(3), [3, 28, 28]);
        IdxFile.Write(tmp["t10k-labels-idx1-ubyte"], [1, 2], [2]);
        Assert.That(() => Mnist.Load(tmp.Path, MnistSplit.Test), Throws.InstanceOf<InvalidDataException>().With.Message.Contain("holds 3 images but").And.Message.Contain("holds 2 labels"));
        IdxFile.Write(tmp["t10k-labels-idx1-ubyte"], [1, 12, 3], [3]);
        Assert.That(() => Mnist.Load(tmp.Path, MnistSplit.Test), Throws.InstanceOf<InvalidDataException>().With.Message.Contain("label 12 at index 1"));
        IdxFile.Write(tmp["t10k-images-idx3-ubyte"], Images(3, 32), [3, 32, 32]);
        Assert.That(() => Mnist.Load(tmp.Path, MnistSplit.Test), Throws.InstanceOf<InvalidDataException>().With.Message.Contain("32x32 images; MNIST images are 28x28"));
        IdxFile.Write(tmp["t10k-images-idx3-ubyte"], [1, 2, 3], [3]);
        Assert.That(() => Mnist.Load(tmp.Path, MnistSplit.Test), Throws.InstanceOf<InvalidDataException>().With.Message.Contain("(3 dimension(s)) was expected"));
        Assert.That(() => new MnistDataset(new byte[784], [10]), Throws.ArgumentException.With.Message.Contain("labels[0] is 10"));
    }
}
