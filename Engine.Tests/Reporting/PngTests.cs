// The PNG writer, checked by an independent reader: signature, chunk layout, CRCs (bitwise, not table-driven),
// IHDR fields, and the pixels after inflating IDAT and undoing every row filter.
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Text;
using Engine.Reporting;
using NUnit.Framework;

namespace Engine.Tests.Reporting;

public sealed class PngTests
{
    private static uint BitwiseCrc(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? (c >> 1) ^ 0xEDB88320 : c >> 1;
            }
        }

        return ~c;
    }

    /// <summary>A minimal PNG reader for 8-bit RGBA, non-interlaced files.</summary>
    internal static (int Width, int Height, byte[] Rgba, List<string> Chunks) Decode(byte[] png)
    {
        Assert.That(png[..8], Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10 }), "signature");
        var chunks = new List<string>();
        using var idat = new MemoryStream();
        int width = 0, height = 0, at = 8;
        while (at < png.Length)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            string type = Encoding.ASCII.GetString(png, at + 4, 4);
            var body = png.AsSpan(at + 8, len);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + len));
            Assert.That(crc, Is.EqualTo(BitwiseCrc(png.AsSpan(at + 4, len + 4))), $"CRC of {type}");
            chunks.Add(type);
            if (type == "IHDR")
            {
                Assert.That(len, Is.EqualTo(13));
                width = BinaryPrimitives.ReadInt32BigEndian(body);
                height = BinaryPrimitives.ReadInt32BigEndian(body[4..]);
                Assert.That(body[8..].ToArray(), Is.EqualTo(new byte[] { 8, 6, 0, 0, 0 }), "8-bit RGBA, deflate, adaptive filters, no interlace");
            }
            else if (type == "IDAT")
            {
                idat.Write(body);
            }

            at += 12 + len;
        }

        Assert.That(at, Is.EqualTo(png.Length), "chunks end exactly at the end of the file");
        idat.Position = 0;
        Assert.That(idat.GetBuffer()[0], Is.EqualTo(0x78), "zlib header");
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        using var raw = new MemoryStream();
        z.CopyTo(raw);
        int stride = width * 4;
        var data = raw.ToArray();
        Assert.That(data.Length, Is.EqualTo(height * (stride + 1)), "inflated size: a filter byte and 4 bytes per pixel per row");
        var outPixels = new byte[height * stride];
        for (int y = 0; y < height; y++)
        {
            byte filter = data[y * (stride + 1)];
            Assert.That(filter, Is.LessThanOrEqualTo(4));
            for (int i = 0; i < stride; i++)
            {
                int a = i >= 4 ? outPixels[(y * stride) + i - 4] : 0;
                int b = y > 0 ? outPixels[((y - 1) * stride) + i] : 0;
                int c = i >= 4 && y > 0 ? outPixels[((y - 1) * stride) + i - 4] : 0;
                int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                int pred = filter switch { 0 => 0, 1 => a, 2 => b, 3 => (a + b) / 2, _ => pa <= pb && pa <= pc ? a : pb <= pc ? b : c };
                outPixels[(y * stride) + i] = (byte)(data[(y * (stride + 1)) + 1 + i] + pred);
            }
        }

        return (width, height, outPixels, chunks);
    }

    [Test]
    public void Encoded_images_decode_to_the_same_pixels()
    {
        var r = new Raster(37, 23, Rgba.FromRgb(0x336699));
        var rng = new Random(5);
        for (int y = 0; y < r.Height; y++)
        {
            for (int x = 0; x < r.Width; x++)
            {
                // Noise, gradients and flat areas, so that every filter type wins somewhere.
                r[x, y] = y < 6 ? new Rgba((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256))
                    : y < 14 ? new Rgba((byte)(x * 7), (byte)(y * 11), (byte)(x + y), 255)
                    : r[x, y];
            }
        }

        r.DrawPolyline([new PointF(2, 20), new PointF(30, 15)], Rgba.FromRgb(0xFF0000), 2f);
        var png = r.ToPng();
        var (w, h, pixels, chunks) = Decode(png);
        Assert.That((w, h), Is.EqualTo((37, 23)));
        Assert.That(chunks, Is.EqualTo(new[] { "IHDR", "IDAT", "IEND" }));
        Assert.That(pixels, Is.EqualTo(r.Pixels));
    }

    [Test]
    public void The_crc_matches_the_png_specification()
    {
        Assert.That(PngEncoder.Crc32("IEND"u8), Is.EqualTo(0xAE426082u), "the CRC every PNG ends with");
        Assert.That(PngEncoder.Crc32("123456789"u8), Is.EqualTo(0xCBF43926u), "the CRC-32 check value");
        Assert.That(PngEncoder.Crc32("56789"u8, PngEncoder.Crc32("1234"u8)), Is.EqualTo(0xCBF43926u), "continuation");
        Assert.That(() => PngEncoder.Encode(new byte[7], 2, 1), Throws.ArgumentException.With.Message.Contain("needs 8"));
        Assert.That(() => new Raster(0, 5, Rgba.White), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Drawing_blends_clips_and_antialiases()
    {
        var r = new Raster(20, 10, Rgba.White);
        r.Blend(3, 3, Rgba.Black, 0.5f);
        Assert.That(r[3, 3], Is.EqualTo(new Rgba(128, 128, 128)));
        r.Blend(-1, 3, Rgba.Black, 1f);
        r.FillRect(15, 5, 10, 10, Rgba.FromRgb(0x00FF00));
        Assert.That(r[19, 9], Is.EqualTo(Rgba.FromRgb(0x00FF00)));
        r.DrawPolyline([new PointF(0, 1.5f), new PointF(20, 1.5f)], Rgba.Black, 1f);
        Assert.That(r[10, 1], Is.EqualTo(Rgba.Black), "pixel row 1 is fully covered");
        Assert.That(r[10, 0], Is.EqualTo(Rgba.White));
        r.DrawPolyline([new PointF(0, 6), new PointF(10, 6)], Rgba.Black, 1f);
        Assert.That(r[5, 5].R, Is.InRange(100, 160), "a line between rows covers each half");
        Assert.That(r[5, 6].R, Is.InRange(100, 160));
        Assert.That(() => r[20, 0], Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("(20, 0)"));
    }
}
