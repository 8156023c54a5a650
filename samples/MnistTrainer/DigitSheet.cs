// digits.png, a picture of the data the app trains on: a grid of digits with their labels, drawn with SkiaSharp.
using System;
using System.Globalization;
using Engine.Data.Mnist;
using SkiaSharp;

namespace MnistTrainer;

internal static class DigitSheet
{
    private const int Scale = 3;
    private const int Side = MnistDataset.Side * Scale;
    private const int Cell = Side + 16;
    private const int LabelHeight = 26;
    private const int Header = 44;

    /// <summary>The first <paramref name="count"/> digits of <paramref name="data"/>, <paramref name="columns"/> per row, 3x size, labelled.</summary>
    public static ChartCanvas Render(MnistDataset data, string title, int count = 40, int columns = 10)
    {
        ArgumentNullException.ThrowIfNull(data);
        count = Math.Min(count, data.Count);
        int rows = (count + columns - 1) / columns;
        var sheet = new ChartCanvas((columns * Cell) + 16, Header + (rows * (Cell + LabelHeight)) + 8);
        try
        {
            sheet.Text(title, 12, 30, 21, ChartCanvas.Ink);
            using var background = new SKPaint { Color = new SKColor(0xF2, 0xF2, 0xF2) };
            using var digit = new SKBitmap(new SKImageInfo(MnistDataset.Side, MnistDataset.Side, SKColorType.Gray8, SKAlphaType.Opaque));
            for (int i = 0; i < count; i++)
            {
                int x = 16 + ((i % columns) * Cell), y = Header + 4 + ((i / columns) * (Cell + LabelHeight));
                sheet.Canvas.DrawRect(x - 2, y - 2, Side + 4, Side + 4, background);
                Ink(data.Image(i), digit);
                using var image = SKImage.FromBitmap(digit);
                sheet.Canvas.DrawImage(image, new SKRect(x, y, x + Side, y + Side), new SKSamplingOptions(SKFilterMode.Nearest));
                sheet.Text(data.Labels[i].ToString(CultureInfo.InvariantCulture), x + (Side / 2f), y + Side + 24, 20, ChartCanvas.Blue, centred: true);
            }

            return sheet;
        }
        catch
        {
            sheet.Dispose();
            throw;
        }
    }

    /// <summary>Dark ink on a light ground: MNIST pixels are 0 for background and 255 for ink; 0xF2 is the cell colour.</summary>
    private static void Ink(ReadOnlySpan<byte> pixels, SKBitmap into)
    {
        var gray = into.GetPixelSpan();
        for (int y = 0; y < MnistDataset.Side; y++)
        {
            for (int x = 0; x < MnistDataset.Side; x++)
            {
                gray[(y * into.RowBytes) + x] = (byte)(0xF2 - (pixels[(y * MnistDataset.Side) + x] * (0xF2 - 0x10) / 255));
            }
        }

        into.NotifyPixelsChanged();
    }
}
