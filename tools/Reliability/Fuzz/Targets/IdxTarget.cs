// Fuzz target: an IDX file (MNIST-format images or labels a user points the trainer at), plain or gzipped.
using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using Engine.Data.Mnist;

namespace Engine.Reliability.Fuzz.Targets;

internal static class IdxTarget
{
    public static FuzzTarget Target { get; } = new(
        "idx",
        "IdxFile.Read of a plain or gzipped IDX file, with the rank its header declares (and rank 1 otherwise)",
        Run,
        [typeof(InvalidDataException)],
        ["Engine.dll:Engine.Data.Mnist"],
        Seeds);

    private static void Run(byte[] data, FuzzWorkspace w)
    {
        string path = w.Write("input-idx3-ubyte", data);

        // Ranks 1 and 3 (labels and images) and the one a plain header declares, so that the body's paths are reached
        // whatever the rank byte; the input is accepted when one of them reads it.
        int[] ranks = data.Length > 3 && data[3] is >= 1 and <= 8 and not (1 or 3) ? [1, 3, data[3]] : [1, 3];
        IdxArray? idx = null;
        InvalidDataException? refused = null;
        foreach (int rank in ranks)
        {
            try
            {
                idx = IdxFile.Read(path, rank);
                break;
            }
            catch (InvalidDataException e)
            {
                refused = e;
            }
        }

        if (idx is null)
        {
            throw refused!;
        }

        long n = 1;
        foreach (int d in idx.Dimensions)
        {
            n *= d;
        }

        if (n != idx.Data.Length)
        {
            throw new FuzzContractException($"dimensions [{string.Join(", ", idx.Dimensions)}] but {idx.Data.Length} bytes");
        }
    }

    private static IEnumerable<(string, byte[])> Seeds()
    {
        var images = new byte[2 * 3 * 4];
        for (int i = 0; i < images.Length; i++)
        {
            images[i] = (byte)(i * 11);
        }

        var plain = Idx(images, 2, 3, 4);
        yield return ("valid-images", plain);
        yield return ("valid-labels", Idx([1, 7, 0], 3));
        yield return ("valid-images-gz", Gzip(plain));
        yield return ("hostile-100gb", [0, 0, 8, 3, 0x00, 0x98, 0x96, 0x80, 0x00, 0x00, 0x27, 0x10, 0x00, 0x00, 0x00, 0x0A, 1, 2, 3]);
        yield return ("hostile-2gb-gz", Gzip([0, 0, 8, 1, 0x7F, 0xFF, 0xFF, 0xC7, 1, 2, 3]));
        yield return ("hostile-float-type", [0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
        yield return ("hostile-negative-dimension", [0, 0, 8, 1, 0xFF, 0xFF, 0xFF, 0xFF]);
        yield return ("hostile-trailing-bytes", [.. Idx([1, 2], 2), 9]);
    }

    private static byte[] Idx(byte[] data, params int[] dims)
    {
        using var ms = new MemoryStream();
        ms.Write([0, 0, IdxFile.UnsignedByte, (byte)dims.Length]);
        foreach (int d in dims)
        {
            ms.Write([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
        }

        ms.Write(data);
        return ms.ToArray();
    }

    private static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true))
        {
            gz.Write(data);
        }

        return ms.ToArray();
    }
}
