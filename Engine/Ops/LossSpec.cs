// Loss descriptions: a row of the loss table with its reduction and parameter values under PyTorch's names, the
// parser from conformance / sequential loss objects (through the table's parameter list) and the factories.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;

namespace Engine.Ops;

/// <summary>How per-element (or per-row) losses become the scalar loss.</summary>
public enum LossReduction
{
    /// <summary>The mean (cross-entropy with class weights: sum(w_y l) / sum(w_y)).</summary>
    Mean,

    /// <summary>The sum.</summary>
    Sum,
}

/// <summary>What a cross-entropy target holds.</summary>
public enum CrossEntropyTarget
{
    /// <summary>(N) class numbers stored as floats.</summary>
    Indices,

    /// <summary>(N, C) class probabilities.</summary>
    Probabilities,
}

/// <summary>
/// A loss and its parameter values (immutable): a row of <see cref="LossTable"/> plus the values of that row's
/// parameters (the others keep their defaults and are not read). Create with the factories or <see cref="Parse"/>.
/// </summary>
public sealed record LossSpec
{
    private LossSpec(LossDefinition definition, LossReduction reduction)
    {
        Definition = definition;
        Reduction = reduction;
    }

    /// <summary>The table row.</summary>
    public LossDefinition Definition { get; }

    /// <summary>The reduction (region losses ignore it: they are means over classes by definition).</summary>
    public LossReduction Reduction { get; }

    /// <summary>huber's delta.</summary>
    public float Delta { get; internal init; } = 1f;

    /// <summary>smooth_l1's beta, or tversky's weight of false negatives (PyTorch's name for each).</summary>
    public float Beta { get; internal init; } = 1f;

    /// <summary>focal's and focal_softmax's gamma.</summary>
    public float Gamma { get; internal init; } = 2f;

    /// <summary>focal's alpha (negative: no alpha weighting), focal_softmax's weight, or tversky's weight of false positives.</summary>
    public float Alpha { get; internal init; } = 0.25f;

    /// <summary>eps of dice, iou and tversky.</summary>
    public float Eps { get; internal init; } = 1e-6f;

    /// <summary>cross-entropy's target kind.</summary>
    public CrossEntropyTarget TargetKind { get; internal init; }

    /// <summary>cross-entropy's label smoothing in [0, 1].</summary>
    public float LabelSmoothing { get; internal init; }

    /// <summary>triplet's margin.</summary>
    public float Margin { get; internal init; } = 1f;

    /// <summary>triplet's norm degree p.</summary>
    public float P { get; internal init; } = 2f;

    /// <summary>The op name used by conformance cases and sequential loss objects.</summary>
    public string Op => Definition.Name;

    /// <summary>Every loss op name.</summary>
    public static IReadOnlyList<string> Ops => LossTable.Names;

    /// <summary>Whether the loss takes a class-weight vector (cross-entropy).</summary>
    public bool AcceptsWeight => Definition.AcceptsWeight;

    /// <summary>Whether the target holds class indices (cross-entropy with target_kind indices, focal_softmax).</summary>
    internal bool TakesClassIndices => Definition.Family.TakesClassIndices(this);

    /// <summary>Whether the loss has three inputs (anchor, positive, negative) instead of pred and target.</summary>
    public bool IsTriplet => Definition.IsTriplet;

    /// <summary>Mean squared error.</summary>
    public static LossSpec Mse(LossReduction reduction = LossReduction.Mean) => Named("mse", reduction);

    /// <summary>Mean absolute error.</summary>
    public static LossSpec Mae(LossReduction reduction = LossReduction.Mean) => Named("mae", reduction);

    /// <summary>Huber loss with <paramref name="delta"/> &gt; 0.</summary>
    public static LossSpec Huber(float delta = 1f, LossReduction reduction = LossReduction.Mean) => Named("huber", reduction, ("delta", delta));

    /// <summary>Smooth L1 with <paramref name="beta"/> &gt;= 0 (0 is the L1 loss; torch's gradient at 0 is then -1).</summary>
    public static LossSpec SmoothL1(float beta = 1f, LossReduction reduction = LossReduction.Mean) => Named("smooth_l1", reduction, ("beta", beta));

    /// <summary>Cross-entropy from logits.</summary>
    public static LossSpec CrossEntropy(CrossEntropyTarget target = CrossEntropyTarget.Indices, float labelSmoothing = 0f, LossReduction reduction = LossReduction.Mean) =>
        Named("cross_entropy", reduction, ("target_kind", TargetName(target)), ("label_smoothing", labelSmoothing));

    /// <summary>Binary cross-entropy of probabilities.</summary>
    public static LossSpec Bce(LossReduction reduction = LossReduction.Mean) => Named("bce", reduction);

    /// <summary>Binary cross-entropy of logits.</summary>
    public static LossSpec BceWithLogits(LossReduction reduction = LossReduction.Mean) => Named("bce_with_logits", reduction);

    /// <summary>torchvision sigmoid_focal_loss; <paramref name="alpha"/> &lt; 0 disables the alpha weighting.</summary>
    public static LossSpec Focal(float gamma = 2f, float alpha = 0.25f, LossReduction reduction = LossReduction.Mean) =>
        Named("focal", reduction, ("gamma", gamma), ("alpha", alpha));

    /// <summary>
    /// Multi-class focal loss over softmax probabilities of (N, C) logits against (N) class numbers:
    /// -alpha (1 - p_t)^gamma log p_t, <paramref name="gamma"/> &gt;= 0 (0: alpha times cross-entropy).
    /// </summary>
    public static LossSpec FocalSoftmax(float gamma = 2f, float alpha = 0.25f, LossReduction reduction = LossReduction.Mean) =>
        Named("focal_softmax", reduction, ("gamma", gamma), ("alpha", alpha));

    /// <summary>Dice loss.</summary>
    public static LossSpec Dice(float eps = 1e-6f) => Named("dice", null, ("eps", eps));

    /// <summary>IoU (Jaccard) loss.</summary>
    public static LossSpec Iou(float eps = 1e-6f) => Named("iou", null, ("eps", eps));

    /// <summary>Tversky loss: <paramref name="alpha"/> weights false positives, <paramref name="beta"/> false negatives.</summary>
    public static LossSpec Tversky(float alpha = 0.5f, float beta = 0.5f, float eps = 1e-6f) => Named("tversky", null, ("alpha", alpha), ("beta", beta), ("eps", eps));

    /// <summary>Triplet margin loss with the p-norm distance (p &gt; 0).</summary>
    public static LossSpec Triplet(float margin = 1f, float p = 2f, LossReduction reduction = LossReduction.Mean) =>
        Named("triplet", reduction, ("margin", margin), ("p", p));

    /// <summary>
    /// Builds the loss <paramref name="op"/> reading its settings through <paramref name="p"/>: <c>reduction</c>
    /// ("mean" | "sum", default mean) for all but dice/iou/tversky, cross_entropy's <c>target_kind</c> ("indices" |
    /// "probabilities"), and each row's parameters with their defaults (docs/ops.md's loss table).
    /// </summary>
    /// <exception cref="ArgumentException">Unknown op or bad value.</exception>
    public static LossSpec Parse(string op, IOpParams p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var row = LossTable.Get(op);
        var reduction = !row.HasReduction ? LossReduction.Mean : p.Str("reduction", "mean") switch
        {
            "mean" => LossReduction.Mean,
            "sum" => LossReduction.Sum,
            var s => throw new ArgumentException($"{op}: reduction must be \"mean\" or \"sum\" (the loss is a [1] tensor), got \"{s}\".", nameof(p)),
        };
        var spec = new LossSpec(row, reduction);
        if (row.AcceptsWeight)
        {
            spec = spec with
            {
                TargetKind = p.Str("target_kind", "indices") switch
                {
                    "indices" => CrossEntropyTarget.Indices,
                    "probabilities" => CrossEntropyTarget.Probabilities,
                    var s => throw new ArgumentException($"{op}: target_kind must be \"indices\" or \"probabilities\", got \"{s}\".", nameof(p)),
                },
            };
        }

        foreach (var q in row.Parameters)
        {
            spec = q.Set(spec, q.Check(op, p.Number(q.Name, q.Default)));
        }

        return spec;
    }

    /// <summary>Builds the loss of an object such as <c>{"op": "cross_entropy", "reduction": "mean"}</c>; unknown keys are rejected.</summary>
    /// <exception cref="ArgumentException">No name, unknown op, unknown key or bad value.</exception>
    public static LossSpec FromJson(JsonObject loss, string nameKey = "op")
    {
        ArgumentNullException.ThrowIfNull(loss);
        string op = loss[nameKey] is JsonValue v && v.TryGetValue<string>(out var s)
            ? s : throw new ArgumentException($"loss object has no string '{nameKey}': {loss.ToJsonString()}", nameof(loss));
        return ParseAll(op, OpParams.FromJson(loss, nameKey), nameof(loss));
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var parts = Definition.Parameters.Select(q => string.Create(CultureInfo.InvariantCulture, $"{q.Name}={q.Get(this)}")).ToList();
        if (AcceptsWeight)
        {
            parts.Insert(0, $"target_kind={TargetName(TargetKind)}");
        }

        if (Definition.HasReduction)
        {
            parts.Add(Reduction == LossReduction.Mean ? "mean" : "sum");
        }

        return $"{Op}({string.Join(", ", parts)})";
    }

    private static LossSpec Named(string op, LossReduction? reduction, params (string Key, object Value)[] settings)
    {
        var all = settings.Select(s => new KeyValuePair<string, object>(s.Key, s.Value)).ToList();
        if (reduction is { } r)
        {
            all.Add(new("reduction", r == LossReduction.Mean ? "mean" : "sum"));
        }

        return ParseAll(op, new OpParams(all), "settings");
    }

    private static LossSpec ParseAll(string op, OpParams p, string paramName)
    {
        var spec = Parse(op, p);
        var unread = p.Unread.ToList();
        return unread.Count == 0 ? spec : throw new ArgumentException($"{op}: unknown param(s) {string.Join(", ", unread)}.", paramName);
    }

    private static string TargetName(CrossEntropyTarget t) => t switch
    {
        CrossEntropyTarget.Indices => "indices",
        CrossEntropyTarget.Probabilities => "probabilities",
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "cross_entropy: target kind is Indices or Probabilities."),
    };
}
