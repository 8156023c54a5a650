// Training checkpoints of the trainer: weights and optimizer/schedule state through Checkpoint.SaveTraining, plus the
// trainer's own position (epoch, batch, step, data order, dropout seed), epoch sums, early stopping and history, and
// a managed folder whose files are never overwritten, with a "latest" pointer and pruning.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Engine.Checkpoints;
using Microsoft.Extensions.Logging;

namespace Engine.Training;

public sealed partial class Trainer
{
    private const string LatestFile = "latest";
    private const int StateVersion = 2;
    private static readonly Regex ManagedName = new(@"^ckpt-(\d{6})-e\d+-s\d+\.safetensors$", RegexOptions.CultureInvariant);
    private string? lastCheckpoint;
    private long version;
    private long savedVersion = -1;

    /// <summary>The file beside checkpoint <paramref name="weightsPath"/> that holds early stopping's best weights.</summary>
    public static string BestWeightsPath(string weightsPath)
    {
        ArgumentNullException.ThrowIfNull(weightsPath);
        string stem = weightsPath.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? weightsPath[..^".safetensors".Length] : weightsPath;
        return stem + ".best.safetensors";
    }

    /// <summary>The newest complete checkpoint in a folder written by the trainer (its <c>latest</c> pointer), or null when there is none.</summary>
    public static string? FindLatestCheckpoint(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
        {
            return null;
        }

        string pointer = Path.Combine(directory, LatestFile);
        if (File.Exists(pointer))
        {
            string path = Path.Combine(directory, File.ReadAllText(pointer).Trim());
            if (File.Exists(path) && File.Exists(Checkpoint.TrainingStatePath(path)))
            {
                return path;
            }
        }

        return Managed(directory).Where(p => File.Exists(Checkpoint.TrainingStatePath(p.Path))).Select(p => p.Path).LastOrDefault();
    }

    /// <summary>
    /// Writes a training checkpoint to <paramref name="path"/> (the weights, loadable by PyTorch) and its siblings
    /// <c>.train.safetensors</c> (optimizer and schedule state, step, and the trainer's position, data order, dropout
    /// seed, epoch sums, early-stopping state and history) and, with early stopping, <c>.best.safetensors</c>. In
    /// data-parallel training only rank 0 writes (every rank holds the same state; every rank may call this).
    /// </summary>
    public void SaveCheckpoint(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        ObjectDisposedException.ThrowIf(disposed, this);
        if (group is { IsRoot: false })
        {
            // Data parallelism: every rank holds the same state and rank 0 writes it.
            lastCheckpoint = path;
            savedVersion = version;
            return;
        }

        string saveId = Guid.NewGuid().ToString("N");
        string bestPath = BestWeightsPath(path);
        if (best is not null)
        {
            SafeTensors.Write(bestPath, best.ToHost(), new Dictionary<string, string> { ["format"] = Checkpoint.WeightsFormat, ["trainer_save_id"] = saveId });
        }
        else if (File.Exists(bestPath))
        {
            File.Delete(bestPath);
        }

        var meta = new Dictionary<string, string> { ["trainer"] = StateJson(saveId).ToJsonString() };
        Checkpoint.SaveTraining(path, Model.Parameters, Optimizer, Schedule, step, meta, Model.Buffers.StateDict());
        lastCheckpoint = path;
        savedVersion = version;
        logger.LogInformation("Saved checkpoint {Path} (epoch {Epoch}, batch {Batch}, step {Step})", path, epoch + (batchInEpoch > 0 ? 1 : 0), batchInEpoch, step);
    }

    /// <summary>
    /// Loads a checkpoint written by <see cref="SaveCheckpoint"/> (a weights path, or a folder of managed checkpoints:
    /// its latest) into the model, optimizer, schedule and this trainer; Fit then continues exactly where the saved run
    /// was. Everything is checked before anything is written. Returns the path loaded.
    /// </summary>
    /// <exception cref="FileNotFoundException">No checkpoint there.</exception>
    /// <exception cref="CheckpointMismatchException">The files do not fit this model, optimizer or schedule, or do not belong together.</exception>
    public string LoadCheckpoint(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        ObjectDisposedException.ThrowIf(disposed, this);
        if (Directory.Exists(path))
        {
            path = FindLatestCheckpoint(path) ?? throw new FileNotFoundException($"No checkpoint in {path} (no 'latest' pointer or ckpt-*.safetensors with its .train.safetensors).", path);
        }

        string statePath = Checkpoint.TrainingStatePath(path);
        if (!File.Exists(statePath))
        {
            throw new FileNotFoundException($"Training state file {statePath} (the sibling of {path}) does not exist.", statePath);
        }

        var meta = SafeTensorsFile.Read(statePath).Metadata;
        var state = meta.TryGetValue("user.trainer", out var text) ? JsonNode.Parse(text) as JsonObject : null;
        if (state is null || state["version"]?.GetValue<int>() is not (StateVersion or 1))
        {
            throw new CheckpointMismatchException($"{statePath} holds no trainer state (version 1 or {StateVersion}); it was not written by Trainer.SaveCheckpoint.");
        }

        SafeTensorsFile? bestFile = null;
        if (state["has_best"]!.GetValue<bool>())
        {
            string bestPath = BestWeightsPath(path);
            bestFile = File.Exists(bestPath) ? SafeTensorsFile.Read(bestPath) : throw new CheckpointMismatchException($"{path} says early stopping kept best weights, but {bestPath} is missing.");
            string id = state["save_id"]!.GetValue<string>();
            if (bestFile.Metadata.GetValueOrDefault("trainer_save_id") != id)
            {
                throw new CheckpointMismatchException($"{bestPath} belongs to another save than {statePath} (a save was interrupted, or the files come from different saves).");
            }

            var missing = WeightSnapshot.NamesOf(Model).Where(n => !bestFile.Contains(n)).ToList();
            if (missing.Count > 0)
            {
                throw new CheckpointMismatchException($"{bestPath} lacks {string.Join(", ", missing)}.");
            }
        }

        Checkpoint.LoadTraining(path, Model.Parameters, Optimizer, Schedule, Model.Buffers.StateDict());
        ApplyState(state);
        if (bestFile is not null)
        {
            best ??= new WeightSnapshot(Model);
            best.FromHost(bestFile.ReadFloat32);
        }
        else
        {
            best?.Dispose();
            best = null;
        }

        lastCheckpoint = path;
        savedVersion = version;
        logger.LogInformation("Resumed from {Path}: epoch {Epoch}, batch {Batch}, step {Step}", path, epoch + 1, batchInEpoch, step);
        return path;
    }

    private void SaveManaged()
    {
        if (Options.Checkpoints is not { } c || version == savedVersion)
        {
            return;
        }

        if (group is { IsRoot: false })
        {
            savedVersion = version;   // rank 0 writes the checkpoint (and knows its name)
            return;
        }

        Directory.CreateDirectory(c.Directory);
        var existing = Managed(c.Directory);
        int seq = existing.Count == 0 ? 1 : existing[^1].Seq + 1;
        string name = string.Create(CultureInfo.InvariantCulture, $"ckpt-{seq:D6}-e{epoch:D4}-s{step:D9}.safetensors");
        SaveCheckpoint(Path.Combine(c.Directory, name));

        // The pointer moves only once every file of the new checkpoint is in place; older ones are pruned after that.
        string tmp = Path.Combine(c.Directory, $".{LatestFile}.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(tmp, name);
        File.Move(tmp, Path.Combine(c.Directory, LatestFile), overwrite: true);
        if (c.Keep > 0)
        {
            foreach (var (old, _) in Managed(c.Directory).SkipLast(c.Keep))
            {
                File.Delete(old);
                File.Delete(Checkpoint.TrainingStatePath(old));
                File.Delete(BestWeightsPath(old));
            }
        }
    }

    /// <summary>The managed checkpoints (weights files) of a folder, oldest first.</summary>
    private static List<(string Path, int Seq)> Managed(string directory) =>
        Directory.EnumerateFiles(directory, "ckpt-*.safetensors")
            .Select(p => (Path: p, Match: ManagedName.Match(System.IO.Path.GetFileName(p))))
            .Where(x => x.Match.Success)
            .Select(x => (x.Path, Seq: int.Parse(x.Match.Groups[1].Value, CultureInfo.InvariantCulture)))
            .OrderBy(x => x.Seq)
            .ToList();

    private JsonObject StateJson(string saveId) => new()
    {
        ["version"] = StateVersion,
        ["save_id"] = saveId,
        ["epoch"] = epoch,
        ["batch"] = batchInEpoch,
        ["step"] = step,
        ["model_seed"] = Model.Seed.ToString(CultureInfo.InvariantCulture),
        ["data"] = data is null ? null : new JsonObject
        {
            ["samples"] = data.Samples, ["batch_size"] = data.BatchSize, ["batches"] = data.Batches,
            ["shuffle"] = data.Shuffle, ["seed"] = data.Seed, ["drop_last"] = data.DropLast,
        },
        ["partial"] = new JsonObject
        {
            ["loss_sum"] = part.LossSum, ["samples"] = part.Samples, ["steps"] = part.Steps, ["last_lr"] = part.LastLR,
            ["metric_state"] = new JsonArray([.. (trainMetrics?.State ?? savedMetricState ?? []).Select(v => (JsonNode?)JsonValue.Create(v))]),
        },
        ["best_metric"] = Num(bestMetric),
        ["best_epoch"] = bestEpoch,
        ["bad_epochs"] = badEpochs,
        ["has_best"] = best is not null,
        ["restored_best"] = restoredBest,
        ["finished"] = finished?.ToString(),
        ["history"] = new JsonArray(history.Select(m => (JsonNode?)TrainingLog.ToJson(m)).ToArray()),
    };

    private void ApplyState(JsonObject s)
    {
        epoch = s["epoch"]!.GetValue<int>();
        batchInEpoch = s["batch"]!.GetValue<int>();
        step = s["step"]!.GetValue<long>();
        Model.Seed = ulong.Parse(s["model_seed"]!.GetValue<string>(), CultureInfo.InvariantCulture);
        data = s["data"] is JsonObject d
            ? new DataSignature(d["samples"]!.GetValue<int>(), d["batch_size"]!.GetValue<int>(), d["batches"]!.GetValue<int>(),
                d["shuffle"]!.GetValue<bool>(), d["seed"]!.GetValue<long>(), d["drop_last"]!.GetValue<bool>())
            : null;
        var p = (JsonObject)s["partial"]!;
        part = new PartialEpoch
        {
            LossSum = p["loss_sum"]!.GetValue<double>(), Samples = p["samples"]!.GetValue<long>(), Steps = p["steps"]!.GetValue<int>(), LastLR = p["last_lr"]!.GetValue<double>(),
        };

        // The training metrics' state of the epoch in progress (version 1 kept accuracy's counts, which is that state).
        savedMetricState = p["metric_state"] is JsonArray ms
            ? [.. ms.Select(v => v!.GetValue<double>())]
            : [p["correct"]!.GetValue<long>(), p["accuracy_samples"]!.GetValue<long>()];
        trainMetrics = null;
        bestMetric = Num(s["best_metric"]);
        bestEpoch = s["best_epoch"]!.GetValue<int>();
        badEpochs = s["bad_epochs"]!.GetValue<int>();
        restoredBest = s["restored_best"]!.GetValue<bool>();
        finished = s["finished"] is JsonValue f ? Enum.Parse<StopReason>(f.GetValue<string>()) : null;
        history.Clear();
        foreach (var h in ((JsonArray)s["history"]!).Cast<JsonObject>())
        {
            history.Add(TrainingLog.FromJson(h));
        }
    }

    /// <summary>A finite number as JSON, NaN and infinities as null (JSON has no NaN).</summary>
    private static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;

    private static double Num(JsonNode? n) => n is JsonValue v ? v.GetValue<double>() : double.NaN;
}
