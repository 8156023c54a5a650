// Loss descriptions: kinds, reductions and parameters under PyTorch's names, the parser from conformance / sequential
// loss objects, and the shape rules each loss imposes on its inputs.
using System;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;
using Engine.Conformance;

namespace Engine.Ops;

/// <summary>The losses.</summary>
public enum LossKind
{
    /// <summary>Mean squared error (mse).</summary>
    Mse,

    /// <summary>Mean absolute error (mae, torch l1_loss).</summary>
    Mae,

    /// <summary>torch huber_loss (delta).</summary>
    Huber,

    /// <summary>torch smooth_l1_loss (beta).</summary>
    SmoothL1,

    /// <summary>torch cross_entropy from logits (indices or probabilities, weights, label smoothing).</summary>
    CrossEntropy,

    /// <summary>torch binary_cross_entropy of probabilities.</summary>
    Bce,

    /// <summary>torch binary_cross_entropy_with_logits.</summary>
    BceWithLogits,

    /// <summary>torchvision sigmoid_focal_loss (gamma, alpha).</summary>
    Focal,

    /// <summary>1 - mean over classes of the Dice coefficient (eps).</summary>
    Dice,

    /// <summary>1 - mean over classes of IoU (eps).</summary>
    Iou,

    /// <summary>1 - mean over classes of the Tversky index (alpha, beta, eps).</summary>
    Tversky,

    /// <summary>torch triplet_margin_loss (margin, p).</summary>
    Triplet,
}

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
/// A loss and its parameters (immutable). Create with the factories or <see cref="Parse"/>. Unused parameters keep
/// their defaults.
/// </summary>
public sealed class LossSpec
{
    private LossSpec(LossKind kind, LossReduction reduction)
    {
        Kind = kind;
        Reduction = reduction;
    }

    /// <summary>The loss.</summary>
    public LossKind Kind { get; }

    /// <summary>The reduction (region losses ignore it: they are means over classes by definition).</summary>
    public LossReduction Reduction { get; }

    /// <summary>huber's delta.</summary>
    public float Delta { get; private init; } = 1f;

    /// <summary>smooth_l1's beta, or Tversky's weight of false negatives.</summary>
    public float Beta { get; private init; } = 1f;

    /// <summary>focal's gamma.</summary>
    public float Gamma { get; private init; } = 2f;

    /// <summary>focal's alpha (negative: no alpha weighting) or Tversky's weight of false positives.</summary>
    public float Alpha { get; private init; } = 0.25f;

    /// <summary>eps of dice, iou and tversky.</summary>
    public float Eps { get; private init; } = 1e-6f;

    /// <summary>cross-entropy's target kind.</summary>
    public CrossEntropyTarget TargetKind { get; private init; }

    /// <summary>cross-entropy's label smoothing in [0, 1].</summary>
    public float LabelSmoothing { get; private init; }

    /// <summary>triplet's margin.</summary>
    public float Margin { get; private init; } = 1f;

    /// <summary>triplet's norm degree p.</summary>
    public float P { get; private init; } = 2f;

    /// <summary>The op name used by conformance cases and sequential loss objects.</summary>
    public string Op => Kind switch
    {
        LossKind.Mse => "mse",
        LossKind.Mae => "mae",
        LossKind.Huber => "huber",
        LossKind.SmoothL1 => "smooth_l1",
        LossKind.CrossEntropy => "cross_entropy",
        LossKind.Bce => "bce",
        LossKind.BceWithLogits => "bce_with_logits",
        LossKind.Focal => "focal",
        LossKind.Dice => "dice",
        LossKind.Iou => "iou",
        LossKind.Tversky => "tversky",
        _ => "triplet",
    };

    /// <summary>Every loss op name.</summary>
    public static string[] Ops { get; } = ["mse", "mae", "huber", "smooth_l1", "cross_entropy", "bce", "bce_with_logits", "focal", "dice", "iou", "tversky", "triplet"];

    /// <summary>Whether the loss takes a class-weight vector (cross-entropy).</summary>
    public bool AcceptsWeight => Kind == LossKind.CrossEntropy;

    /// <summary>Whether the loss has three inputs (anchor, positive, negative) instead of pred and target.</summary>
    public bool IsTriplet => Kind == LossKind.Triplet;

    /// <summary>Mean squared error.</summary>
    public static LossSpec Mse(LossReduction reduction = LossReduction.Mean) => new(LossKind.Mse, reduction);

    /// <summary>Mean absolute error.</summary>
    public static LossSpec Mae(LossReduction reduction = LossReduction.Mean) => new(LossKind.Mae, reduction);

    /// <summary>Huber loss with <paramref name="delta"/> &gt; 0.</summary>
    public static LossSpec Huber(float delta = 1f, LossReduction reduction = LossReduction.Mean) =>
        new(LossKind.Huber, reduction) { Delta = Positive(delta, "delta") };

    /// <summary>Smooth L1 with <paramref name="beta"/> &gt;= 0 (0 is the L1 loss; torch's gradient at 0 is then -1).</summary>
    public static LossSpec SmoothL1(float beta = 1f, LossReduction reduction = LossReduction.Mean) =>
        new(LossKind.SmoothL1, reduction) { Beta = NonNegative(beta, "beta") };

    /// <summary>Cross-entropy from logits.</summary>
    public static LossSpec CrossEntropy(CrossEntropyTarget target = CrossEntropyTarget.Indices, float labelSmoothing = 0f, LossReduction reduction = LossReduction.Mean)
    {
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f))
        {
            throw new ArgumentException($"cross_entropy: label_smoothing must be in [0, 1], got {labelSmoothing}.", nameof(labelSmoothing));
        }

        return new(LossKind.CrossEntropy, reduction) { TargetKind = target, LabelSmoothing = labelSmoothing };
    }

    /// <summary>Binary cross-entropy of probabilities.</summary>
    public static LossSpec Bce(LossReduction reduction = LossReduction.Mean) => new(LossKind.Bce, reduction);

    /// <summary>Binary cross-entropy of logits.</summary>
    public static LossSpec BceWithLogits(LossReduction reduction = LossReduction.Mean) => new(LossKind.BceWithLogits, reduction);

    /// <summary>torchvision sigmoid_focal_loss; <paramref name="alpha"/> &lt; 0 disables the alpha weighting.</summary>
    public static LossSpec Focal(float gamma = 2f, float alpha = 0.25f, LossReduction reduction = LossReduction.Mean) =>
        new(LossKind.Focal, reduction) { Gamma = NonNegative(gamma, "gamma"), Alpha = Finite(alpha, "alpha") };

    /// <summary>Dice loss.</summary>
    public static LossSpec Dice(float eps = 1e-6f) => new(LossKind.Dice, LossReduction.Mean) { Eps = NonNegative(eps, "eps") };

    /// <summary>IoU (Jaccard) loss.</summary>
    public static LossSpec Iou(float eps = 1e-6f) => new(LossKind.Iou, LossReduction.Mean) { Eps = NonNegative(eps, "eps") };

    /// <summary>Tversky loss: <paramref name="alpha"/> weights false positives, <paramref name="beta"/> false negatives.</summary>
    public static LossSpec Tversky(float alpha = 0.5f, float beta = 0.5f, float eps = 1e-6f) =>
        new(LossKind.Tversky, LossReduction.Mean) { Alpha = NonNegative(alpha, "alpha"), Beta = NonNegative(beta, "beta"), Eps = NonNegative(eps, "eps") };

    /// <summary>Triplet margin loss with the p-norm distance (p &gt; 0).</summary>
    public static LossSpec Triplet(float margin = 1f, float p = 2f, LossReduction reduction = LossReduction.Mean) =>
        new(LossKind.Triplet, reduction) { Margin = Finite(margin, "margin"), P = Positive(p, "p") };

    /// <summary>
    /// Builds the loss <paramref name="op"/> reading its params through <paramref name="p"/> (docs/conformance.md):
    /// reduction ("mean" | "sum", default mean) for all but dice/iou/tversky; huber delta (1); smooth_l1 beta (1);
    /// cross_entropy target_kind ("indices" | "probabilities") and label_smoothing (0); focal gamma (2), alpha (0.25);
    /// dice/iou eps (1e-6); tversky alpha, beta (0.5), eps (1e-6); triplet margin (1), p (2).
    /// </summary>
    /// <exception cref="ArgumentException">Unknown op or bad value.</exception>
    public static LossSpec Parse(string op, CaseParams p)
    {
        ArgumentNullException.ThrowIfNull(p);
        float F(string key, double fallback) => (float)p.Number(key, fallback);
        LossReduction R() => p.Str("reduction", "mean") switch
        {
            "mean" => LossReduction.Mean,
            "sum" => LossReduction.Sum,
            var s => throw new ArgumentException($"{op}: reduction must be \"mean\" or \"sum\" (the loss is a [1] tensor), got \"{s}\".", nameof(p)),
        };
        return op switch
        {
            "mse" => Mse(R()),
            "mae" => Mae(R()),
            "huber" => Huber(F("delta", 1), R()),
            "smooth_l1" => SmoothL1(F("beta", 1), R()),
            "cross_entropy" => CrossEntropy(
                p.Str("target_kind", "indices") switch
                {
                    "indices" => CrossEntropyTarget.Indices,
                    "probabilities" => CrossEntropyTarget.Probabilities,
                    var s => throw new ArgumentException($"cross_entropy: target_kind must be \"indices\" or \"probabilities\", got \"{s}\".", nameof(p)),
                },
                F("label_smoothing", 0), R()),
            "bce" => Bce(R()),
            "bce_with_logits" => BceWithLogits(R()),
            "focal" => Focal(F("gamma", 2), F("alpha", 0.25), R()),
            "dice" => Dice(F("eps", 1e-6)),
            "iou" => Iou(F("eps", 1e-6)),
            "tversky" => Tversky(F("alpha", 0.5), F("beta", 0.5), F("eps", 1e-6)),
            "triplet" => Triplet(F("margin", 1), F("p", 2), R()),
            _ => throw new ArgumentException($"'{op}' is not a loss; known: {string.Join(", ", Ops)}.", nameof(op)),
        };
    }

    /// <summary>Builds the loss of an object such as <c>{"op": "cross_entropy", "reduction": "mean"}</c>; unknown keys are rejected.</summary>
    /// <exception cref="ArgumentException">No name, unknown op, unknown key or bad value.</exception>
    public static LossSpec FromJson(JsonObject loss, string nameKey = "op")
    {
        ArgumentNullException.ThrowIfNull(loss);
        string op = loss[nameKey] is JsonValue v && v.TryGetValue<string>(out var s)
            ? s : throw new ArgumentException($"loss object has no string '{nameKey}': {loss.ToJsonString()}", nameof(loss));
        // Round-trip through text so that values built in code (JsonValue of int, say) read like parsed ones.
        var p = new CaseParams((JsonObject)JsonNode.Parse(loss.ToJsonString())!);
        p.Has(nameKey);
        var spec = Parse(op, p);
        var unread = p.Unread.ToList();
        if (unread.Count > 0)
        {
            throw new ArgumentException($"{op}: unknown param(s) {string.Join(", ", unread)}.", nameof(loss));
        }

        return spec;
    }

    /// <inheritdoc />
    public override string ToString()
    {
        string red = Reduction == LossReduction.Mean ? "mean" : "sum";
        return Kind switch
        {
            LossKind.Huber => Inv($"huber(delta={Delta}, {red})"),
            LossKind.SmoothL1 => Inv($"smooth_l1(beta={Beta}, {red})"),
            LossKind.CrossEntropy => Inv($"cross_entropy({TargetKind}, label_smoothing={LabelSmoothing}, {red})"),
            LossKind.Focal => Inv($"focal(gamma={Gamma}, alpha={Alpha}, {red})"),
            LossKind.Dice or LossKind.Iou => Inv($"{Op}(eps={Eps})"),
            LossKind.Tversky => Inv($"tversky(alpha={Alpha}, beta={Beta}, eps={Eps})"),
            LossKind.Triplet => Inv($"triplet(margin={Margin}, p={P}, {red})"),
            _ => $"{Op}({red})",
        };
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static float Finite(float v, string name) =>
        float.IsFinite(v) ? v : throw new ArgumentException($"loss parameter {name} must be finite, got {v}.", name);

    private static float NonNegative(float v, string name) =>
        Finite(v, name) >= 0f ? v : throw new ArgumentException($"loss parameter {name} must be >= 0, got {v}.", name);

    private static float Positive(float v, string name) =>
        Finite(v, name) > 0f ? v : throw new ArgumentException($"loss parameter {name} must be > 0, got {v}.", name);
}
