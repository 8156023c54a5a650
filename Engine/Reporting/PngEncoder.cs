// A dependency-free PNG writer: 8-bit RGBA, one IDAT compressed with ZLibStream, adaptive per-row filters, CRC-32.
using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text;

namespace Engine.Reporting;

/// <summary>Encodes RGBA rasters as PNG (colour type 6, bit depth 8, no interlacing).</summary>
public static class PngEncoder
{
    /// <summary>The 8-byte PNG file signature.</summary>
    public static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private static readonly uint[] CrcTable = MakeCrcTable();

    /// <summary>Encodes <paramref name="raster"/> as the bytes of a PNG file.</summary>
    public static byte[] Encode(Raster raster)
    {
        ArgumentNullException.ThrowIfNull(raster);
        return Encode(raster.Pixels, raster.Width, raster.Height);
    }

    /// <summary>Encodes <paramref name="rgba"/> (4 bytes per pixel, rows top to bottom) as the bytes of a PNG file.</summary>
    /// <exception cref="ArgumentException">The pixel data does not have width * height * 4 bytes.</exception>
    public static byte[] Encode(ReadOnlySpan<byte> rgba, int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (rgba.Length != (long)width * height * 4)
        {
            throw new ArgumentException($"rgba has {rgba.Length} bytes but a {width}x{height} RGBA image needs {(long)width * height * 4}.", nameof(rgba));
        }

        using var png = new MemoryStream();
        png.Write(Signature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], height);
        ihdr[8] = 8;   // bit depth
        ihdr[9] = 6;   // colour type: RGBA
        ihdr[10] = 0;  // deflate
        ihdr[11] = 0;  // adaptive filtering
        ihdr[12] = 0;  // no interlace
        WriteChunk(png, "IHDR", ihdr);
        WriteChunk(png, "IDAT", Compress(rgba, width, height));
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    /// <summary>The CRC-32 (ISO-HDLC, as PNG and zlib use) of <paramref name="data"/>, continuing from <paramref name="crc"/>.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data, uint crc = 0)
    {
        uint c = ~crc;
        foreach (byte b in data)
        {
            c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        }

        return ~c;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static byte[] Compress(ReadOnlySpan<byte> rgba, int width, int height)
    {
        int stride = width * 4;
        var filtered = new byte[(stride + 1) * height];
        var candidate = new byte[stride];
        for (int y = 0; y < height; y++)
        {
            var row = rgba.Slice(y * stride, stride);
            var prev = y > 0 ? rgba.Slice((y - 1) * stride, stride) : default;
            var dest = filtered.AsSpan((y * (stride + 1)) + 1, stride);
            long best = long.MaxValue;
            for (byte type = 0; type <= 4; type++)
            {
                long score = Filter(type, row, prev, candidate);
                if (score < best)
                {
                    best = score;
                    filtered[y * (stride + 1)] = type;
                    candidate.CopyTo(dest);
                }
            }
        }

        using var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.Optimal, leaveOpen: true))
        {
            z.Write(filtered);
        }

        return ms.ToArray();
    }

    /// <summary>Applies PNG filter <paramref name="type"/> to a row; returns the sum of |signed bytes| (the usual heuristic).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static long Filter(byte type, ReadOnlySpan<byte> row, ReadOnlySpan<byte> prev, Span<byte> output)
    {
        bool first = prev.IsEmpty;
        for (int i = 0; i < row.Length; i++)
        {
            int a = i >= 4 ? row[i - 4] : 0;
            int b = first ? 0 : prev[i];
            output[i] = type switch
            {
                0 => row[i],
                1 => (byte)(row[i] - a),
                2 => (byte)(row[i] - b),
                3 => (byte)(row[i] - ((a + b) >> 1)),
                _ => (byte)(row[i] - Paeth(a, b, i >= 4 && !first ? prev[i - 4] : 0)),
            };
        }

        long sum = 0;
        foreach (sbyte v in System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(output))
        {
            sum += v < 0 ? -v : v;
        }

        return sum;
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static void WriteChunk(Stream s, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(head, data.Length);
        Encoding.ASCII.GetBytes(type, head[4..]);
        s.Write(head);
        s.Write(data);
        uint crc = Crc32(data, Crc32(head[4..]));
        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(tail, crc);
        s.Write(tail);
    }

    private static uint[] MakeCrcTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            t[n] = c;
        }

        return t;
    }
}
