// Loading weights into a model that differs from the one saved (transfer learning): a name map from the file's names
// to the model's, tensors left out on purpose, shape mismatches skipped, and a report of what was and was not loaded.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Nn;

namespace Engine.Checkpoints;

/// <summary>How <see cref="Checkpoint.LoadWeights(string, ParameterSet, IEnumerable{KeyValuePair{string, Tensor}}?, WeightLoadOptions)"/> matches a file to a model.</summary>
public sealed record WeightLoadOptions
{
    /// <summary>
    /// Every model tensor must be loaded and every file tensor used (the map's skips excepted), as PyTorch's
    /// <c>load_state_dict(strict=True)</c>. False allows missing and unexpected names (they are reported). Default true.
    /// </summary>
    public bool Strict { get; init; } = true;

    /// <summary>
    /// Maps a tensor name in the file to the model's name for it (e.g. <c>n => "body." + n</c> after wrapping the old model
    /// in a new one), or to null to leave that tensor out (e.g. the old head). Null: names are used as they are.
    /// </summary>
    public Func<string, string?>? NameMap { get; init; }

    /// <summary>Leave out file tensors whose shape differs from the model's (a replaced head of another size) instead of failing. Default false.</summary>
    public bool SkipMismatchedShapes { get; init; }
}

/// <summary>What a weight load did.</summary>
/// <param name="Loaded">Model names that received a tensor from the file, in the model's order.</param>
/// <param name="Missing">Model names the file gave nothing for (they keep their values), in the model's order.</param>
/// <param name="Unexpected">File names (before mapping) that went nowhere: no model tensor of that name.</param>
/// <param name="Skipped">File names left out on purpose: mapped to null, or (with <see cref="WeightLoadOptions.SkipMismatchedShapes"/>) of another shape, with why.</param>
/// <param name="Metadata">The file's metadata.</param>
public sealed record WeightLoadReport(IReadOnlyList<string> Loaded, IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected,
    IReadOnlyList<string> Skipped, IReadOnlyDictionary<string, string> Metadata);

public static partial class Checkpoint
{
    /// <summary>
    /// Loads weights into <paramref name="parameters"/> (and <paramref name="buffers"/>) as <paramref name="options"/>
    /// say: the file's names mapped to the model's, tensors left out, and (not strict) missing or unexpected names
    /// allowed. Names, shapes and dtypes are checked first and nothing is written unless all fit.
    /// </summary>
    /// <returns>Which tensors were loaded, missing, unexpected and skipped, and the file's metadata.</returns>
    /// <exception cref="CheckpointMismatchException">Something does not fit; the message lists every difference.</exception>
    /// <exception cref="SafeTensorsFormatException">The file is truncated or corrupt.</exception>
    public static WeightLoadReport LoadWeights(string path, ParameterSet parameters, IEnumerable<KeyValuePair<string, Tensor>>? buffers, WeightLoadOptions options)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(options);
        var file = SafeTensorsFile.Read(path);
        var targets = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in parameters.Select(p => (p.Name, p.Value)).Concat((buffers ?? []).Select(kv => (kv.Key, kv.Value))))
        {
            targets[name] = tensor;
        }

        var problems = new List<string>();
        var plan = new List<(string File, string Model)>();
        var unexpected = new List<string>();
        var skipped = new List<string>();
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var info in file.Tensors)
        {
            string? name = options.NameMap is null ? info.Name : options.NameMap(info.Name);
            if (name is null)
            {
                skipped.Add($"{info.Name} (left out by the name map)");
                continue;
            }

            if (!targets.TryGetValue(name, out var tensor))
            {
                unexpected.Add(info.Name);
                if (options.Strict)
                {
                    problems.Add($"unexpected: '{info.Name}'{(name != info.Name ? $" (mapped to '{name}')" : string.Empty)} {info.DType} {info.ShapeText} is in the file but not in the model");
                }

                continue;
            }

            if (sources.TryGetValue(name, out var other))
            {
                problems.Add($"map: '{info.Name}' and '{other}' in the file both map to '{name}'");
                continue;
            }

            sources[name] = info.Name;
            var entryProblems = new List<string>();
            CheckEntry(info, name, tensor.Shape, entryProblems);
            if (entryProblems.Count > 0 && options.SkipMismatchedShapes && info.DType == "F32")
            {
                skipped.Add($"{info.Name} ({info.ShapeText} in the file, {tensor.Shape} in the model)");
                sources.Remove(name);
                continue;
            }

            problems.AddRange(entryProblems);
            plan.Add((info.Name, name));
        }

        var missing = targets.Keys.Where(n => !sources.ContainsKey(n)).ToList();
        if (options.Strict)
        {
            problems.AddRange(missing.Select(n => $"missing: '{n}' {targets[n].Shape} is not in the file"));
        }

        Throw(path, problems);
        foreach (var (src, dst) in plan)
        {
            targets[dst].CopyFrom(file.ReadFloat32(src));
        }

        return new WeightLoadReport(targets.Keys.Where(sources.ContainsKey).ToList(), missing, unexpected, skipped, file.Metadata);
    }
}
