// Charts and the metrics log: tick choice, the font, that a chart draws its series and legend, and metrics.json.
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Engine.Reporting;
using Engine.Tests.Data;
using NUnit.Framework;

namespace Engine.Tests.Reporting;

public sealed class ChartTests
{
    [Test]
    public void Ticks_land_on_round_values_with_just_enough_decimals()
    {
        var t = Ticks.Nice(0.028, 0.236, 6);
        Assert.That((t.Lo, t.Hi, t.Step), Is.EqualTo((0.0, 0.25, 0.05)).Within(1e-12));
        Assert.That(t.Values().Select(v => Ticks.Format(v, t.Step)), Is.EqualTo(new[] { "0.00", "0.05", "0.10", "0.15", "0.20", "0.25" }));
        var p = Ticks.Nice(91.05, 99.05, 6);
        Assert.That((p.Lo, p.Hi, p.Step), Is.EqualTo((90.0, 100.0, 2.0)));
        Assert.That(Ticks.Format(96, 2), Is.EqualTo("96"));
        var e = Ticks.Nice(1, 30, 8, integer: true, tight: true);
        Assert.That(e.Step, Is.EqualTo(5));
        Assert.That(e.Values().First(), Is.EqualTo(5));
        var flat = Ticks.Nice(2, 2, 5);
        Assert.That(flat.Lo, Is.LessThan(2));
        Assert.That(flat.Hi, Is.GreaterThan(2));
        Assert.That(Ticks.Nice(double.NaN, 1, 5).Hi, Is.EqualTo(1));
    }

    [Test]
    public void The_font_covers_printable_ascii()
    {
        Assert.That(BitmapFont.Measure("abc", 2), Is.EqualTo(34));
        Assert.That(BitmapFont.Measure(string.Empty), Is.Zero);
        for (char c = '!'; c <= '~'; c++)
        {
            bool any = Enumerable.Range(0, 5).Any(x => Enumerable.Range(0, 9).Any(y => BitmapFont.Ink(c, x, y)));
            Assert.That(any, Is.True, $"'{c}' has ink");
        }

        Assert.That(Enumerable.Range(0, 45).Any(i => BitmapFont.Ink(' ', i % 5, i / 5)), Is.False);
        Assert.That(BitmapFont.Ink('g', 4, 7), Is.True, "g has a descender");
        Assert.That(BitmapFont.Ink('\u00e9', 2, 6), Is.EqualTo(BitmapFont.Ink('?', 2, 6)), "unknown characters draw as ?");
        var r = new Raster(30, 12, Rgba.White);
        Assert.That(r.DrawText("I", 1, 1, Rgba.Black), Is.EqualTo(5));
        Assert.That(r[3, 1], Is.EqualTo(Rgba.Black), "the top bar of I");
        Assert.That(r[3, 4], Is.EqualTo(Rgba.Black), "its stem");
        Assert.That(r[1, 4], Is.EqualTo(Rgba.White));
    }

    [Test]
    public void Training_charts_draw_both_series_and_survive_odd_data()
    {
        var log = new TrainingLog();
        for (int e = 1; e <= 6; e++)
        {
            log.Add(new EpochMetrics(e, 1.0 / e, 1 - (0.3 / e), 1.2 / e, 1 - (0.35 / e), 2, 1000));
        }

        var chart = log.RenderChart("test chart");
        Assert.That((chart.Width, chart.Height), Is.EqualTo((1200, 520)));
        var colors = new HashSet<Rgba>();
        for (int y = 0; y < chart.Height; y++)
        {
            for (int x = 0; x < chart.Width; x++)
            {
                colors.Add(chart[x, y]);
            }
        }

        Assert.That(colors, Does.Contain(Rgba.FromRgb(0x1F77B4)), "train colour");
        Assert.That(colors, Does.Contain(Rgba.FromRgb(0xE8710A)), "test colour");
        Assert.That(PngTests.Decode(chart.ToPng()).Rgba, Is.EqualTo(chart.Pixels));

        var odd = new TrainingLog();
        Assert.That(odd.RenderChart("empty").Width, Is.EqualTo(1200));
        odd.Add(new EpochMetrics(1, double.NaN, 0.5, double.PositiveInfinity, 0.5, 1, 1));
        Assert.That(odd.RenderChart("nan", 640, 300).Height, Is.EqualTo(300));
    }

    [Test]
    public void Metrics_json_round_trips_and_writes_null_for_missing_numbers()
    {
        using var tmp = new TempDir();
        var log = new TrainingLog(new Dictionary<string, string> { ["model"] = "cnn", ["device"] = "cpu" });
        log.Add(new EpochMetrics(1, 0.5, 0.8, 0.45, 0.82, 3.25, 2461.5));
        log.Add(new EpochMetrics(2, 0.25, 0.9, double.NaN, double.NaN, 3, 2500));
        string path = tmp["metrics.json"];
        log.WriteJson(path);
        string text = File.ReadAllText(path);
        Assert.That(text, Does.Contain("\"train_loss\": 0.5").And.Contain("\"test_loss\": null").And.Contain("\"model\": \"cnn\""));
        var back = TrainingLog.ReadJson(path);
        Assert.That(back.Run["device"], Is.EqualTo("cpu"));
        Assert.That(back.Epochs[0], Is.EqualTo(log.Epochs[0]));
        Assert.That(double.IsNaN(back.Epochs[1].TestAccuracy), Is.True);
        File.WriteAllText(path, "{\"run\": {}}");
        Assert.That(() => TrainingLog.ReadJson(path), Throws.InstanceOf<InvalidDataException>().With.Message.Contain("not a metrics file"));
    }
}
