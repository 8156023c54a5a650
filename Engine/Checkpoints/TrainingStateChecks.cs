// Reading the metadata of a training-state file (a file a user may receive): every field is parsed into typed values
// and checked against the optimizer and schedule before anything is written, and every problem is collected, so a
// corrupt or hostile file is refused with a list of what is wrong and never half-applied.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using Engine.Nn;
using Engine.Optim;
using Engine.Optim.Schedules;

namespace Engine.Checkpoints;

/// <summary>The parsed, checked contents of a training-state file's metadata (see <see cref="Checkpoint.LoadTraining"/>).</summary>
internal sealed record TrainingStateValues(
    (double LR, double? InitialLR)[] Groups,
    Dictionary<string, double[]> Scalars,
    long OptimizerSteps,
    long Step,
    JsonObject? Scheduler);

/// <summary>Parsers of the training-state metadata that add a line to <c>problems</c> for every defect instead of throwing.</summary>
internal static class TrainingStateChecks
{
    /// <summary>Parses and checks groups, scalars, counts and the scheduler state; null when something is wrong (see problems).</summary>
    public static TrainingStateValues? Parse(IReadOnlyDictionary<string, string> meta, Optimizer optimizer, LRSchedulerBase? scheduler, List<string> problems)
    {
        int before = problems.Count;
        var groups = Groups(Json(meta, "param_groups", problems), optimizer, problems);
        var scalars = Scalars(Json(meta, "scalars", problems), optimizer, problems);
        long optimizerSteps = Count(meta, "optimizer_step_count", problems);
        long step = Count(meta, "step", problems);
        JsonObject? schedState = null;
        if (scheduler is not null)
        {
            schedState = meta.ContainsKey("scheduler") ? Json(meta, "scheduler", problems) as JsonObject : null;
            if (schedState is null)
            {
                problems.Add("a scheduler was passed but the checkpoint holds no scheduler state (a JSON object in metadata 'scheduler')");
            }
            else
            {
                CheckScheduler(scheduler, schedState, problems);
            }
        }

        return problems.Count > before || groups is null || scalars is null ? null : new TrainingStateValues(groups, scalars, optimizerSteps, step, schedState);
    }

    /// <summary>The optimizer-state tensor names (<c>state.PARAM.NAME</c>) of the file, checked against the parameters.</summary>
    public static List<string> StateTensors(SafeTensorsFile st, ParameterSet parameters, Optimizer optimizer, List<string> problems)
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

    /// <summary>Adds a problem when a file tensor's dtype or shape does not fit <paramref name="shape"/>.</summary>
    public static void CheckEntry(SafeTensorInfo info, string name, Shape shape, List<string> problems)
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

    private static JsonNode? Json(IReadOnlyDictionary<string, string> meta, string key, List<string> problems)
    {
        if (!meta.TryGetValue(key, out var text))
        {
            problems.Add($"metadata '{key}' is missing");
            return null;
        }

        try
        {
            return JsonNode.Parse(text) ?? throw new JsonException("null");
        }
        catch (JsonException ex)
        {
            problems.Add($"metadata '{key}' is not valid JSON: {ex.Message}");
            return null;
        }
    }

    private static long Count(IReadOnlyDictionary<string, string> meta, string key, List<string> problems)
    {
        if (meta.TryGetValue(key, out var text) && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long v))
        {
            return v;
        }

        problems.Add(text is null ? $"metadata '{key}' is missing" : $"metadata '{key}' is '{Clip(text)}', not a non-negative integer");
        return 0;
    }

    private static (double, double?)[]? Groups(JsonNode? node, Optimizer optimizer, List<string> problems)
    {
        if (node is null)
        {
            return null;
        }

        if (node is not JsonArray groups || groups.Any(g => g is not JsonObject))
        {
            problems.Add("metadata 'param_groups' is not an array of group objects");
            return null;
        }

        var names = groups.Select(g => Str(g!["name"]) ?? "?").ToList();
        var mine = optimizer.Groups.Select(g => g.Name).ToList();
        if (!names.SequenceEqual(mine))
        {
            problems.Add($"param groups are [{string.Join(", ", names.Select(Clip))}] in the file, [{string.Join(", ", mine)}] in the optimizer");
            return null;
        }

        var result = new (double, double?)[mine.Count];
        for (int i = 0; i < mine.Count; i++)
        {
            var g = (JsonObject)groups[i]!;
            var filed = (g["params"] as JsonArray)?.Select(x => Str(x) ?? "?").ToList() ?? [];
            var have = optimizer.Groups[i].Parameters.Select(p => p.Name).ToList();
            if (!filed.SequenceEqual(have))
            {
                problems.Add($"group '{mine[i]}' holds [{string.Join(", ", filed.Select(Clip))}] in the file, [{string.Join(", ", have)}] in the optimizer");
            }

            double? lr = Rate(g["lr"]);
            if (lr is null)
            {
                problems.Add($"group '{mine[i]}' has no lr (a finite number >= 0)");
            }

            double? initial = g["initial_lr"] is null ? null : Rate(g["initial_lr"]);
            if (g["initial_lr"] is not null && initial is null)
            {
                problems.Add($"group '{mine[i]}' has an initial_lr that is not a finite number >= 0");
            }

            result[i] = (lr ?? 0, initial);
        }

        return result;
    }

    private static Dictionary<string, double[]>? Scalars(JsonNode? node, Optimizer optimizer, List<string> problems)
    {
        if (node is null)
        {
            return null;
        }

        if (node is not JsonObject scalars)
        {
            problems.Add("metadata 'scalars' is not an object");
            return null;
        }

        var result = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var name in optimizer.ScalarStateNames)
        {
            if (scalars[name] is not JsonObject map)
            {
                problems.Add($"scalar state '{name}' is missing");
                continue;
            }

            var values = new double[optimizer.Parameters.Count];
            for (int i = 0; i < values.Length; i++)
            {
                string p = optimizer.Parameters[i].Name;
                values[i] = map[p] is JsonValue v && v.TryGetValue<double>(out double d) && double.IsFinite(d) ? d : double.NaN;
                if (double.IsNaN(values[i]))
                {
                    problems.Add($"scalar state '{name}' has no finite number for '{p}'");
                }
            }

            result[name] = values;
        }

        foreach (var (name, _) in scalars.Where(kv => !optimizer.ScalarStateNames.Contains(kv.Key)))
        {
            problems.Add($"scalar state '{Clip(name)}' is in the file but not in {optimizer.Name}");
        }

        return result;
    }

    /// <summary>Loads the scheduler state on trial and puts the scheduler back as it was, whatever happened.</summary>
    private static void CheckScheduler(LRSchedulerBase scheduler, JsonObject state, List<string> problems)
    {
        var backup = (JsonObject)JsonNode.Parse(scheduler.StateDict().ToJsonString())!;   // as a file holds it
        try
        {
            scheduler.LoadStateDict(state);
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException or InvalidCastException or ArgumentException or KeyNotFoundException or OverflowException)
        {
            problems.Add($"scheduler state: {ex.Message}");
        }
        finally
        {
            scheduler.LoadStateDict(backup);
        }
    }

    private static double? Rate(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out double d) && double.IsFinite(d) && d >= 0 ? d : null;

    private static string? Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>A file's text shortened for a message.</summary>
    private static string Clip(string s) => s.Length <= 80 ? s : s[..80] + "...";
}
