// A line chart panel drawn into a Raster: nice axis ticks, grid, labelled axes, series with markers, and a legend
// placed in the emptiest corner.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Engine.Reporting;

/// <summary>One line of a chart: a name for the legend, a colour and (x, y) points in order of x.</summary>
/// <param name="Name">Legend text.</param>
/// <param name="Color">Line colour.</param>
/// <param name="Points">The points; non-finite y values are skipped.</param>
public sealed record ChartSeries(string Name, Rgba Color, IReadOnlyList<(double X, double Y)> Points);

/// <summary>A line chart with a title, axis titles and any number of series.</summary>
public sealed class LineChart
{
    private const int Font = 2;
    private static readonly Rgba Text = Rgba.FromRgb(0x222222);
    private static readonly Rgba Axis = Rgba.FromRgb(0x555555);
    private static readonly Rgba Grid = Rgba.FromRgb(0xE6E6E6);

    /// <summary>Title above the plot.</summary>
    public string Title { get; init; } = string.Empty;

    /// <summary>Title of the horizontal axis.</summary>
    public string XLabel { get; init; } = string.Empty;

    /// <summary>Title of the vertical axis.</summary>
    public string YLabel { get; init; } = string.Empty;

    /// <summary>The lines.</summary>
    public IReadOnlyList<ChartSeries> Series { get; init; } = [];

    /// <summary>Whether x ticks are whole numbers (epochs).</summary>
    public bool IntegerX { get; init; }

    /// <summary>Upper bound of the y axis, if the data must not push it higher (100 for percentages).</summary>
    public double? YCeiling { get; init; }

    /// <summary>Renders the chart alone into a new raster.</summary>
    public Raster Render(int width, int height)
    {
        var r = new Raster(width, height, Rgba.White);
        Render(r, 0, 0, width, height);
        return r;
    }

    /// <summary>Renders the chart into the rectangle (x, y, width, height) of <paramref name="target"/>.</summary>
    public void Render(Raster target, int x, int y, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(target);
        var pts = Series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        double xMin = pts.Count > 0 ? pts.Min(p => p.X) : 0, xMax = pts.Count > 0 ? pts.Max(p => p.X) : 1;
        double yMin = pts.Count > 0 ? pts.Min(p => p.Y) : 0, yMax = pts.Count > 0 ? pts.Max(p => p.Y) : 1;
        if (IntegerX)
        {
            xMax = Math.Max(xMax, xMin + 1);
        }

        var xt = Ticks.Nice(xMin, xMax, 8, IntegerX, tight: true);
        double yPad = (yMax - yMin) * 0.04;
        var yt = Ticks.Nice(yMin - yPad, yMax + yPad, 6, integer: false, tight: false);
        if (YCeiling is double ceil && yt.Hi > ceil && yMax <= ceil)
        {
            yt = yt with { Hi = ceil };
        }

        var yLabels = yt.Values().Select(v => Ticks.Format(v, yt.Step)).ToList();
        int ch = BitmapFont.CapHeight * Font;
        int left = x + 14 + ch + (YLabel.Length > 0 ? 10 : 0) + yLabels.Max(l => BitmapFont.Measure(l, Font));
        int top = y + (Title.Length > 0 ? 18 + ch : 14);
        int right = x + width - 20;
        int bottom = y + height - (XLabel.Length > 0 ? 30 + (2 * ch) : 22 + ch);
        if (right - left < 20 || bottom - top < 20)
        {
            throw new ArgumentException($"A {width}x{height} panel is too small for the chart.", nameof(width));
        }

        // The x range is tight to the data: keep the first and last points clear of the frame.
        const int inset = 14;
        float Px(double v) => left + inset + (float)((v - xt.Lo) / (xt.Hi - xt.Lo) * (right - left - (2 * inset)));
        float Py(double v) => bottom - (float)((v - yt.Lo) / (yt.Hi - yt.Lo) * (bottom - top));

        if (Title.Length > 0)
        {
            int tw = BitmapFont.Measure(Title, Font);
            target.DrawText(Title, left + ((right - left - tw) / 2), y + 8, Text, Font);
        }

        for (int i = 0; i < yLabels.Count; i++)
        {
            int py = (int)MathF.Round(Py(yt.Values().ElementAt(i)));
            target.DrawCrispLine(left, py, right, py, Grid);
            target.DrawCrispLine(left - 5, py, left - 1, py, Axis);
            target.DrawText(yLabels[i], left - 9 - BitmapFont.Measure(yLabels[i], Font), py - (ch / 2), Text, Font);
        }

        foreach (double v in xt.Values())
        {
            int px = (int)MathF.Round(Px(v));
            string label = Ticks.Format(v, xt.Step);
            target.DrawCrispLine(px, top, px, bottom, Grid);
            target.DrawCrispLine(px, bottom + 1, px, bottom + 5, Axis);
            target.DrawText(label, px - (BitmapFont.Measure(label, Font) / 2), bottom + 10, Text, Font);
        }

        target.DrawCrispLine(left, top, left, bottom, Axis);
        target.DrawCrispLine(left, bottom, right, bottom, Axis);
        if (XLabel.Length > 0)
        {
            target.DrawText(XLabel, left + ((right - left - BitmapFont.Measure(XLabel, Font)) / 2), bottom + 20 + ch, Text, Font);
        }

        if (YLabel.Length > 0)
        {
            target.DrawTextVertical(YLabel, x + 6, top + ((bottom - top + BitmapFont.Measure(YLabel, Font)) / 2), Text, Font);
        }

        var plotted = new List<PointF>();
        foreach (var s in Series)
        {
            var line = s.Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).Select(p => new PointF(Px(p.X), Py(p.Y))).ToList();
            target.DrawPolyline(line, s.Color, 2.5f);
            foreach (var p in line)
            {
                target.FillCircle(p.X, p.Y, 4f, s.Color);
                target.FillCircle(p.X, p.Y, 1.8f, Rgba.White);
            }

            plotted.AddRange(line);
        }

        DrawLegend(target, left, top, right, bottom, plotted);
    }

    private void DrawLegend(Raster target, int left, int top, int right, int bottom, List<PointF> plotted)
    {
        if (Series.Count == 0)
        {
            return;
        }

        int ch = BitmapFont.CapHeight * Font, rowH = ch + 10;
        int w = 24 + 8 + Series.Max(s => BitmapFont.Measure(s.Name, Font)) + 20;
        int h = (rowH * Series.Count) + 10;
        var corners = new[] { (right - w - 8, top + 8), (left + 8, top + 8), (right - w - 8, bottom - h - 8), (left + 8, bottom - h - 8) };
        var (lx, ly) = corners.OrderBy(c => plotted.Count(p => p.X >= c.Item1 - 6 && p.X <= c.Item1 + w + 6 && p.Y >= c.Item2 - 6 && p.Y <= c.Item2 + h + 6)).First();
        for (int yy = ly; yy < ly + h; yy++)
        {
            for (int xx = lx; xx < lx + w; xx++)
            {
                target.Blend(xx, yy, Rgba.White, 0.9f);
            }
        }

        target.DrawCrispLine(lx, ly, lx + w - 1, ly, Grid);
        target.DrawCrispLine(lx, ly + h - 1, lx + w - 1, ly + h - 1, Grid);
        target.DrawCrispLine(lx, ly, lx, ly + h - 1, Grid);
        target.DrawCrispLine(lx + w - 1, ly, lx + w - 1, ly + h - 1, Grid);
        for (int i = 0; i < Series.Count; i++)
        {
            int cy = ly + 5 + (i * rowH) + (rowH / 2);
            target.DrawPolyline([new PointF(lx + 10, cy), new PointF(lx + 34, cy)], Series[i].Color, 2.5f);
            target.FillCircle(lx + 22, cy, 4f, Series[i].Color);
            target.FillCircle(lx + 22, cy, 1.8f, Rgba.White);
            target.DrawText(Series[i].Name, lx + 42, cy - (ch / 2), Text, Font);
        }
    }
}

/// <summary>Axis tick choice: round steps (1, 2 or 5 times a power of ten) and labels with just enough decimals.</summary>
public readonly record struct Ticks(double Lo, double Hi, double Step)
{
    /// <summary>A range covering [min, max] with about <paramref name="target"/> ticks on round values.</summary>
    public static Ticks Nice(double min, double max, int target, bool integer = false, bool tight = false)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max))
        {
            min = 0;
            max = 1;
        }

        if (max <= min)
        {
            double pad = Math.Abs(min) > 0 ? Math.Abs(min) * 0.1 : 1;
            min -= pad;
            max += pad;
        }

        double raw = (max - min) / Math.Max(1, target - 1);
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double norm = raw / mag;
        double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
        if (integer)
        {
            step = Math.Max(1, Math.Round(step));
        }

        double lo = tight ? min : Math.Floor((min / step) + 1e-9) * step;
        double hi = tight ? max : Math.Ceiling((max / step) - 1e-9) * step;
        return new Ticks(lo, hi, step);
    }

    /// <summary>The tick values: multiples of the step within [Lo, Hi].</summary>
    public IEnumerable<double> Values()
    {
        double first = Math.Ceiling((Lo / Step) - 1e-9) * Step;
        for (double v = first; v <= Hi + (Step * 1e-9); v += Step)
        {
            yield return Math.Abs(v) < Step * 1e-9 ? 0 : v;
        }
    }

    /// <summary>Formats a tick value with as many decimals as the step needs.</summary>
    public static string Format(double value, double step)
    {
        int decimals = Math.Clamp((int)Math.Ceiling(-Math.Log10(step) - 1e-9), 0, 6);
        return value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }
}
