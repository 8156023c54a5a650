// The one table of losses: each row names a loss, its family (and operator struct), its parameters with PyTorch's
// defaults and rules, and its formulas; names, parsing (LossSpec.Parse), dispatch rows and the docs table derive
// from it.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Engine.Kernels.Losses;

namespace Engine.Ops;

/// <summary>Every loss op, in docs order.</summary>
public static class LossTable
{
    private static readonly LossDefinition[] Rows =
    [
        Pointwise<MseLoss>("mse", "(p−t)²", "2(p−t)"),
        Pointwise<MaeLoss>("mae", "\\|p−t\\|", "sign(p−t)"),
        Pointwise<HuberLoss>("huber", "½d² if \\|d\\|<δ else δ(\\|d\\|−½δ)", "d, or δ·sign(d)",
            P("delta", 1, LossParameterRule.Positive, s => s.Delta, (s, v) => s with { Delta = v })),
        Pointwise<SmoothL1Loss>("smooth_l1", "½d²/β if \\|d\\|<β else \\|d\\|−½β", "d/β, or sign(d)",
            P("beta", 1, LossParameterRule.NonNegative, s => s.Beta, (s, v) => s with { Beta = v })),
        new("cross_entropy", new CrossEntropyFamily(),
            "−Σ_c q_c log softmax(p)_c, q from indices or probabilities (target_kind), class weights w, label smoothing; weighted mean divides by Σ w_y",
            "softmax(p) − q (weighted, smoothed)",
            [P("label_smoothing", 0, LossParameterRule.UnitInterval, s => s.LabelSmoothing, (s, v) => s with { LabelSmoothing = v })]),
        ProbabilityPointwise<BceLoss>("bce", "−(t log p + (1−t) log(1−p)) (logs clamped at −100 as torch)", "(p−t)/(p(1−p))"),
        Pointwise<BceWithLogitsLoss>("bce_with_logits", "max(x,0) − xt + log(1+e^{−\\|x\\|})", "σ(x) − t"),
        Pointwise<FocalLoss>("focal", "α_t (1−p_t)^γ · bce_with_logits (torchvision; α < 0: no α_t)", "analytic",
            P("gamma", 2, LossParameterRule.NonNegative, s => s.Gamma, (s, v) => s with { Gamma = v }),
            P("alpha", 0.25, LossParameterRule.Finite, s => s.Alpha, (s, v) => s with { Alpha = v })),
        new("focal_softmax", new FocalSoftmaxFamily(), "−α (1−p_t)^γ log p_t, p = softmax(x) over classes, t the class index; (N, C) rows or every position of (N, C, d…)", "α((1−p_t)^γ − γ(1−p_t)^{γ−1} p_t log p_t)·(p − onehot(t))",
        [
            P("gamma", 2, LossParameterRule.NonNegative, s => s.Gamma, (s, v) => s with { Gamma = v }),
            P("alpha", 0.25, LossParameterRule.Finite, s => s.Alpha, (s, v) => s with { Alpha = v }),
        ]) { Fixtures = "focal_softmax.json" },
        Region<DiceLoss>("dice", "1 − mean_c (2Σpy+ε)/(Σp+Σy+ε)", "analytic"),
        Region<IouLoss>("iou", "1 − mean_c (I+ε)/(U+ε), U = Σp+Σy−I", "analytic"),
        Region<TverskyLoss>("tversky", "1 − mean_c (TP+ε)/(TP+αFP+βFN+ε)", "analytic",
            P("alpha", 0.5, LossParameterRule.NonNegative, s => s.Alpha, (s, v) => s with { Alpha = v }),
            P("beta", 0.5, LossParameterRule.NonNegative, s => s.Beta, (s, v) => s with { Beta = v })),
        new("triplet", new TripletFamily(), "max(d(a,p) − d(a,n) + margin, 0), d = ‖a−x+1e-6‖_p", "da, dp, dn",
        [
            P("margin", 1, LossParameterRule.Finite, s => s.Margin, (s, v) => s with { Margin = v }),
            P("p", 2, LossParameterRule.Positive, s => s.P, (s, v) => s with { P = v }),
        ]),
    ];

    private static readonly Dictionary<string, LossDefinition> ByName = Rows.ToDictionary(r => r.Name, StringComparer.Ordinal);

    /// <summary>Every dispatch registry of the losses (OpTable finds them through this field).</summary>
    internal static readonly IReadOnlyList<Dispatch.IOpRegistry> Registries = Rows.SelectMany(r => new Dispatch.IOpRegistry[] { r.ForwardRegistry, r.BackwardRegistry }).ToArray();

    /// <summary>Every row, in docs order.</summary>
    public static IReadOnlyList<LossDefinition> All => Rows;

    /// <summary>Every loss op name, in docs order.</summary>
    public static IReadOnlyList<string> Names { get; } = Rows.Select(r => r.Name).ToArray();

    /// <summary>The row of <paramref name="op"/>.</summary>
    /// <exception cref="ArgumentException">Not a loss; the message lists the losses.</exception>
    public static LossDefinition Get(string op) => op is not null && ByName.TryGetValue(op, out var r)
        ? r : throw new ArgumentException($"'{op}' is not a loss; known: {string.Join(", ", Names)}.", nameof(op));

    /// <summary>The loss table as Markdown (docs/ops.md embeds it; a test keeps the two equal).</summary>
    public static string ToMarkdown()
    {
        var sb = new StringBuilder("| op | params (default) | loss per element / sample | gradient | fixtures / tests |\n| --- | --- | --- | --- | --- |\n");
        foreach (var r in Rows)
        {
            var ps = r.Parameters.Select(q => string.Create(CultureInfo.InvariantCulture, $"{q.Name} ({q.Default:0.##########}, {q.RuleText})")).ToList();
            if (r.AcceptsWeight)
            {
                ps.Insert(0, "target_kind (\"indices\" or \"probabilities\")");
            }

            if (r.HasReduction)
            {
                ps.Insert(0, "reduction (\"mean\" or \"sum\")");
            }

            sb.Append(CultureInfo.InvariantCulture, $"| {r.Name} | {string.Join(", ", ps)} | {r.Forward} | {r.Backward} | {r.Fixtures}; Ops/LossTests |\n");
        }

        return sb.ToString();
    }

    private static LossParameterInfo P(string name, double fallback, LossParameterRule rule, Func<LossSpec, float> get, Func<LossSpec, float, LossSpec> set) =>
        new(name, fallback, rule) { Get = get, Set = set };

    private static LossDefinition Pointwise<TOp>(string name, string forward, string backward, params LossParameterInfo[] parameters)
        where TOp : struct, IPointwiseLoss => new(name, new PointwiseFamily<TOp>(false), forward, backward, parameters);

    private static LossDefinition ProbabilityPointwise<TOp>(string name, string forward, string backward)
        where TOp : struct, IPointwiseLoss => new(name, new PointwiseFamily<TOp>(predIsProbability: true), forward, backward, []);

    private static LossDefinition Region<TOp>(string name, string forward, string backward, params LossParameterInfo[] parameters)
        where TOp : struct, IRegionLoss =>
        new(name, new RegionFamily<TOp>(), forward, backward, [.. parameters, P("eps", 1e-6, LossParameterRule.NonNegative, s => s.Eps, (s, v) => s with { Eps = v })]);
}
