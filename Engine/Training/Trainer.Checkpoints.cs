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
    private static readonly Regex SiblingName = new(@"^(ckpt-\d{6}-e\d+-s\d+)\.(train|best)\.safetensors$", RegexOptions.CultureInvariant);
    private static readonly Regex LeftoverName = new(@"^\.(ckpt-\d{6}-e\d+-s\d+(\.train|\.best)?\.safetensors|latest)\.[0-9a-f]{32}\.tmp$", RegexOptions.CultureInvariant);
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

        // The pointer names a managed checkpoint of this folder, nothing else (a hostile pointer is ignored).
        string pointer = Path.Combine(directory, LatestFile);
        if (File.Exists(pointer) && new FileInfo(pointer).Length <= 256 && ManagedName.IsMatch(File.ReadAllText(pointer).Trim()))
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

        var state = TrainerState.Parse(SafeTensorsFile.Read(statePath).Metadata, statePath);
        SafeTensorsFile? bestFile = null;
        if (state.HasBest)
        {
            string bestPath = BestWeightsPath(path);
            bestFile = File.Exists(bestPath) ? SafeTensorsFile.Read(bestPath) : throw new CheckpointMismatchException($"{path} says early stopping kept best weights, but {bestPath} is missing.");
            if (bestFile.Metadata.GetValueOrDefault("trainer_save_id") != state.SaveId)
            {
                throw new CheckpointMismatchException($"{bestPath} belongs to another save than {statePath} (a save was interrupted, or the files come from different saves).");
            }

            var problems = WeightSnapshot.Problems(Model, bestFile);
            if (problems.Count > 0)
            {
                throw new CheckpointMismatchException($"{bestPath} does not fit the model:\n  {string.Join("\n  ", problems)}");
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
            // The weights file goes last: a prune cut short leaves a weights file without its state, which no reader
            // takes for a checkpoint and the next prune removes.
            foreach (var (old, _) in Managed(c.Directory).SkipLast(c.Keep))
            {
                File.Delete(Checkpoint.TrainingStatePath(old));
                File.Delete(BestWeightsPath(old));
                File.Delete(old);
            }
        }

        DeleteLeftovers(c.Directory);
    }

    /// <summary>
    /// Removes what saves cut short (a killed process) left in a managed folder: temporary files, and state files of a
    /// checkpoint whose weights were never written. Runs after a save completes, so nothing of a save in progress.
    /// </summary>
    private static void DeleteLeftovers(string directory)
    {
        foreach (string tmp in Directory.EnumerateFiles(directory, ".*.tmp").Where(p => LeftoverName.IsMatch(Path.GetFileName(p))))
        {
            File.Delete(tmp);
        }

        foreach (string side in Directory.EnumerateFiles(directory, "ckpt-*.safetensors"))
        {
            var m = SiblingName.Match(Path.GetFileName(side));
            if (m.Success && !File.Exists(Path.Combine(directory, m.Groups[1].Value + ".safetensors")))
            {
                File.Delete(side);
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

    private void ApplyState(TrainerState s)
    {
        epoch = s.Epoch;
        batchInEpoch = s.Batch;
        step = s.Step;
        Model.Seed = s.ModelSeed;
        data = s.Data is { } d ? new DataSignature(d.Samples, d.BatchSize, d.Batches, d.Shuffle, d.Seed, d.DropLast) : null;
        part = new PartialEpoch { LossSum = s.LossSum, Samples = s.Samples, Steps = s.Steps, LastLR = s.LastLR };

        // The training metrics' state of the epoch in progress (version 1 kept accuracy's counts, which is that state).
        savedMetricState = s.MetricState;
        trainMetrics = null;
        bestMetric = s.BestMetric;
        bestEpoch = s.BestEpoch;
        badEpochs = s.BadEpochs;
        restoredBest = s.RestoredBest;
        finished = s.Finished;
        history.Clear();
        history.AddRange(s.History);
    }

    /// <summary>A finite number as JSON, NaN and infinities as null (JSON has no NaN).</summary>
    private static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;

}
