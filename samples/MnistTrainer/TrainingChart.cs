// training.png: the run's loss and accuracy (or the task's metric) per epoch, training and test side by side, drawn with
// ScottPlot from the Trainer's EpochMetrics (the test data are the Trainer's validation data here).
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Training;
using ScottPlot;
using SkiaSharp;

namespace MnistTrainer;

internal static class TrainingChart
{
    private const int Header = 48;

    /// <summary>
    /// Draws <paramref name="title"/> over two panels: cross-entropy (left) and accuracy in percent (right) per epoch,
    /// training and test. Non-finite values (an epoch without validation, a diverged loss) are left out.
    /// </summary>
    public static ChartCanvas Render(IReadOnlyList<EpochMetrics> epochs, string title, int width = 1200, int height = 520) =>
        Render(epochs, title, "cross-entropy", "accuracy", width, height);

    /// <summary>
    /// Draws <paramref name="title"/> over two panels: the loss (left, named <paramref name="lossName"/>) and the task
    /// metric <paramref name="metric"/> of <see cref="EpochMetrics.TrainMetrics"/> and <see cref="EpochMetrics.ValidationMetrics"/>
    /// (right; accuracies, IoU and Dice in percent), training and test.
    /// </summary>
    public static ChartCanvas Render(IReadOnlyList<EpochMetrics> epochs, string title, string lossName, string metric, int width = 1200, int height = 520)
    {
        ArgumentNullException.ThrowIfNull(epochs);
        ArgumentNullException.ThrowIfNull(title);
        var chart = new ChartCanvas(width, height);
        try
        {
            chart.Text(title, 20, 32, 22, ChartCanvas.Ink);
            var loss = Panel("Loss", lossName, epochs, e => e.TrainLoss, e => e.ValidationLoss, Alignment.UpperRight);
            bool percent = metric.EndsWith("accuracy", StringComparison.Ordinal) || metric.Contains("iou", StringComparison.Ordinal) || metric.Contains("dice", StringComparison.Ordinal);
            double scale = percent ? 100 : 1;
            var accuracy = metric == "accuracy"
                ? Panel("Accuracy", "percent", epochs, e => e.TrainAccuracy * 100, e => e.ValidationAccuracy * 100, Alignment.LowerRight)
                : Panel(metric, percent ? "percent" : metric, epochs, e => e.TrainMetrics.GetOrNaN(metric) * scale, e => e.ValidationMetrics.GetOrNaN(metric) * scale,
                    percent || metric == "r2" ? Alignment.LowerRight : Alignment.UpperRight);
            Draw(chart, loss, 0, width / 2);
            Draw(chart, accuracy, width / 2, width - (width / 2));
            return chart;
        }
        catch
        {
            chart.Dispose();
            throw;
        }
    }

    private static Plot Panel(string name, string unit, IReadOnlyList<EpochMetrics> epochs, Func<EpochMetrics, double> train, Func<EpochMetrics, double> test, Alignment legend)
    {
        var plot = new Plot();
        plot.Font.Set(ChartCanvas.SansFamily);
        Series(plot, "train", ChartCanvas.Blue, epochs, train);
        Series(plot, "test", ChartCanvas.Orange, epochs, test);
        plot.Title(name, size: 20);
        plot.XLabel("epoch", size: 17);
        plot.YLabel(unit, size: 17);
        plot.Axes.Bottom.TickLabelStyle.FontSize = 15;
        plot.Axes.Left.TickLabelStyle.FontSize = 15;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        if (plot.GetPlottables().Any())
        {
            plot.ShowLegend(legend);
            plot.Legend.FontSize = 16;
        }

        return plot;
    }

    private static void Series(Plot plot, string label, SKColor color, IReadOnlyList<EpochMetrics> epochs, Func<EpochMetrics, double> value)
    {
        var points = epochs.Select(e => (X: (double)e.Epoch, Y: value(e))).Where(p => double.IsFinite(p.Y)).ToArray();
        if (points.Length == 0)
        {
            return;
        }

        var line = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray());
        line.LegendText = label;
        line.Color = new Color(color.Red, color.Green, color.Blue);
        line.LineWidth = 2.5f;
        line.MarkerSize = 8;
    }

    /// <summary>Renders <paramref name="plot"/> into its own surface and places it below the title.</summary>
    private static void Draw(ChartCanvas chart, Plot plot, int x, int width)
    {
        using var surface = SKSurface.Create(new SKImageInfo(width, chart.Height - Header));
        plot.Render(surface);
        using var image = surface.Snapshot();
        chart.Canvas.DrawImage(image, x, Header);
    }
}
