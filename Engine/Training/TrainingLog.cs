// A run's metrics as plain data: a few run facts and the Trainer's per-epoch EpochMetrics, written as JSON (metrics.json)
// or CSV and read back. One JSON shape for an epoch, shared with the trainer's checkpoint history. Drawing them is the
// host's business (the sample plots them with ScottPlot).
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Engine.Training;

/// <summary>
/// The metrics of a run: facts about it (model, device, seed...) and one <see cref="EpochMetrics"/> per epoch, as
/// <see cref="Trainer.History"/> holds them. <see cref="WriteJson"/> and <see cref="WriteCsv"/> replace their file
/// atomically, so a reader never sees half a file.
/// </summary>
public sealed class TrainingLog
{
    /// <summary>The CSV columns, also the JSON keys of an epoch.</summary>
    private static readonly string[] Columns =
        ["epoch", "train_loss", "train_accuracy", "validation_loss", "validation_accuracy", "lr", "steps", "seconds", "samples_per_second"];

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

    /// <summary>
    /// Writes <c>{"run": {...}, "epochs": [{"epoch": 1, "train_loss": ..., ...}]}</c> to <paramref name="path"/>
    /// (NaN and infinities as null), replacing the file atomically.
    /// </summary>
    public void WriteJson(string path)
    {
        var root = new JsonObject
        {
            ["run"] = new JsonObject(Run.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            ["epochs"] = new JsonArray(epochs.Select(e => (JsonNode?)ToJson(e)).ToArray()),
        };
        WriteAtomically(path, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>
    /// Writes one line per epoch under a header of the JSON keys (<c>epoch,train_loss,...</c>, then <c>train_NAME</c> and
    /// <c>validation_NAME</c> for each task metric such as rmse) to <paramref name="path"/>, invariant culture, empty
    /// fields for NaN; replaces the file atomically.
    /// </summary>
    public void WriteCsv(string path)
    {
        var columns = CsvColumns();
        var text = new StringBuilder().AppendJoin(',', columns).Append('\n');
        foreach (var e in epochs)
        {
            double[] values =
            [
                e.Epoch, e.TrainLoss, e.TrainAccuracy, e.ValidationLoss, e.ValidationAccuracy, e.LearningRate, e.Steps, e.Seconds, e.SamplesPerSecond,
                .. columns.Skip(Columns.Length).Select(c => c.StartsWith("train_", StringComparison.Ordinal)
                    ? e.TrainMetrics.GetOrNaN(c["train_".Length..])
                    : e.ValidationMetrics.GetOrNaN(c["validation_".Length..])),
            ];
            text.AppendJoin(',', values.Select(v => double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : string.Empty)).Append('\n');
        }

        WriteAtomically(path, text.ToString());
    }

    /// <summary>Reads a log written by <see cref="WriteJson"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not such a log; the message names it and what is wrong.</exception>
    public static TrainingLog ReadJson(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            var root = JsonNode.Parse(File.ReadAllBytes(path)) as JsonObject ?? throw new FormatException("not a JSON object");
            var run = root["run"] as JsonObject ?? throw new FormatException("no \"run\" object");
            var epochs = root["epochs"] as JsonArray ?? throw new FormatException("no \"epochs\" array");
            var log = new TrainingLog(run.ToDictionary(p => p.Key, p => p.Value is JsonValue v && v.TryGetValue(out string? s) ? s : throw new FormatException($"run fact '{p.Key}' is not a string")));
            foreach (var e in epochs)
            {
                log.Add(FromJson(e as JsonObject ?? throw new FormatException("an epoch is not an object")));
            }

            return log;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"'{path}' is not a metrics file written by TrainingLog ({e.Message}).", e);
        }
    }

    /// <summary>An epoch as JSON (NaN and infinities as null): the shape of metrics.json and of checkpointed history.</summary>
    /// <remarks>The task metrics go under <c>train_metrics</c> and <c>validation_metrics</c>, objects of name: value.</remarks>
    internal static JsonObject ToJson(EpochMetrics m)
    {
        var o = new JsonObject
        {
            ["epoch"] = m.Epoch, ["train_loss"] = Num(m.TrainLoss), ["train_accuracy"] = Num(m.TrainAccuracy),
            ["validation_loss"] = Num(m.ValidationLoss), ["validation_accuracy"] = Num(m.ValidationAccuracy),
            ["lr"] = Num(m.LearningRate), ["steps"] = m.Steps, ["seconds"] = Num(m.Seconds), ["samples_per_second"] = Num(m.SamplesPerSecond),
        };
        if (m.TrainMetrics.Count > 0)
        {
            o["train_metrics"] = ToJson(m.TrainMetrics);
        }

        if (m.ValidationMetrics.Count > 0)
        {
            o["validation_metrics"] = ToJson(m.ValidationMetrics);
        }

        return o;
    }

    /// <summary>Reads what <see cref="ToJson(EpochMetrics)"/> wrote (null as NaN).</summary>
    /// <exception cref="FormatException">A key is missing or not a number.</exception>
    internal static EpochMetrics FromJson(JsonObject h) =>
        new(Int(h, "epoch"), Num(h, "train_loss"), Num(h, "train_accuracy"), Num(h, "validation_loss"), Num(h, "validation_accuracy"),
            Num(h, "lr"), Int(h, "steps"), Num(h, "seconds"), Num(h, "samples_per_second"))
        {
            TrainMetrics = Values(h, "train_metrics"),
            ValidationMetrics = Values(h, "validation_metrics"),
        };

    private static JsonObject ToJson(MetricValues values) => new(values.Select(kv => KeyValuePair.Create(kv.Key, Num(kv.Value))));

    private static MetricValues Values(JsonObject h, string key) => h[key] switch
    {
        null => MetricValues.Empty,
        JsonObject o => new MetricValues([.. o.Select(p => p.Key)], [.. o.Select(p => Num(o, p.Key))]),
        _ => throw new FormatException($"'{key}' is not an object of metric values"),
    };

    /// <summary>The CSV columns: the fixed ones, then train_NAME and validation_NAME for every task metric seen (accuracy is already there).</summary>
    private string[] CsvColumns() =>
    [
        .. Columns,
        .. epochs.SelectMany(e => e.TrainMetrics.Keys).Where(k => k != "accuracy").Distinct().Select(k => "train_" + k),
        .. epochs.SelectMany(e => e.ValidationMetrics.Keys).Where(k => k != "accuracy").Distinct().Select(k => "validation_" + k),
    ];

    private static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;

    private static double Num(JsonObject o, string key) => o.TryGetPropertyValue(key, out var n)
        ? n is null ? double.NaN : n is JsonValue v && v.TryGetValue(out double d) ? d : throw new FormatException($"'{key}' is not a number")
        : throw new FormatException($"an epoch has no '{key}'");

    private static int Int(JsonObject o, string key) => o[key] is JsonValue v && v.TryGetValue(out int i) ? i : throw new FormatException($"'{key}' is not a whole number");

    private static void WriteAtomically(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(path);
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        File.Move(tmp, path, overwrite: true);
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{epochs.Count} epochs");
}
