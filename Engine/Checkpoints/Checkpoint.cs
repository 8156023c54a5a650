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
        var problems = new List<string>();
        string Meta(string key)
        {
            if (st.Metadata.TryGetValue(key, out var v))
            {
                return v;
            }

            problems.Add($"metadata '{key}' is missing");
            return string.Empty;
        }

        if (Meta("format") != TrainingFormat)
        {
            Throw(statePath, [$"format is '{st.Metadata.GetValueOrDefault("format")}', expected '{TrainingFormat}'"]);
        }

        string id = Meta("checkpoint_id");
        if (Meta("optimizer") != optimizer.Name)
        {
            problems.Add($"the state is for optimizer '{st.Metadata.GetValueOrDefault("optimizer")}', but this optimizer is '{optimizer.Name}'");
        }

        var groups = ParseJson(Meta("param_groups"), "param_groups", problems) as JsonArray;
        var scalars = ParseJson(Meta("scalars"), "scalars", problems) as JsonObject;
        JsonObject? schedState = null;
        if (scheduler is not null)
        {
            schedState = st.Metadata.TryGetValue("scheduler", out var s) ? ParseJson(s, "scheduler", problems) as JsonObject : null;
            if (schedState is null)
            {
                problems.Add("a scheduler was passed but the checkpoint holds no scheduler state");
            }
        }

        CheckGroups(optimizer, groups, problems);
        CheckScalars(optimizer, scalars, problems);
        var stateNames = CheckStateTensors(st, parameters, optimizer, problems);
        Throw(statePath, problems);

        var weightsMeta = SafeTensorsFile.Read(path).Metadata;
        if (weightsMeta.GetValueOrDefault("checkpoint_id") != id)
        {
            Throw(path, [$"the weights belong to checkpoint '{weightsMeta.GetValueOrDefault("checkpoint_id") ?? "(none)"}' but {Path.GetFileName(statePath)} to '{id}' (a save was interrupted, or the files come from different saves)"]);
        }

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

        foreach (var g in groups!.Cast<JsonObject>())
        {
            var group = optimizer.Group(g["name"]!.GetValue<string>());
            group.LR = g["lr"]!.GetValue<double>();
            group.InitialLR = g["initial_lr"] is JsonValue iv ? iv.GetValue<double>() : null;
        }

        foreach (var (name, node) in scalars!)
        {
            var map = (JsonObject)node!;
            optimizer.SetScalarState(name, parameters.Select(p => map[p.Name]!.GetValue<double>()).ToArray());
        }

        optimizer.SetStepCount(long.Parse(st.Metadata["optimizer_step_count"], CultureInfo.InvariantCulture));
        if (scheduler is not null)
        {
            scheduler.LoadStateDict(schedState!);
        }

        var user = st.Metadata.Where(kv => kv.Key.StartsWith(UserPrefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[UserPrefix.Length..], kv => kv.Value, StringComparer.Ordinal);
        return new TrainingCheckpointInfo(long.Parse(st.Metadata["step"], CultureInfo.InvariantCulture), id, user);
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

    private static void CheckEntry(SafeTensorInfo info, string name, Shape shape, List<string> problems)
    {
        if (info.DType != "F32")
        {
            problems.Add($"dtype: '{name}' is {info.DType} in the file, the model needs F32");
        }

        if (!info.Shape.SequenceEqual(shape.ToArray()) && !(info.Shape.Length == 0 && shape.Length == 1))
        {
            problems.Add($"shape: '{name}' is {info.ShapeText} in the file, {shape} in the model");
        }
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

    private static JsonNode? ParseJson(string text, string what, List<string> problems)
    {
        try
        {
            return text.Length == 0 ? null : JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException ex)
        {
            problems.Add($"metadata '{what}' is not valid JSON: {ex.Message}");
            return null;
        }
    }

    private static void CheckGroups(Optimizer optimizer, JsonArray? groups, List<string> problems)
    {
        if (groups is null)
        {
            return;
        }

        var names = groups.Select(g => g?["name"]?.GetValue<string>() ?? "?").ToList();
        var mine = optimizer.Groups.Select(g => g.Name).ToList();
        if (!names.SequenceEqual(mine))
        {
            problems.Add($"param groups are [{string.Join(", ", names)}] in the file, [{string.Join(", ", mine)}] in the optimizer");
            return;
        }

        for (int i = 0; i < mine.Count; i++)
        {
            var filed = (groups[i]?["params"] as JsonArray)?.Select(x => x!.GetValue<string>()).ToList() ?? [];
            var have = optimizer.Groups[i].Parameters.Select(p => p.Name).ToList();
            if (!filed.SequenceEqual(have))
            {
                problems.Add($"group '{mine[i]}' holds [{string.Join(", ", filed)}] in the file, [{string.Join(", ", have)}] in the optimizer");
            }

            if (groups[i]?["lr"] is not JsonValue)
            {
                problems.Add($"group '{mine[i]}' has no lr");
            }
        }
    }

    private static void CheckScalars(Optimizer optimizer, JsonObject? scalars, List<string> problems)
    {
        if (scalars is null)
        {
            return;
        }

        foreach (var name in optimizer.ScalarStateNames)
        {
            if (scalars[name] is not JsonObject map)
            {
                problems.Add($"scalar state '{name}' is missing");
                continue;
            }

            foreach (var p in optimizer.Parameters.Where(p => map[p.Name] is not JsonValue))
            {
                problems.Add($"scalar state '{name}' has no value for '{p.Name}'");
            }
        }

        foreach (var (name, _) in scalars.Where(kv => !optimizer.ScalarStateNames.Contains(kv.Key)))
        {
            problems.Add($"scalar state '{name}' is in the file but not in {optimizer.Name}");
        }
    }

    private static List<string> CheckStateTensors(SafeTensorsFile st, ParameterSet parameters, Optimizer optimizer, List<string> problems)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var t in st.Tensors)
        {
            var p = parameters.FirstOrDefault(q => t.Name.StartsWith("state." + q.Name + ".", StringComparison.Ordinal)
                && optimizer.IsStateName(t.Name[("state." + q.Name + ".").Length..]));
            if (p is null)
            {
                problems.Add($"unexpected: '{t.Name}' {t.DType} {t.ShapeText} is no state of {optimizer.Name} for a parameter of the model");
                continue;
            }

            names.Add(t.Name[("state." + p.Name + ".").Length..]);
            CheckEntry(t, t.Name, p.Shape, problems);
        }

        foreach (var name in names)
        {
            foreach (var p in parameters.Where(p => !st.Contains($"state.{p.Name}.{name}")))
            {
                problems.Add($"missing: 'state.{p.Name}.{name}' {p.Shape} is not in the file");
            }
        }

        return names.ToList();
    }
}
