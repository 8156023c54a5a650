// The trainer's own part of a checkpoint (metadata "user.trainer" of the training-state file), parsed and checked in
// full before anything is loaded: a corrupt or hostile file is refused with every problem listed, and a trainer is
// never left half-restored.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using Engine.Checkpoints;

namespace Engine.Training;

/// <summary>The position and history of a trainer as a checkpoint holds them (see <c>Trainer.StateJson</c>).</summary>
internal sealed record TrainerState
{
    /// <summary>The state versions this build reads.</summary>
    public static readonly int[] Versions = [1, 2];

    public required string SaveId { get; init; }

    public required int Epoch { get; init; }

    public required int Batch { get; init; }

    public required long Step { get; init; }

    public required ulong ModelSeed { get; init; }

    /// <summary>Samples, batch size, batches, shuffle, seed and drop-last of the data the run trained on; null before any Fit.</summary>
    public required (int Samples, int BatchSize, int Batches, bool Shuffle, long Seed, bool DropLast)? Data { get; init; }

    public required double LossSum { get; init; }

    public required long Samples { get; init; }

    public required int Steps { get; init; }

    public required double LastLR { get; init; }

    public required double[] MetricState { get; init; }

    public required double BestMetric { get; init; }

    public required int BestEpoch { get; init; }

    public required int BadEpochs { get; init; }

    public required bool HasBest { get; init; }

    public required bool RestoredBest { get; init; }

    public required StopReason? Finished { get; init; }

    public required List<EpochMetrics> History { get; init; }

    /// <summary>Parses the trainer state of training-state file <paramref name="statePath"/>.</summary>
    /// <exception cref="CheckpointMismatchException">The state is missing or malformed; the message lists every problem.</exception>
    public static TrainerState Parse(IReadOnlyDictionary<string, string> metadata, string statePath)
    {
        JsonObject? s = null;
        try
        {
            s = metadata.TryGetValue("user.trainer", out var text) ? JsonNode.Parse(text) as JsonObject : null;
        }
        catch (JsonException)
        {
        }

        var f = new Fields();
        int version = s is null ? 0 : f.Int(s, "version", 0);
        if (s is null || !Versions.Contains(version))
        {
            throw new CheckpointMismatchException($"{statePath} holds no trainer state (version 1 or 2); it was not written by Trainer.SaveCheckpoint.");
        }

        var d = s["data"] as JsonObject;
        if (s["data"] is not null && d is null)
        {
            f.Problems.Add("'data' is not an object");
        }

        var data = d is null ? ((int, int, int, bool, long, bool)?)null
            : (f.Int(d, "samples", 1), f.Int(d, "batch_size", 1), f.Int(d, "batches", 1), f.Bool(d, "shuffle"), f.Long(d, "seed", long.MinValue), f.Bool(d, "drop_last"));
        var p = s["partial"] as JsonObject ?? new JsonObject();
        if (s["partial"] is not JsonObject)
        {
            f.Problems.Add("'partial' is not an object");
        }

        var history = new List<EpochMetrics>();
        if (s["history"] is JsonArray h)
        {
            foreach (var e in h)
            {
                try
                {
                    history.Add(TrainingLog.FromJson(e as JsonObject ?? throw new FormatException("an epoch is not an object")));
                }
                catch (FormatException ex)
                {
                    f.Problems.Add($"history: {ex.Message}");
                    break;
                }
            }
        }
        else
        {
            f.Problems.Add("'history' is not an array");
        }

        StopReason? finished = null;
        if (s["finished"] is not null)
        {
            finished = f.Str(s, "finished") is { } r && Enum.TryParse<StopReason>(r, out var reason) && Enum.IsDefined(reason) ? reason : null;
            if (finished is null)
            {
                f.Problems.Add("'finished' is not a stop reason");
            }
        }

        var state = new TrainerState
        {
            SaveId = f.Str(s, "save_id") ?? string.Empty,
            Epoch = f.Int(s, "epoch", 0),
            Batch = f.Int(s, "batch", 0),
            Step = f.Long(s, "step", 0),
            ModelSeed = ulong.TryParse(f.Str(s, "model_seed"), NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed) ? seed : f.Bad<ulong>("model_seed", "an unsigned integer string"),
            Data = data,
            LossSum = f.Double(p, "loss_sum"),
            Samples = f.Long(p, "samples", 0),
            Steps = f.Int(p, "steps", 0),
            LastLR = f.Double(p, "last_lr"),
            MetricState = p["metric_state"] is JsonArray ms
                ? [.. ms.Select(v => v is JsonValue jv && jv.TryGetValue(out double x) ? x : f.Bad<double>("metric_state", "an array of numbers"))]
                : version == 1 ? [f.Long(p, "correct", 0), f.Long(p, "accuracy_samples", 0)] : f.Bad<double[]>("metric_state", "an array of numbers"),
            BestMetric = s["best_metric"] is null ? double.NaN : f.Double(s, "best_metric"),
            BestEpoch = f.Int(s, "best_epoch", 0),
            BadEpochs = f.Int(s, "bad_epochs", 0),
            HasBest = f.Bool(s, "has_best"),
            RestoredBest = f.Bool(s, "restored_best"),
            Finished = finished,
            History = history,
        };
        if (state.Data is { } sig && state.Batch > sig.Batches)
        {
            f.Problems.Add($"'batch' is {state.Batch} but an epoch of its data has {sig.Batches} batches");
        }
        else if (state.Data is null && state.Batch != 0)
        {
            f.Problems.Add($"'batch' is {state.Batch} but the state records no data");
        }

        if (state.HasBest && state.SaveId.Length == 0)
        {
            f.Problems.Add("'save_id' is missing (early stopping's best weights are matched by it)");
        }

        if (f.Problems.Count > 0)
        {
            throw new CheckpointMismatchException($"{statePath}: the trainer state is malformed ({f.Problems.Count} problem{(f.Problems.Count == 1 ? string.Empty : "s")}):\n  " + string.Join("\n  ", f.Problems));
        }

        return state;
    }

    /// <summary>Typed reads of JSON fields that record a problem (and return a placeholder) instead of throwing.</summary>
    private sealed class Fields
    {
        public List<string> Problems { get; } = new();

        public int Int(JsonObject o, string key, int min) =>
            o[key] is JsonValue v && v.TryGetValue(out int i) && i >= min ? i : Bad<int>(key, $"an integer >= {min}");

        public long Long(JsonObject o, string key, long min) =>
            o[key] is JsonValue v && v.TryGetValue(out long i) && i >= min ? i : Bad<long>(key, $"an integer >= {min}");

        public double Double(JsonObject o, string key) =>
            o[key] is JsonValue v && v.TryGetValue(out double d) && double.IsFinite(d) ? d : Bad<double>(key, "a finite number");

        public bool Bool(JsonObject o, string key) => o[key] is JsonValue v && v.TryGetValue(out bool b) ? b : Bad<bool>(key, "true or false");

        public string? Str(JsonObject o, string key) => o[key] is JsonValue v && v.TryGetValue(out string? s) ? s : null;

        public T Bad<T>(string key, string what)
        {
            Problems.Add($"'{key}' is not {what}");
            return default!;
        }
    }
}
