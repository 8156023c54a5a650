// Double-precision reference activations and derivatives, written from the definitions (independent of the engine),
// one entry per row of the activation table: adding an activation adds its entry here.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Ops;

namespace Engine.Tests.Ops;

public static class ActivationReference
{
    // Per table key: forward, derivative (PyTorch's values at the kinks), the kinks (finite differences skip them)
    // and extra settings worth testing beyond the defaults.
    private static readonly Dictionary<string, Ref> Refs = new(StringComparer.Ordinal)
    {
        ["sigmoid"] = new((x, s) => Sigmoid(x), (x, s) => Sigmoid(x) * (1 - Sigmoid(x))),
        ["tanh"] = new((x, s) => Math.Tanh(x), (x, s) => 1 - (Math.Tanh(x) * Math.Tanh(x))),
        ["relu"] = new((x, s) => Math.Max(x, 0), (x, s) => x > 0 ? 1 : 0, Kinks: s => [0]),
        ["leaky_relu"] = new((x, s) => x > 0 ? x : P(s, "alpha") * x, (x, s) => x > 0 ? 1 : P(s, "alpha"), [[("alpha", 0.13)]], s => [0]),
        ["elu"] = new((x, s) => x > 0 ? x : P(s, "alpha") * (Math.Exp(x) - 1), (x, s) => x > 0 ? 1 : P(s, "alpha") * Math.Exp(x), [[("alpha", 0.37)]], s => [0]),
        ["gelu"] = new((x, s) => x * 0.5 * (1 + Erf(x / Math.Sqrt(2))),
            (x, s) => (0.5 * (1 + Erf(x / Math.Sqrt(2)))) + (x * Math.Exp(-x * x / 2) / Math.Sqrt(2 * Math.PI))),
        ["gelu_tanh"] = new((x, s) => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + (0.044715 * x * x * x)))), (x, s) =>
        {
            double k = Math.Sqrt(2 / Math.PI), u = k * (x + (0.044715 * x * x * x)), t = Math.Tanh(u);
            return (0.5 * (1 + t)) + (0.5 * x * (1 - (t * t)) * k * (1 + (3 * 0.044715 * x * x)));
        }),
        ["swish"] = new((x, s) => x * Sigmoid(P(s, "beta") * x), (x, s) =>
        {
            double b = P(s, "beta"), sg = Sigmoid(b * x);
            return sg + (b * x * sg * (1 - sg));
        }, [[("beta", 1.7)]]),
        ["softplus"] = new((x, s) => P(s, "beta") * x > P(s, "threshold") ? x : Math.Log(1 + Math.Exp(P(s, "beta") * x)) / P(s, "beta"),
            (x, s) => P(s, "beta") * x > P(s, "threshold") ? 1 : Sigmoid(P(s, "beta") * x),
            [[("beta", 2.0), ("threshold", 3.0)], [("beta", -0.5), ("threshold", 5.0)]], s => [P(s, "threshold") / P(s, "beta")]),
        ["mish"] = new((x, s) => x * Math.Tanh(Math.Log(1 + Math.Exp(x))), (x, s) =>
        {
            double t = Math.Tanh(Math.Log(1 + Math.Exp(x)));
            return t + (x * Sigmoid(x) * (1 - (t * t)));
        }),
        ["hardswish"] = new((x, s) => x * Math.Min(Math.Max(x + 3, 0), 6) / 6, (x, s) => x < -3 ? 0 : (x <= 3 ? (x / 3) + 0.5 : 1), Kinks: s => [-3, 3]),
    };

    /// <summary>erf by its everywhere-convergent positive series erf(x) = 2/sqrt(pi) e^-x^2 sum 2^n x^(2n+1) / (2n+1)!!.</summary>
    public static double Erf(double x)
    {
        if (Math.Abs(x) > 6)
        {
            return Math.Sign(x);
        }

        double term = x, sum = x;
        for (int n = 1; n < 400 && Math.Abs(term) > 1e-17 * Math.Abs(sum); n++)
        {
            term *= 2 * x * x / ((2 * n) + 1);
            sum += term;
        }

        return 2 / Math.Sqrt(Math.PI) * Math.Exp(-x * x) * sum;
    }

    public static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    public static double Forward(ActivationSpec s, double x) => Find(s).Forward(x, s);

    /// <summary>f'(x), with PyTorch's values at the kinks.</summary>
    public static double Derivative(ActivationSpec s, double x) => Find(s).Derivative(x, s);

    /// <summary>Where the derivative jumps (finite differences are meaningless there).</summary>
    public static double[] Kinks(ActivationSpec s) => Find(s).Kinks?.Invoke(s) ?? [];

    /// <summary>Every elementwise row of the table with its default settings, plus each entry's extra settings.</summary>
    public static ActivationSpec[] All() => ActivationTable.All.Where(r => r.IsElementwise).SelectMany(r =>
    {
        (string, object)[] choice = r.ChoiceParameter is null ? [] : [(r.ChoiceParameter, r.ChoiceValue!)];
        var extra = Refs.TryGetValue(r.Key, out var e) ? e.Extra ?? [] : [];
        return new[] { ActivationSpec.Named(r.Name, choice) }.Concat(extra.Select(x => ActivationSpec.Named(r.Name, [.. choice, .. x])));
    }).ToArray();

    /// <summary>Table keys without a reference here.</summary>
    public static IEnumerable<string> Missing() => ActivationTable.All.Where(r => r.IsElementwise && !Refs.ContainsKey(r.Key)).Select(r => r.Key);

    private static double P(ActivationSpec s, string name) => s.Parameter(name);

    private static Ref Find(ActivationSpec s) => Refs.TryGetValue(s.Definition.Key, out var r)
        ? r : throw new KeyNotFoundException($"{s.Definition.Key} has no double reference; add one to Engine.Tests/Ops/ActivationReference.cs.");

    private sealed record Ref(Func<double, ActivationSpec, double> Forward, Func<double, ActivationSpec, double> Derivative,
        (string, object)[][]? Extra = null, Func<ActivationSpec, double[]>? Kinks = null);
}
