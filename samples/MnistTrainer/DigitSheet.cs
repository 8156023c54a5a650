// A picture of the data the app trains on: a grid of digits with their labels, written as digits.png.
using System;
using System.Globalization;
using Engine.Data.Mnist;
using Engine.Reporting;

namespace MnistTrainer;

internal static class DigitSheet
{
    /// <summary>The first <paramref name="count"/> digits of <paramref name="data"/>, <paramref name="columns"/> per row, 3x size, labelled.</summary>
    public static Raster Render(MnistDataset data, string title, int count = 40, int columns = 10)
    {
        count = Math.Min(count, data.Count);
        const int scale = 3, cell = (MnistDataset.Side * scale) + 16, labelH = 22, header = 40;
        int rows = (count + columns - 1) / columns;
        var r = new Raster((columns * cell) + 16, header + (rows * (cell + labelH)) + 8, Rgba.White);
        r.DrawText(title, 12, 12, Rgba.FromRgb(0x111111), 2);
        for (int i = 0; i < count; i++)
        {
            int x = 8 + ((i % columns) * cell) + 8, y = header + ((i / columns) * (cell + labelH)) + 4;
            r.FillRect(x - 2, y - 2, (MnistDataset.Side * scale) + 4, (MnistDataset.Side * scale) + 4, Rgba.FromRgb(0xF2F2F2));
            r.DrawGrey(data.Image(i), MnistDataset.Side, MnistDataset.Side, x, y, scale, Rgba.FromRgb(0x101010));
            string label = data.Labels[i].ToString(CultureInfo.InvariantCulture);
            r.DrawText(label, x + (MnistDataset.Side * scale / 2) - 5, y + (MnistDataset.Side * scale) + 6, Rgba.FromRgb(0x1F77B4), 2);
        }

        return r;
    }
}
