// `./build.sh inspect PATH`: what a safetensors file, a training checkpoint (file or managed folder) or an IDX file
// holds, found from its content, not its name. A broken or hostile file gets one "error:" line naming it and what is
// wrong (the parsers' own messages), in bounded time and memory; the hostile-file tests drive this.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Engine.Checkpoints;
using Engine.Data.Mnist;
using Engine.Training;

namespace Engine.Reliability.Inspect;

/// <summary>Prints a description of a file or checkpoint folder.</summary>
internal static class FileInspector
{
    /// <summary>Tensors listed in full; more are summarised in one line.</summary>
    private const int MaxListed = 40;

    /// <summary>Describes <paramref name="path"/> on <paramref name="output"/>; returns 0, or 1 after an <c>error:</c> line.</summary>
    public static int Inspect(string path, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(output);
        try
        {
            if (Directory.Exists(path))
            {
                Folder(path, output);
            }
            else if (!File.Exists(path))
            {
                throw new FileNotFoundException($"{path}: no such file or folder.", path);
            }
            else
            {
                switch (Kind(path))
                {
                    case "safetensors":
                        SafeTensors(path, output);
                        break;
                    case "idx":
                        Idx(path, output);
                        break;
                    default:
                        throw new InvalidDataException($"{path}: not a safetensors, IDX or gzipped IDX file (it starts with {Head(path)}).");
                }
            }

            return 0;
        }
        catch (Exception e) when (e is SafeTensorsFormatException or CheckpointMismatchException or InvalidDataException or IOException or UnauthorizedAccessException)
        {
            output.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    /// <summary>safetensors (an 8-byte length then '{'), idx (two zero bytes, or a gzip signature), or unknown.</summary>
    private static string Kind(string path)
    {
        Span<byte> head = stackalloc byte[9];
        using var f = File.OpenRead(path);
        int n = f.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (n == 9 && head[8] == (byte)'{')
        {
            return "safetensors";
        }

        if (n >= 2 && head[0] == 0x1F && head[1] == 0x8B)
        {
            return "idx";
        }

        if (n >= 4 && head[0] == 0 && head[1] == 0)
        {
            return "idx";
        }

        return n >= 8 ? "safetensors" : "unknown";
    }

    private static void Folder(string dir, TextWriter o)
    {
        string latest = Trainer.FindLatestCheckpoint(dir) ?? throw new FileNotFoundException($"{dir}: no checkpoint (no 'latest' pointer naming a ckpt-*.safetensors with its .train.safetensors).", dir);
        var all = Directory.EnumerateFiles(dir, "ckpt-*.safetensors").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        o.WriteLine($"{dir}: checkpoint folder, {all.Count} checkpoint file(s); latest {Path.GetFileName(latest)}");
        foreach (string? f in all)
        {
            o.WriteLine($"  {f}");
        }

        SafeTensors(latest, o);
    }

    private static void SafeTensors(string path, TextWriter o)
    {
        var file = SafeTensorsFile.Read(path);
        long bytes = file.Tensors.Sum(t => t.End - t.Begin);
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{path}: safetensors, {file.Tensors.Count} tensor(s), {bytes:N0} bytes of data"));
        foreach (var (k, v) in file.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            o.WriteLine($"  metadata {k} = {(v.Length > 120 ? v[..120] + $"... ({v.Length} chars)" : v)}");
        }

        foreach (var t in file.Tensors.Take(MaxListed))
        {
            o.WriteLine($"  {t.Name,-32} {t.DType,-5} {t.ShapeText,-16} {Stats(file, t)}");
        }

        if (file.Tensors.Count > MaxListed)
        {
            o.WriteLine($"  ... and {file.Tensors.Count - MaxListed} more");
        }

        if (file.Metadata.ContainsKey("user.trainer"))
        {
            var s = TrainerState.Parse(file.Metadata, path);
            o.WriteLine($"  trainer: epoch {s.Epoch + (s.Batch > 0 ? 1 : 0)}, batch {s.Batch}, step {s.Step}, {s.History.Count} finished epoch(s){(s.HasBest ? ", best weights kept" : string.Empty)}");
        }
        else if (File.Exists(Checkpoint.TrainingStatePath(path)) && !path.EndsWith(".train.safetensors", StringComparison.Ordinal))
        {
            o.WriteLine($"  training state: {Path.GetFileName(Checkpoint.TrainingStatePath(path))}");
        }
    }

    /// <summary>min, max, mean and the count of NaN or infinite values of an F32 tensor.</summary>
    private static string Stats(SafeTensorsFile file, SafeTensorInfo t)
    {
        if (t.DType != "F32" || t.ElementCount == 0)
        {
            return string.Empty;
        }

        var v = file.ReadFloat32(t.Name);
        var finite = v.Where(float.IsFinite).ToArray();
        int bad = v.Length - finite.Length;
        string range = finite.Length == 0 ? "no finite values" : string.Create(CultureInfo.InvariantCulture, $"min {finite.Min():G5}  max {finite.Max():G5}  mean {finite.Average(x => (double)x):G5}");
        return bad == 0 ? range : $"{range}  {bad} NaN/infinite";
    }

    private static void Idx(string path, TextWriter o)
    {
        Span<byte> head = stackalloc byte[4];
        bool gz;
        int rank;
        using (var f = File.OpenRead(path))
        {
            f.ReadAtLeast(head, 4, throwOnEndOfStream: false);
            gz = head[0] == 0x1F && head[1] == 0x8B;
            rank = head[3];
        }

        if (gz)
        {
            using var f = File.OpenRead(path);
            using var z = new System.IO.Compression.GZipStream(f, System.IO.Compression.CompressionMode.Decompress);
            try
            {
                rank = z.ReadAtLeast(head, 4, throwOnEndOfStream: false) == 4 ? head[3] : 1;
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"'{path}' is not a valid gzip stream ({e.Message}).", e);
            }
        }

        var a = IdxFile.Read(path, Math.Clamp(rank, 1, 8));
        o.WriteLine($"{path}: IDX{(gz ? " (gzipped)" : string.Empty)}, unsigned bytes, dimensions [{string.Join(", ", a.Dimensions)}]");
        if (a.Dimensions.Length == 1)
        {
            var counts = a.Data.GroupBy(b => b).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}");
            o.WriteLine($"  values (labels): {string.Join(", ", counts)}");
        }
        else if (a.Data.Length > 0)
        {
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  values: min {a.Data.Min()}  max {a.Data.Max()}  mean {a.Data.Average(b => (double)b):F2}"));
        }
    }

    private static string Head(string path)
    {
        var b = new byte[8];
        using var f = File.OpenRead(path);
        int n = f.ReadAtLeast(b, b.Length, throwOnEndOfStream: false);
        return n == 0 ? "nothing: it is empty" : "0x" + Convert.ToHexString(b, 0, n);
    }
}
