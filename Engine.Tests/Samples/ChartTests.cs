// The sample's pictures, decoded back from their PNG files: training.png draws both series and its title, survives
// missing values; digits.png draws the digits and their labels.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Engine.Data.Mnist;
using Engine.Tests.Data;
using Engine.Training;
using MnistTrainer;
using NUnit.Framework;
using SkiaSharp;

namespace Engine.Tests.Samples;

public sealed class ChartTests
{
    /// <summary>Saves the picture, decodes the PNG and counts its pixels by colour inside <paramref name="region"/> (all when null).</summary>
    private static Dictionary<SKColor, int> Colours(ChartCanvas picture, out SKBitmap decoded, SKRectI? region = null)
    {
        using var tmp = new TempDir();
        string path = tmp["picture.png"];
        picture.SavePng(path);
        decoded = SKBitmap.Decode(path);
        var r = region ?? new SKRectI(0, 0, decoded.Width, decoded.Height);
        var counts = new Dictionary<SKColor, int>();
        for (int y = r.Top; y < r.Bottom; y++)
        {
            for (int x = r.Left; x < r.Right; x++)
            {
                var c = decoded.GetPixel(x, y);
                counts[c] = counts.GetValueOrDefault(c) + 1;
            }
        }

        return counts;
    }

    private static int Near(Dictionary<SKColor, int> counts, SKColor want, int tolerance = 24) =>
        counts.Where(kv => Math.Abs(kv.Key.Red - want.Red) <= tolerance && Math.Abs(kv.Key.Green - want.Green) <= tolerance
            && Math.Abs(kv.Key.Blue - want.Blue) <= tolerance).Sum(kv => kv.Value);

    private static void AssertFonts() =>
        Assert.That(ChartCanvas.HasFonts, Is.True, "SkiaSharp found no font, so the pictures would have no text; install one (Debian: apt-get install fonts-dejavu-core)");

    [Test]
    public void The_training_chart_draws_its_title_and_both_series()
    {
        AssertFonts();
        var epochs = Enumerable.Range(1, 6).Select(e => new EpochMetrics(e, 1.0 / e, 1 - (0.3 / e), 1.2 / e, 1 - (0.35 / e), 0.001, 100, 2, 1000)).ToList();
        using var chart = TrainingChart.Render(epochs, "test chart");
        var all = Colours(chart, out var png);
        using (png)
        {
            Assert.That((png.Width, png.Height), Is.EqualTo((1200, 520)));
        }

        Assert.That(Near(all, ChartCanvas.Blue, 4), Is.GreaterThan(500), "the train series");
        Assert.That(Near(all, ChartCanvas.Orange, 4), Is.GreaterThan(500), "the test series");
        var title = Colours(chart, out png, new SKRectI(0, 0, 1200, 44));
        png.Dispose();
        Assert.That(Near(title, ChartCanvas.Ink, 40), Is.GreaterThan(100), "the title's text");
        var right = Colours(chart, out png, new SKRectI(800, 44, 1200, 520));
        png.Dispose();
        Assert.That(Near(right, ChartCanvas.Orange, 4), Is.GreaterThan(100), "the accuracy panel on the right");
    }

    [Test]
    public void The_training_chart_survives_no_epochs_and_missing_values()
    {
        using (var empty = TrainingChart.Render([], "empty"))
        {
            Assert.That(empty.Width, Is.EqualTo(1200));
        }

        using var odd = TrainingChart.Render([new EpochMetrics(1, double.NaN, 0.5, double.PositiveInfinity, double.NaN, 0.1, 1, 1, 1), new EpochMetrics(2, 0.4, 0.6, double.NaN, double.NaN, 0.1, 1, 1, 1)], "nan", 640, 300);
        var colours = Colours(odd, out var png);
        using (png)
        {
            Assert.That((png.Width, png.Height), Is.EqualTo((640, 300)));
        }

        Assert.That(Near(colours, ChartCanvas.Blue, 4), Is.GreaterThan(20), "the training values that exist");
        Assert.That(Near(colours, ChartCanvas.Orange, 4), Is.Zero, "no test values, no test series");
    }

    [Test]
    public void The_digit_sheet_draws_each_digit_and_its_label()
    {
        AssertFonts();
        const int count = 12;
        var images = new byte[count * 784];
        for (int i = 0; i < count; i++)
        {
            images.AsSpan((i * 784) + (10 * 28), 8 * 28).Fill(255); // a thick bar across the middle of every digit
        }

        var data = new MnistDataset(images, [.. Enumerable.Range(0, count).Select(i => (byte)(i % 10))]);
        using var sheet = DigitSheet.Render(data, "twelve digits", count: 40, columns: 5);
        int width = (5 * ((28 * 3) + 16)) + 16, height = 44 + (3 * ((28 * 3) + 16 + 26)) + 8;
        var all = Colours(sheet, out var png, new SKRectI(0, 44, width, height)); // below the title, whose ink is near the digits'
        using (png)
        {
            Assert.That((png.Width, png.Height), Is.EqualTo((width, height)), "12 digits in rows of 5: 3 rows");
        }

        Assert.That(Near(all, new SKColor(0x10, 0x10, 0x10), 2), Is.EqualTo(count * 24 * 84), "each digit's bar, 3x size: 24 rows of 84 pixels");
        Assert.That(Near(all, ChartCanvas.Blue, 40), Is.GreaterThan(count * 20), "the labels");
        Assert.That(() => DigitSheet.Render(data, "none", count: 0).Dispose(), Throws.Nothing);
    }

    [Test]
    public void Pictures_are_written_whole_or_not_at_all()
    {
        using var tmp = new TempDir();
        using var chart = TrainingChart.Render([], "t", 100, 80);
        Assert.That(() => chart.SavePng(Path.Combine(tmp["missing"], "x.png")), Throws.InstanceOf<DirectoryNotFoundException>());
        chart.SavePng(tmp["x.png"]);
        Assert.That(Directory.GetFiles(tmp.Path), Is.EqualTo(new[] { tmp["x.png"] }));
    }
}
