// The one table of activations. Every elementwise operator struct of Engine.Kernels that carries an [Activation]
// attribute becomes a row (so adding an activation edits no list), next to softmax, log_softmax and maxout; names,
// parsing, the layers, the dispatch rows and the docs table all come from here.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using Engine.Kernels.Activations;

namespace Engine.Ops;

/// <summary>
/// Every activation op: its rows (<see cref="All"/>), its names, and parsing from a name and named settings
/// (<see cref="Parse"/>, <see cref="FromJson"/>). Unknown names and settings throw.
/// </summary>
public static class ActivationTable
{
    /// <summary>The op name of softmax.</summary>
    public const string SoftmaxName = "softmax";

    /// <summary>The op name of log-softmax.</summary>
    public const string LogSoftmaxName = "log_softmax";

    /// <summary>The op name of maxout.</summary>
    public const string MaxoutName = "maxout";

    private static readonly ActivationDefinition[] Rows = Build();
    private static readonly Dictionary<string, ActivationDefinition[]> ByName = Rows
        .GroupBy(r => r.Name, StringComparer.Ordinal)
        .ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);

    /// <summary>Every dispatch registry of the elementwise rows (OpTable finds them through this field).</summary>
    internal static readonly IReadOnlyList<Dispatch.IOpRegistry> Registries = Rows
        .Where(r => r.IsElementwise)
        .SelectMany(r => new Dispatch.IOpRegistry[] { r.ForwardRegistry!, r.BackwardRegistry! })
        .ToArray();

    /// <summary>Every row, sorted by name (then by choice value), elementwise and not.</summary>
    public static IReadOnlyList<ActivationDefinition> All => Rows;

    /// <summary>Every activation op name, sorted.</summary>
    public static IReadOnlyCollection<string> Names { get; } = Rows.Select(r => r.Name).Distinct().ToArray();

    /// <summary>Whether <paramref name="op"/> names an activation.</summary>
    public static bool IsActivation(string op) => op is not null && ByName.ContainsKey(op);

    /// <summary>The row of an elementwise operator struct.</summary>
    /// <exception cref="ArgumentException">The struct is not registered (it lacks an [Activation] attribute).</exception>
    public static ActivationDefinition Of<TOp>()
        where TOp : struct, IActivationOperator =>
        Rows.FirstOrDefault(r => r.OperatorType == typeof(TOp))
        ?? throw new ArgumentException($"{typeof(TOp).Name} is not in the activation table (it needs an [Activation] attribute).", nameof(TOp));

    /// <summary>
    /// Builds the activation <paramref name="op"/> reading its settings through <paramref name="p"/>: each row's
    /// parameters with their defaults (see <see cref="All"/>), a choice parameter (gelu's <c>approximate</c>) picking
    /// the row.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown op or bad value; the message names it.</exception>
    public static IActivationOp Parse(string op, IOpParams p)
    {
        ArgumentNullException.ThrowIfNull(p);
        if (op is null || !ByName.TryGetValue(op, out var rows))
        {
            throw new ArgumentException($"'{op}' is not an activation; known: {string.Join(", ", Names)}.", nameof(op));
        }

        var row = rows[0];
        if (row.ChoiceParameter is { } choice)
        {
            var fallback = rows.Single(r => r.IsDefaultChoice).ChoiceValue!;
            string value = p.Str(choice, fallback);
            row = rows.FirstOrDefault(r => r.ChoiceValue == value) ?? throw new ArgumentException(
                $"{op}: {choice} must be {string.Join(" or ", rows.Select(r => $"\"{r.ChoiceValue}\""))}, got \"{value}\".", nameof(p));
        }

        return row.Create(p);
    }

    /// <summary>
    /// Builds the layer of a JSON object such as <c>{"type": "leaky_relu", "alpha": 0.1}</c>; the op name is under
    /// <paramref name="nameKey"/>. Keys the op does not read are rejected.
    /// </summary>
    /// <exception cref="ArgumentException">No name, unknown op, unknown key or bad value.</exception>
    public static IActivationOp FromJson(JsonObject layer, string nameKey = "type")
    {
        ArgumentNullException.ThrowIfNull(layer);
        string op = layer[nameKey] is JsonValue v && v.TryGetValue<string>(out var s)
            ? s : throw new ArgumentException($"activation layer has no string '{nameKey}': {layer.ToJsonString()}", nameof(layer));
        return Named(op, OpParams.FromJson(layer, nameKey));
    }

    /// <summary>Builds <paramref name="op"/> from <paramref name="settings"/>, rejecting any setting the op does not read.</summary>
    /// <exception cref="ArgumentException">Unknown op, unknown setting or bad value.</exception>
    public static IActivationOp Named(string op, OpParams settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var result = Parse(op, settings);
        var unread = settings.Unread.ToList();
        if (unread.Count > 0)
        {
            throw new ArgumentException($"{op}: unknown param(s) {string.Join(", ", unread)}.", nameof(settings));
        }

        return result;
    }

    /// <summary>
    /// The activation table as Markdown (docs/ops.md embeds it; a test keeps the two equal): one row per op and
    /// choice, with its parameters and defaults, forward and backward formulas and where it is tested.
    /// </summary>
    public static string ToMarkdown()
    {
        var sb = new StringBuilder("| op | params (default) | forward | backward (dx) | fixtures / tests |\n| --- | --- | --- | --- | --- |\n");
        foreach (var r in Rows)
        {
            var ps = r.Parameters.Select(q => $"{q.Name} ({q.DefaultText})").ToList();
            if (r.ChoiceParameter is not null)
            {
                ps.Insert(0, $"{r.ChoiceParameter} \"{r.ChoiceValue}\"{(r.IsDefaultChoice ? " (default)" : string.Empty)}");
            }

            sb.Append(CultureInfo.InvariantCulture, $"| {r.Name} | {(ps.Count == 0 ? "-" : string.Join(", ", ps))} | {r.Forward} | {r.Backward} | {r.Tests} |\n");
        }

        return sb.ToString();
    }

    private static ActivationDefinition[] Build()
    {
        var rows = new List<ActivationDefinition>
        {
            ActivationDefinition.Special(SoftmaxName, "eˣ⁻ᵐᵃˣ / Σ", "y ⊙ (g − Σ g⊙y)", ActivationInput.Output, [new("axis", "-1")],
                p => new SoftmaxSpec(p.Int("axis", -1), log: false)),
            ActivationDefinition.Special(LogSoftmaxName, "(x − max) − log Σ e^{x−max}", "g − eʸ Σ g", ActivationInput.Output, [new("axis", "-1")],
                p => new SoftmaxSpec(p.Int("axis", -1), log: true)),
            ActivationDefinition.Special(MaxoutName, "(N, F·k) → (N, F): max over k", "g to the first maximum", ActivationInput.Input, [new("pieces", "required")],
                p => new MaxoutSpec(p.Has("pieces") ? p.Int("pieces", 0) : throw new ArgumentException("maxout: param 'pieces' is required.", nameof(p)))),
        };
        foreach (var t in typeof(IActivationOperator).Assembly.GetTypes().Where(t => t.IsValueType && typeof(IActivationOperator).IsAssignableFrom(t)))
        {
            var a = t.GetCustomAttribute<ActivationAttribute>()
                ?? throw new InvalidOperationException($"activation operator {t.Name} has no [Activation] attribute naming it.");
            rows.Add(ActivationDefinition.Elementwise(t, a, t.GetCustomAttributes<ActivationParameterAttribute>().ToArray()));
        }

        rows.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name) is var c && c != 0 ? c : string.CompareOrdinal(a.ChoiceValue, b.ChoiceValue));
        foreach (var g in rows.GroupBy(r => r.Name))
        {
            if (g.Count() > 1 && (g.Any(r => r.ChoiceParameter is null) || g.Select(r => r.ChoiceParameter).Distinct().Count() != 1 || g.Count(r => r.IsDefaultChoice) != 1))
            {
                throw new InvalidOperationException($"activations named '{g.Key}' must share one choice parameter with exactly one default choice.");
            }
        }

        var dup = rows.GroupBy(r => r.Key).FirstOrDefault(g => g.Count() > 1);
        return dup is null ? rows.ToArray() : throw new InvalidOperationException($"two activation rows share the key '{dup.Key}'.");
    }
}
