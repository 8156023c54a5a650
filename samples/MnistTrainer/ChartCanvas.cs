// What the sample's two pictures share: a white SkiaSharp canvas, the sans-serif font for their text (SkiaSharp finds
// fonts under /usr/share/fonts on Linux, Debian's fonts-dejavu-core), a line of text, and an atomic PNG write.
using System;
using System.IO;
using System.Linq;
using SkiaSharp;

namespace MnistTrainer;

/// <summary>A picture being drawn: a white canvas of a fixed size that is saved as a PNG.</summary>
internal sealed class ChartCanvas : IDisposable
{
    /// <summary>Text.</summary>
    public static readonly SKColor Ink = new(0x11, 0x11, 0x11);

    /// <summary>Training values, and the digit sheet's labels.</summary>
    public static readonly SKColor Blue = new(0x1F, 0x77, 0xB4);

    /// <summary>Test values.</summary>
    public static readonly SKColor Orange = new(0xE8, 0x71, 0x0A);

    private static readonly Lazy<string> Sans = new(FindSans);
    private static readonly Lazy<int> Glyphs = new(() =>
    {
        // With no fonts SkiaSharp still lists one family, named "", whose typeface has no glyphs.
        using var typeface = SKTypeface.FromFamilyName(SansFamily);
        return typeface?.GlyphCount ?? 0;
    });
    private readonly SKSurface surface;

    public ChartCanvas(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"SkiaSharp could not make a {width}x{height} canvas.");
        surface.Canvas.Clear(SKColors.White);
        Width = width;
        Height = height;
    }

    /// <summary>The family the pictures' text uses: DejaVu Sans where installed, else the first sans family found.</summary>
    public static string SansFamily => Sans.Value;

    /// <summary>Whether SkiaSharp found a font with glyphs; without one the pictures are drawn with no text.</summary>
    public static bool HasFonts => Glyphs.Value > 0;

    public int Width { get; }

    public int Height { get; }

    public SKCanvas Canvas => surface.Canvas;

    /// <summary>Draws <paramref name="text"/> with its baseline at <paramref name="y"/>, left-aligned at <paramref name="x"/> or centred on it.</summary>
    public void Text(string text, float x, float y, float size, SKColor color, bool bold = false, bool centred = false)
    {
        using var typeface = SKTypeface.FromFamilyName(SansFamily, bold ? SKFontStyle.Bold : SKFontStyle.Normal);
        using var font = new SKFont(typeface, size);
        using var paint = new SKPaint { Color = color, IsAntialias = true };
        Canvas.DrawText(text, x, y, centred ? SKTextAlign.Center : SKTextAlign.Left, font, paint);
    }

    /// <summary>Writes the picture as a PNG, replacing <paramref name="path"/> atomically (never half a file).</summary>
    public void SavePng(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException($"SkiaSharp could not encode {path} as PNG.");
        string tmp = path + ".tmp";
        using (var file = File.Create(tmp))
        {
            png.SaveTo(file);
        }

        File.Move(tmp, path, overwrite: true);
    }

    public void Dispose() => surface.Dispose();

    private static string FindSans()
    {
        string[] families = [.. SKFontManager.Default.FontFamilies.Where(f => f.Length > 0)];
        string[] preferred = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica", "Segoe UI"];
        return preferred.FirstOrDefault(p => families.Contains(p, StringComparer.OrdinalIgnoreCase))
            ?? families.FirstOrDefault(f => f.Contains("Sans", StringComparison.OrdinalIgnoreCase) && !f.Contains("Mono", StringComparison.OrdinalIgnoreCase))
            ?? families.FirstOrDefault()
            ?? string.Empty;
    }
}
