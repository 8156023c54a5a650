// An RGBA image in memory with the few drawing primitives charts need: rectangles, anti-aliased lines and dots,
// bitmap text and scaled grey images. No dependencies; PngEncoder writes it out.
using System;
using System.Collections.Generic;

namespace Engine.Reporting;

/// <summary>An 8-bit RGBA colour.</summary>
/// <param name="R">Red.</param>
/// <param name="G">Green.</param>
/// <param name="B">Blue.</param>
/// <param name="A">Alpha (255 = opaque).</param>
public readonly record struct Rgba(byte R, byte G, byte B, byte A = 255)
{
    /// <summary>Opaque white.</summary>
    public static Rgba White => new(255, 255, 255);

    /// <summary>Opaque black.</summary>
    public static Rgba Black => new(0, 0, 0);

    /// <summary>A colour from 0xRRGGBB.</summary>
    public static Rgba FromRgb(uint rgb) => new((byte)(rgb >> 16), (byte)(rgb >> 8), (byte)rgb);
}

/// <summary>A point in pixel coordinates (x right, y down; pixel centres at +0.5).</summary>
/// <param name="X">Horizontal position.</param>
/// <param name="Y">Vertical position.</param>
public readonly record struct PointF(float X, float Y);

/// <summary>An RGBA raster, row-major, 4 bytes per pixel, with simple anti-aliased drawing.</summary>
public sealed class Raster
{
    /// <summary>Creates a raster filled with <paramref name="background"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive or the image is over 16384 pixels on a side.</exception>
    public Raster(int width, int height, Rgba background)
    {
        if (width is <= 0 or > 16384 || height is <= 0 or > 16384)
        {
            throw new ArgumentOutOfRangeException(nameof(width), $"A raster is 1-16384 pixels on a side; got {width}x{height}.");
        }

        Width = width;
        Height = height;
        Pixels = new byte[width * height * 4];
        FillRect(0, 0, width, height, background);
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>The pixels: R, G, B, A per pixel, rows top to bottom.</summary>
    public byte[] Pixels { get; }

    /// <summary>The colour at (<paramref name="x"/>, <paramref name="y"/>).</summary>
    public Rgba this[int x, int y]
    {
        get
        {
            int i = Index(x, y);
            return new Rgba(Pixels[i], Pixels[i + 1], Pixels[i + 2], Pixels[i + 3]);
        }

        set
        {
            int i = Index(x, y);
            Pixels[i] = value.R;
            Pixels[i + 1] = value.G;
            Pixels[i + 2] = value.B;
            Pixels[i + 3] = value.A;
        }
    }

    /// <summary>Paints <paramref name="color"/> over pixel (x, y) with <paramref name="coverage"/> in [0, 1]; outside pixels are ignored.</summary>
    public void Blend(int x, int y, Rgba color, float coverage)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height || coverage <= 0f)
        {
            return;
        }

        float a = Math.Min(coverage, 1f) * color.A / 255f;
        int i = ((y * Width) + x) * 4;
        float ba = Pixels[i + 3] / 255f;
        float outA = a + (ba * (1 - a));
        if (outA <= 0f)
        {
            return;
        }

        Pixels[i] = Mix(color.R, Pixels[i], a, ba, outA);
        Pixels[i + 1] = Mix(color.G, Pixels[i + 1], a, ba, outA);
        Pixels[i + 2] = Mix(color.B, Pixels[i + 2], a, ba, outA);
        Pixels[i + 3] = (byte)MathF.Round(outA * 255f);
    }

    /// <summary>Fills the rectangle [x, x+w) x [y, y+h) (clipped), replacing what is there.</summary>
    public void FillRect(int x, int y, int w, int h, Rgba color)
    {
        int x0 = Math.Max(0, x), y0 = Math.Max(0, y), x1 = Math.Min(Width, x + w), y1 = Math.Min(Height, y + h);
        for (int yy = y0; yy < y1; yy++)
        {
            for (int xx = x0; xx < x1; xx++)
            {
                this[xx, yy] = color;
            }
        }
    }

    /// <summary>Draws a 1-pixel crisp horizontal or vertical line between pixel centres (axes, grid lines).</summary>
    public void DrawCrispLine(int x0, int y0, int x1, int y1, Rgba color)
    {
        if (x0 == x1)
        {
            for (int y = Math.Min(y0, y1); y <= Math.Max(y0, y1); y++)
            {
                Blend(x0, y, color, 1f);
            }
        }
        else if (y0 == y1)
        {
            for (int x = Math.Min(x0, x1); x <= Math.Max(x0, x1); x++)
            {
                Blend(x, y0, color, 1f);
            }
        }
        else
        {
            DrawPolyline([new PointF(x0 + 0.5f, y0 + 0.5f), new PointF(x1 + 0.5f, y1 + 0.5f)], color, 1f);
        }
    }

    /// <summary>
    /// Draws an anti-aliased polyline of <paramref name="width"/> pixels with round joins and caps. Overlapping
    /// segments do not darken each other (coverage is the maximum over segments, then blended once).
    /// </summary>
    public void DrawPolyline(IReadOnlyList<PointF> points, Rgba color, float width)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count == 0)
        {
            return;
        }

        float r = width / 2f;
        float minX = float.MaxValue, minY = float.MaxValue, maxX = float.MinValue, maxY = float.MinValue;
        foreach (var p in points)
        {
            minX = Math.Min(minX, p.X);
            minY = Math.Min(minY, p.Y);
            maxX = Math.Max(maxX, p.X);
            maxY = Math.Max(maxY, p.Y);
        }

        int bx0 = Math.Max(0, (int)MathF.Floor(minX - r - 1)), by0 = Math.Max(0, (int)MathF.Floor(minY - r - 1));
        int bx1 = Math.Min(Width - 1, (int)MathF.Ceiling(maxX + r + 1)), by1 = Math.Min(Height - 1, (int)MathF.Ceiling(maxY + r + 1));
        if (bx1 < bx0 || by1 < by0)
        {
            return;
        }

        int bw = bx1 - bx0 + 1;
        var cover = new float[bw * (by1 - by0 + 1)];
        for (int s = 0; s < Math.Max(1, points.Count - 1); s++)
        {
            var a = points[s];
            var b = points[Math.Min(s + 1, points.Count - 1)];
            int sx0 = Math.Max(bx0, (int)MathF.Floor(Math.Min(a.X, b.X) - r - 1)), sx1 = Math.Min(bx1, (int)MathF.Ceiling(Math.Max(a.X, b.X) + r + 1));
            int sy0 = Math.Max(by0, (int)MathF.Floor(Math.Min(a.Y, b.Y) - r - 1)), sy1 = Math.Min(by1, (int)MathF.Ceiling(Math.Max(a.Y, b.Y) + r + 1));
            for (int y = sy0; y <= sy1; y++)
            {
                for (int x = sx0; x <= sx1; x++)
                {
                    float d = DistanceToSegment(x + 0.5f, y + 0.5f, a, b);
                    float c = Math.Clamp(r + 0.5f - d, 0f, 1f);
                    int k = ((y - by0) * bw) + (x - bx0);
                    cover[k] = Math.Max(cover[k], c);
                }
            }
        }

        for (int k = 0; k < cover.Length; k++)
        {
            Blend(bx0 + (k % bw), by0 + (k / bw), color, cover[k]);
        }
    }

    /// <summary>Fills an anti-aliased disc.</summary>
    public void FillCircle(float cx, float cy, float radius, Rgba color) => DrawPolyline([new PointF(cx, cy)], color, radius * 2);

    /// <summary>Draws text with the built-in font; (x, y) is the top-left of the first capital. Returns the width drawn.</summary>
    public int DrawText(string text, int x, int y, Rgba color, int scale = 1) => BitmapFont.Draw(this, text, x, y, color, scale, vertical: false);

    /// <summary>Draws text reading bottom to top (for vertical axis titles); (x, y) is the bottom-left of the first capital.</summary>
    public int DrawTextVertical(string text, int x, int y, Rgba color, int scale = 1) => BitmapFont.Draw(this, text, x, y, color, scale, vertical: true);

    /// <summary>
    /// Draws a grey image (<paramref name="width"/> x <paramref name="height"/> bytes, 0 = background) at (x, y),
    /// each pixel a <paramref name="scale"/>-pixel square of <paramref name="ink"/> with the grey value as coverage.
    /// </summary>
    public void DrawGrey(ReadOnlySpan<byte> grey, int width, int height, int x, int y, int scale, Rgba ink)
    {
        if (grey.Length != width * height)
        {
            throw new ArgumentException($"grey has {grey.Length} bytes but a {width}x{height} image needs {width * height}.", nameof(grey));
        }

        for (int r = 0; r < height; r++)
        {
            for (int c = 0; c < width; c++)
            {
                float cov = grey[(r * width) + c] / 255f;
                for (int dy = 0; dy < scale; dy++)
                {
                    for (int dx = 0; dx < scale; dx++)
                    {
                        Blend(x + (c * scale) + dx, y + (r * scale) + dy, ink, cov);
                    }
                }
            }
        }
    }

    /// <summary>Encodes the raster as a PNG file's bytes.</summary>
    public byte[] ToPng() => PngEncoder.Encode(this);

    /// <summary>Writes the raster to <paramref name="path"/> as a PNG file.</summary>
    public void SavePng(string path) => System.IO.File.WriteAllBytes(path, ToPng());

    private static byte Mix(byte src, byte dst, float a, float ba, float outA) =>
        (byte)Math.Clamp(MathF.Round(((src * a) + (dst * ba * (1 - a))) / outA), 0f, 255f);

    private static float DistanceToSegment(float px, float py, PointF a, PointF b)
    {
        float dx = b.X - a.X, dy = b.Y - a.Y;
        float len2 = (dx * dx) + (dy * dy);
        float t = len2 > 0 ? Math.Clamp((((px - a.X) * dx) + ((py - a.Y) * dy)) / len2, 0f, 1f) : 0f;
        float ex = a.X + (t * dx) - px, ey = a.Y + (t * dy) - py;
        return MathF.Sqrt((ex * ex) + (ey * ey));
    }

    private int Index(int x, int y)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height)
        {
            throw new ArgumentOutOfRangeException(nameof(x), $"Pixel ({x}, {y}) is outside the {Width}x{Height} raster.");
        }

        return ((y * Width) + x) * 4;
    }
}
