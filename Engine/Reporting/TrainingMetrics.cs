// Per-epoch training metrics: recorded by a trainer, written to metrics.json after every epoch, drawn as a PNG.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace Engine.Reporting;

/// <summary>What one epoch achieved. Accuracies are fractions in [0, 1]; NaN where not measured.</summary>
/// <param name="Epoch">The epoch number, from 1.</param>
/// <param name="TrainLoss">Mean training loss over the epoch.</param>
/// <param name="TrainAccuracy">Training accuracy over the epoch.</param>
/// <param name="TestLoss">Mean loss on the held-out set after the epoch.</param>
/// <param name="TestAccuracy">Accuracy on the held-out set after the epoch.</param>
/// <param name="Seconds">Wall time of the epoch's training.</param>
/// <param name="SamplesPerSecond">Training throughput.</param>
public sealed record EpochMetrics(
    int Epoch, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy, double Seconds, double SamplesPerSecond);

/// <summary>
/// The metrics of a run: a few run facts (model, device, seed...) and one <see cref="EpochMetrics"/> per epoch.
/// <see cref="WriteJson"/> writes metrics.json (replacing the file atomically), <see cref="RenderChart"/> the plot.
/// </summary>
public sealed class TrainingLog
{
    private readonly List<EpochMetrics> epochs = [];

    /// <summary>Creates an empty log with facts about the run (written under "run").</summary>
    public TrainingLog(IReadOnlyDictionary<string, string>? run = null)
    {
        Run = run ?? new Dictionary<string, string>();
    }

    /// <summary>Facts about the run.</summary>
    public IReadOnlyDictionary<string, string> Run { get; }

    /// <summary>The epochs so far.</summary>
    public IReadOnlyList<EpochMetrics> Epochs => epochs;

    /// <summary>Appends an epoch.</summary>
    public void Add(EpochMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        epochs.Add(metrics);
    }

    /// <summary>Writes the log as JSON (non-finite numbers as null) to <paramref name="path"/>, replacing it atomically.</summary>
    public void WriteJson(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string tmp = path + ".tmp";
        using (var file = File.Create(tmp))
        using (var w = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("run");
            foreach (var (k, v) in Run)
            {
                w.WriteString(k, v);
            }

            w.WriteEndObject();
            w.WriteStartArray("epochs");
            foreach (var e in epochs)
            {
                w.WriteStartObject();
                w.WriteNumber("epoch", e.Epoch);
                Number(w, "train_loss", e.TrainLoss);
                Number(w, "train_accuracy", e.TrainAccuracy);
                Number(w, "test_loss", e.TestLoss);
                Number(w, "test_accuracy", e.TestAccuracy);
                Number(w, "seconds", e.Seconds);
                Number(w, "samples_per_second", e.SamplesPerSecond);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Reads a log written by <see cref="WriteJson"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not such a log.</exception>
    public static TrainingLog ReadJson(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var run = doc.RootElement.GetProperty("run").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? string.Empty);
            var log = new TrainingLog(run);
            foreach (var e in doc.RootElement.GetProperty("epochs").EnumerateArray())
            {
                double D(string name) => e.GetProperty(name).ValueKind == JsonValueKind.Null ? double.NaN : e.GetProperty(name).GetDouble();
                log.Add(new EpochMetrics(e.GetProperty("epoch").GetInt32(), D("train_loss"), D("train_accuracy"), D("test_loss"), D("test_accuracy"), D("seconds"), D("samples_per_second")));
            }

            return log;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new InvalidDataException($"'{path}' is not a metrics file written by TrainingLog ({e.Message}).", e);
        }
    }

    /// <summary>
    /// Draws training and test loss (left) and accuracy in percent (right) per epoch under <paramref name="title"/>.
    /// </summary>
    public Raster RenderChart(string title, int width = 1200, int height = 520)
    {
        ArgumentNullException.ThrowIfNull(title);
        var train = Rgba.FromRgb(0x1F77B4);
        var test = Rgba.FromRgb(0xE8710A);
        var r = new Raster(width, height, Rgba.White);
        int header = 44;
        r.DrawText(title, 20, 14, Rgba.FromRgb(0x111111), 2);
        r.FillRect(20, header - 6, width - 40, 1, Rgba.FromRgb(0xDDDDDD));
        List<(double, double)> Of(Func<EpochMetrics, double> f, double scale = 1) => [.. epochs.Select(e => ((double)e.Epoch, f(e) * scale))];
        new LineChart
        {
            Title = "Loss",
            XLabel = "epoch",
            YLabel = "cross-entropy",
            IntegerX = true,
            Series = [new ChartSeries("train", train, Of(e => e.TrainLoss)), new ChartSeries("test", test, Of(e => e.TestLoss))],
        }.Render(r, 0, header, width / 2, height - header);
        new LineChart
        {
            Title = "Accuracy",
            XLabel = "epoch",
            YLabel = "percent",
            IntegerX = true,
            YCeiling = 100,
            Series = [new ChartSeries("train", train, Of(e => e.TrainAccuracy, 100)), new ChartSeries("test", test, Of(e => e.TestAccuracy, 100))],
        }.Render(r, width / 2, header, width - (width / 2), height - header);
        return r;
    }

    private static void Number(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v))
        {
            w.WriteNumber(name, Math.Round(v, 6));
        }
        else
        {
            w.WriteNull(name);
        }
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{epochs.Count} epochs");
}
