// Pictures of what a model does to images: test digits above the model's reconstructions (the autoencoder), drawn with
// SkiaSharp on the sample's ChartCanvas.
using System;
using Engine;
using Engine.Data;
using Engine.Nn;
using SkiaSharp;

namespace MnistTrainer;

internal static class ImageSheet
{
    private const int Scale = 3;
    private const int Side = 28 * Scale;
    private const int Cell = Side + 12;
    private const int Header = 44;

    /// <summary>
    /// The first <paramref name="count"/> samples of <paramref name="data"/> (784 pixels in [0, 1] each) in a top row and
    /// <paramref name="model"/>'s outputs for them (an inference plan on <paramref name="device"/>) in the row below.
    /// </summary>
    public static ChartCanvas Reconstructions(Module model, Device device, IDataset data, int count, string title)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        count = Math.Min(count, data.Count);
        int n = checked((int)data.SampleShape.Length);
        var inputs = new float[count * n];
        for (int i = 0; i < count; i++)
        {
            data.Read(i, inputs.AsSpan(i * n, n));
        }

        using var plan = model.Compile(device, new Shape([count, .. data.SampleShape.ToArray()]), null, new CompileOptions { Training = false });
        plan.Forward(inputs);
        var outputs = plan.Output.ToArray();
        var sheet = new ChartCanvas((count * Cell) + 12, Header + (2 * Cell) + 8);
        try
        {
            sheet.Text(title, 12, 30, 20, ChartCanvas.Ink);
            using var bitmap = new SKBitmap(new SKImageInfo(28, 28, SKColorType.Gray8, SKAlphaType.Opaque));
            for (int i = 0; i < count; i++)
            {
                Draw(sheet, bitmap, inputs.AsSpan(i * n, 784), 12 + (i * Cell), Header);
                Draw(sheet, bitmap, outputs.AsSpan(i * n, 784), 12 + (i * Cell), Header + Cell);
            }

            return sheet;
        }
        catch
        {
            sheet.Dispose();
            throw;
        }
    }

    /// <summary>Dark ink on a light ground (value 1 is ink), 3x size with nearest-neighbour sampling.</summary>
    private static void Draw(ChartCanvas sheet, SKBitmap bitmap, ReadOnlySpan<float> pixels, int x, int y)
    {
        var gray = bitmap.GetPixelSpan();
        for (int r = 0; r < 28; r++)
        {
            for (int c = 0; c < 28; c++)
            {
                float v = Math.Clamp(pixels[(r * 28) + c], 0f, 1f);
                gray[(r * bitmap.RowBytes) + c] = (byte)(0xF2 - (v * (0xF2 - 0x10)));
            }
        }

        bitmap.NotifyPixelsChanged();
        using var image = SKImage.FromBitmap(bitmap);
        sheet.Canvas.DrawImage(image, new SKRect(x, y, x + Side, y + Side), new SKSamplingOptions(SKFilterMode.Nearest));
    }
}
