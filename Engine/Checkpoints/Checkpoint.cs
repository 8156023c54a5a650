// Model and training checkpoints in safetensors: weights under state-dict names, plus a sibling training-state file.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Engine.Nn;
using Engine.Optim;
using Engine.Optim.Schedules;

namespace Engine.Checkpoints;

/// <summary>A checkpoint does not fit the model or optimizer it is loaded into; the message lists every difference.</summary>
public sealed class CheckpointMismatchException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CheckpointMismatchException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public CheckpointMismatchException()
    {
    }

    /// <summary>Creates the exception with an inner exception.</summary>
    public CheckpointMismatchException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>What <see cref="Checkpoint.LoadTraining"/> restored besides tensors.</summary>
/// <param name="Step">The training step stored with the checkpoint.</param>
/// <param name="CheckpointId">The id shared by the weights and the training-state file.</param>
/// <param name="Metadata">The caller's metadata (without the engine's keys).</param>
public sealed record TrainingCheckpointInfo(long Step, string CheckpointId, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// Saves and loads checkpoints. Weights (<see cref="SaveWeights"/>) are one safetensors file holding every parameter
/// (and extra buffers such as batch-norm running statistics) under its PyTorch state-dict name, loadable with
/// <c>safetensors.torch.load_file</c> and <c>model.load_state_dict</c>. A training checkpoint
/// (<see cref="SaveTraining"/>) is that file plus a sibling <c>NAME.train.safetensors</c> holding the optimizer state
/// (<c>state.PARAM.BUFFER</c> tensors), the per-parameter scalars, groups, scheduler state and step (metadata); both
/// carry the same checkpoint id. Every file is written to a temporary file and moved into place.
/// </summary>
public static partial class Checkpoint
{
    /// <summary>Metadata value of <c>format</c> in weight files (as PyTorch's safetensors writer).</summary>
    public const string WeightsFormat = "pt";

    /// <summary>Metadata value of <c>format</c> in training-state files.</summary>
    public const string TrainingFormat = "engine-training-state/1";

    private const string UserPrefix = "user.";

    /// <summary>The training-state file that goes with weights file <paramref name="weightsPath"/>.</summary>
    public static string TrainingStatePath(string weightsPath)
    {
        ArgumentNullException.ThrowIfNull(weightsPath);
        string stem = weightsPath.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? weightsPath[..^".safetensors".Length] : weightsPath;
        return stem + ".train.safetensors";
    }

    /// <summary>Writes the parameters (and <paramref name="buffers"/>) under their state-dict names.</summary>
    /// <exception cref="ArgumentException">A buffer name repeats a parameter name.</exception>
    public static void SaveWeights(string path, ParameterSet parameters, IEnumerable<KeyValuePair<string, Tensor>>? buffers = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var meta = new Dictionary<string, string>(StringComparer.Ordinal) { ["format"] = WeightsFormat };
        if (metadata is not null)
        {
            foreach (var (k, v) in metadata)
            {
                meta[k] = v;
            }
        }

        SafeTensors.Write(path, WeightTensors(parameters, buffers), meta);
    }

    /// <summary>
    /// Loads weights into <paramref name="parameters"/> (and <paramref name="buffers"/>). Names, shapes and dtypes
    /// are checked first and nothing is written unless all fit; with <paramref name="strict"/> false, missing and
    /// unexpected names are allowed (as PyTorch's load_state_dict(strict=False)) but shapes must still match.
    /// </summary>
    /// <returns>The file's metadata.</returns>
    /// <exception cref="CheckpointMismatchException">Names, shapes or dtypes differ; the message lists all differences.</exception>
    /// <exception cref="SafeTensorsFormatException">The file is truncated or corrupt.</exception>
    public static IReadOnlyDictionary<string, string> LoadWeights(string path, ParameterSet parameters, IEnumerable<KeyValuePair<string, Tensor>>? buffers = null, bool strict = true) =>
        LoadWeights(path, parameters, buffers, new WeightLoadOptions { Strict = strict }).Metadata;

    /// <summary>
    /// Writes a training checkpoint: the weights to <paramref name="path"/> and the optimizer state, scheduler state
    /// and <paramref name="step"/> to <see cref="TrainingStatePath"/>(path). <paramref name="metadata"/> is stored too.
    /// </summary>
    public static void SaveTraining(string path, ParameterSet parameters, Optimizer optimizer, LRSchedulerBase? scheduler = null, long step = 0,
        IReadOnlyDictionary<string, string>? metadata = null, IEnumerable<KeyValuePair<string, Tensor>>? buffers = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!ReferenceEquals(optimizer.Parameters, parameters))
        {
            throw new ArgumentException("The optimizer updates another parameter set than the one passed in.", nameof(optimizer));
        }

        string id = Guid.NewGuid().ToString("N");
        var meta = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = TrainingFormat,
            ["checkpoint_id"] = id,
            ["step"] = step.ToString(CultureInfo.InvariantCulture),
            ["optimizer"] = optimizer.Name,
            ["optimizer_step_count"] = optimizer.StepCount.ToString(CultureInfo.InvariantCulture),
            ["param_groups"] = GroupsJson(optimizer).ToJsonString(),
            ["scalars"] = ScalarsJson(optimizer).ToJsonString(),
        };
        if (scheduler is not null)
        {
            meta["scheduler"] = scheduler.StateDict().ToJsonString();
        }

        foreach (var (k, v) in metadata ?? new Dictionary<string, string>())
        {
            meta[UserPrefix + k] = v;
        }

        var tensors = new List<(string, int[], float[])>();
        foreach (var name in optimizer.StateNames.Order(StringComparer.Ordinal))
        {
            var flat = optimizer.GetState(name).ToArray();
            foreach (var p in parameters)
            {
                tensors.Add(($"state.{p.Name}.{name}", p.Shape.ToArray(), flat.AsSpan((int)p.Offset, (int)p.Length).ToArray()));
            }
        }

        SafeTensors.Write(TrainingStatePath(path), tensors, meta);
        var wmeta = new Dictionary<string, string>(StringComparer.Ordinal) { ["checkpoint_id"] = id, ["step"] = meta["step"] };
        foreach (var (k, v) in metadata ?? new Dictionary<string, string>())
        {
            wmeta[UserPrefix + k] = v;
        }

        SaveWeights(path, parameters, buffers, wmeta);
    }

    /// <summary>
    /// Loads a training checkpoint written by <see cref="SaveTraining"/>: weights, optimizer state (state buffers,
    /// per-parameter scalars, step count, each group's lr and initial lr; other hyper-parameters stay as constructed)
    /// and scheduler state. Everything is checked before anything is written.
    /// </summary>
    /// <exception cref="CheckpointMismatchException">Something differs (names, shapes, optimizer, groups, pairing); the message lists it.</exception>
    /// <exception cref="SafeTensorsFormatException">A file is truncated or corrupt.</exception>
    public static TrainingCheckpointInfo LoadTraining(string path, ParameterSet parameters, Optimizer optimizer, LRSchedulerBase? scheduler = null,
        IEnumerable<KeyValuePair<string, Tensor>>? buffers = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(optimizer);
        string statePath = TrainingStatePath(path);
        if (!File.Exists(statePath))
        {
            throw new FileNotFoundException($"Training state file {statePath} (the sibling of {path}) does not exist.", statePath);
        }

        var st = SafeTensorsFile.Read(statePath);
        if (st.Metadata.GetValueOrDefault("format") != TrainingFormat)
        {
            Throw(statePath, [$"format is '{st.Metadata.GetValueOrDefault("format")}', expected '{TrainingFormat}'"]);
        }

        var problems = new List<string>();
        string id = st.Metadata.GetValueOrDefault("checkpoint_id") ?? string.Empty;
        if (id.Length == 0)
        {
            problems.Add("metadata 'checkpoint_id' is missing");
        }

        if (st.Metadata.GetValueOrDefault("optimizer") != optimizer.Name)
        {
            problems.Add($"the state is for optimizer '{st.Metadata.GetValueOrDefault("optimizer")}', but this optimizer is '{optimizer.Name}'");
        }

        var values = TrainingStateChecks.Parse(st.Metadata, optimizer, scheduler, problems);
        var stateNames = TrainingStateChecks.StateTensors(st, parameters, optimizer, problems);
        Throw(statePath, problems);

        var weightsMeta = SafeTensorsFile.Read(path).Metadata;
        if (weightsMeta.GetValueOrDefault("checkpoint_id") != id)
        {
            Throw(path, [$"the weights belong to checkpoint '{weightsMeta.GetValueOrDefault("checkpoint_id") ?? "(none)"}' but {Path.GetFileName(statePath)} to '{id}' (a save was interrupted, or the files come from different saves)"]);
        }

        // Everything is checked: from here on nothing throws for the file's sake.
        LoadWeights(path, parameters, buffers, strict: true);
        foreach (var name in stateNames)
        {
            var flat = optimizer.EnsureState(name);
            var host = new float[flat.Length];
            foreach (var p in parameters)
            {
                st.ReadFloat32($"state.{p.Name}.{name}").CopyTo(host.AsSpan((int)p.Offset));
            }

            flat.CopyFrom(host);
        }

        for (int i = 0; i < values!.Groups.Length; i++)
        {
            optimizer.Groups[i].LR = values.Groups[i].LR;
            optimizer.Groups[i].InitialLR = values.Groups[i].InitialLR;
        }

        foreach (var (name, v) in values.Scalars)
        {
            optimizer.SetScalarState(name, v);
        }

        optimizer.SetStepCount(values.OptimizerSteps);
        if (scheduler is not null)
        {
            scheduler.LoadStateDict(values.Scheduler!);
        }

        var user = st.Metadata.Where(kv => kv.Key.StartsWith(UserPrefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[UserPrefix.Length..], kv => kv.Value, StringComparer.Ordinal);
        return new TrainingCheckpointInfo(values.Step, id, user);
    }

    private static IEnumerable<(string, int[], float[])> WeightTensors(ParameterSet parameters, IEnumerable<KeyValuePair<string, Tensor>>? buffers)
    {
        var all = parameters.Values.ToArray();
        var list = parameters.Select(p => (p.Name, p.Shape.ToArray(), all.AsSpan((int)p.Offset, (int)p.Length).ToArray())).ToList();
        foreach (var (name, t) in buffers ?? [])
        {
            if (parameters.Contains(name))
            {
                throw new ArgumentException($"Buffer name '{name}' is also a parameter name.", nameof(buffers));
            }

            list.Add((name, t.Shape.ToArray(), t.ToArray()));
        }

        return list;
    }

    private static void Throw(string path, List<string> problems)
    {
        if (problems.Count > 0)
        {
            throw new CheckpointMismatchException($"{path} does not fit ({problems.Count} problem{(problems.Count == 1 ? string.Empty : "s")}):\n  " + string.Join("\n  ", problems));
        }
    }

    private static JsonArray GroupsJson(Optimizer optimizer) => new(optimizer.Groups.Select(g => (JsonNode?)new JsonObject
    {
        ["name"] = g.Name,
        ["lr"] = g.LR,
        ["initial_lr"] = g.InitialLR,
        ["options"] = g.Options.ToJson(),
        ["params"] = new JsonArray(g.Parameters.Select(p => (JsonNode?)JsonValue.Create(p.Name)).ToArray()),
    }).ToArray());

    private static JsonObject ScalarsJson(Optimizer optimizer)
    {
        var j = new JsonObject();
        foreach (var name in optimizer.ScalarStateNames)
        {
            var values = optimizer.GetScalarState(name);
            var map = new JsonObject();
            for (int i = 0; i < values.Length; i++)
            {
                map[optimizer.Parameters[i].Name] = values[i];
            }

            j[name] = map;
        }

        return j;
    }
}
