// The primitive sequences PyTorch (and the exporter) write for engine layers, each matched as a whole: GELU (erf and
// tanh forms), SiLU/swish, mish, hardswish below opset 14, softplus with beta (and the exporter's threshold form),
// layer norm below opset 17, MatMul (+ Add) as a linear layer, Pad + AveragePool, lp pooling, global average pooling
// then Flatten, and maxout's Reshape + ReduceMax. A rule checks the constants and attributes of its match and
// returns how to build the layer, or null when they are not this layer's.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Nn;
using Onnx;
using static Engine.Onnx.Import.Pat;

namespace Engine.Onnx.Import;

/// <summary>A named pattern and the check that turns a match into a build step (null: not this layer after all).</summary>
internal sealed record PatternRule(string Layer, Pat Pattern, Func<ImportState, Match, Action?> Accept)
{
    public string RootOp => ((OpPat)Pattern).Type;
}

/// <summary>Every pattern rule, larger patterns first for each root op.</summary>
internal static class PatternRules
{
    private static readonly Pat X = In("x");

    // (x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps), PyTorch's layer norm below opset 17.
    private static readonly Pat Centered = Named("d", "Sub", X, Named("m", "ReduceMean", X));
    private static readonly Pat Normalized = Op("Div", Centered, Op("Sqrt", Op("Add", Named("v", "ReduceMean", Op("Pow", Centered, K("two"))), K("eps"))));

    // sign(a) relu(|a|) k with a = avg_pool(x^p), PyTorch's lp_pool2d.
    private static readonly Pat PowX = Op("Pow", X, K("p"));

    public static IReadOnlyList<PatternRule> All { get; } =
    [
        new("GELU", Op("Mul", Op("Mul", X, Op("Add", Op("Erf", Op("Div", X, K("r2"))), K("one"))), K("half")), (s, m) =>
            Near(s, m, "r2", Math.Sqrt(2)) && Near(s, m, "one", 1) && Near(s, m, "half", 0.5) ? Act(s, m, "gelu", ("approximate", "none")) : null),
        new("GELU (tanh)", Op("Mul", K("half"), Op("Mul", X, Op("Add", K("one"), Op("Tanh", Op("Mul", K("s"), Op("Add", X, Op("Mul", K("c"), Op("Mul", X, Op("Mul", X, X))))))))), (s, m) =>
            Near(s, m, "half", 0.5) && Near(s, m, "one", 1) && Near(s, m, "s", Math.Sqrt(2 / Math.PI)) && Near(s, m, "c", 0.044715) ? Act(s, m, "gelu", ("approximate", "tanh")) : null),
        new("Swish", Op("Mul", X, Op("Sigmoid", Op("Mul", X, K("beta")))), (s, m) => Scalar(s, m, "beta") is { } b ? Act(s, m, "swish", ("beta", (double)b)) : null),
        new("SiLU", Op("Mul", X, Op("Sigmoid", X)), (s, m) => Act(s, m, "swish", ("beta", 1.0))),
        new("Mish", Op("Mul", X, Op("Tanh", Op("Softplus", X))), (s, m) => Act(s, m, "mish")),
        new("Hardswish", Op("Mul", X, Named("h", "HardSigmoid", X)), (s, m) =>
            Math.Abs(Attrs.Float(m.Nodes["h"], "alpha", 0.2f) - (1 / 6.0)) < 1e-6 && Attrs.Float(m.Nodes["h"], "beta", 0.5f) == 0.5f ? Act(s, m, "hardswish") : null),
        new("Softplus (beta, threshold)", Op("Where", Op("Greater", Named("bx", "Mul", X, K("b")), K("t")), X, Op("Div", Op("Softplus", Named("bx", "Mul", X, K("b"))), K("b2"))),
            (s, m) => Scalar(s, m, "b") is { } b && Scalar(s, m, "b2") == b && Scalar(s, m, "t") is { } t ? Act(s, m, "softplus", ("beta", (double)b), ("threshold", (double)t)) : null),
        new("Softplus (threshold)", Op("Where", Op("Greater", X, K("t")), X, Op("Softplus", X)),
            (s, m) => Scalar(s, m, "t") is { } t ? Act(s, m, "softplus", ("threshold", (double)t)) : null),
        new("Softplus (beta)", Op("Div", Op("Softplus", Op("Mul", X, K("b"))), K("b2")),
            (s, m) => Scalar(s, m, "b") is { } b && Scalar(s, m, "b2") == b ? Act(s, m, "softplus", ("beta", (double)b)) : null),
        new("LayerNorm", Op("Add", Op("Mul", Normalized, K("w")), K("b")), (s, m) => LayerNorm(s, m, affine: true)),
        new("LayerNorm (no affine)", Normalized, (s, m) => LayerNorm(s, m, affine: false)),
        new("Linear (MatMul, Transpose, Add)", Op("Add", Op("MatMul", X, Named("t", "Transpose", K("w"))), K("b")), (s, m) => Linear(s, m, bias: true)),
        new("Linear (MatMul, Add)", Op("Add", Op("MatMul", X, K("w")), K("b")), (s, m) => Linear(s, m, bias: true)),
        new("Linear (MatMul, Transpose)", Op("MatMul", X, Named("t", "Transpose", K("w"))), (s, m) => Linear(s, m, bias: false)),
        new("Linear (MatMul)", Op("MatMul", X, K("w")), (s, m) => Linear(s, m, bias: false)),
        new("LPPool2d (Pad)", LpPool(Named("a", "AveragePool", Named("pad", "Pad", PowX, K("pads")))), LpPool),
        new("LPPool2d", LpPool(Named("a", "AveragePool", PowX)), LpPool),
        new("AvgPool2d (Pad)", Named("a", "AveragePool", Named("pad", "Pad", X, K("pads"))), (s, m) =>
            PadOf(s, m) is { } pad ? () => NodeRules.AveragePool(s, m.Root, m.Values["x"], pad) : null),
        new("GlobalAvgPool", Op("Flatten", Op("GlobalAveragePool", X)), (s, m) =>
            Attrs.Int(m.Root, "axis", 1) == 1 ? () => s.Apply(m.Root, new GlobalAvgPool(), [m.Values["x"]], m.Root.Output[0]) : null),
        new("Maxout", Op("ReduceMax", Named("r", "Reshape", X, K("shape"))), Maxout),
    ];

    /// <summary>The op types that appear in patterns.</summary>
    public static IReadOnlyCollection<string> Ops { get; } = All.SelectMany(r => OpsOf(r.Pattern)).ToHashSet(StringComparer.Ordinal);

    /// <summary>The layers whose sequences contain <paramref name="op"/> (for messages).</summary>
    public static IReadOnlyList<string> LayersUsing(string op) => All.Where(r => OpsOf(r.Pattern).Contains(op)).Select(r => r.Layer).Distinct().ToList();

    /// <summary>The rules whose pattern ends in <paramref name="op"/>.</summary>
    public static IEnumerable<PatternRule> ForRoot(string op) => All.Where(r => r.RootOp == op);

    private static Pat LpPool(Pat avg) => Op("Pow", Op("Mul", Op("Mul", Op("Sign", avg), Op("Relu", Op("Abs", avg))), K("k")), K("invp"));

    private static IEnumerable<string> OpsOf(Pat p) => p is OpPat o ? o.Args.SelectMany(OpsOf).Prepend(o.Type) : [];

    private static float? Scalar(ImportState s, Match m, string name) =>
        s.Statics.TryGetValue(m.Values[name], out var v) && v.IsScalar(out float f) ? f : null;

    private static bool Near(ImportState s, Match m, string name, double want) =>
        Scalar(s, m, name) is { } v && Math.Abs(v - want) <= 1e-6 * Math.Max(1, Math.Abs(want));

    private static Action Act(ImportState s, Match m, string name, params (string Key, object Value)[] settings) =>
        () => s.Apply(m.Root, Activation.Named(name, settings), [m.Values["x"]], m.Root.Output[0]);

    private static Action? LayerNorm(ImportState s, Match m, bool affine)
    {
        var axes = Attrs.Ints(m.Nodes["m"], "axes");
        if (axes is null || Attrs.Ints(m.Nodes["v"], "axes") is not { } v2 || !axes.SequenceEqual(v2) || !Near(s, m, "two", 2) || Scalar(s, m, "eps") is not { } eps
            || Attrs.Int(m.Nodes["m"], "keepdims", 1) != 1 || Attrs.Int(m.Nodes["v"], "keepdims", 1) != 1)
        {
            return null;
        }

        return () =>
        {
            var x = s.Shape(m.Nodes["d"]);
            var norm = axes.Select(a => a < 0 ? a + x.Rank : a).Order().ToArray();
            if (norm.Length == 0 || norm[^1] != x.Rank - 1 || norm[0] < 1 || norm.Length != x.Rank - norm[0])
            {
                throw s.Error(m.Nodes["m"], $"averages axes [{string.Join(", ", axes)}] of {x}; layer norm normalizes trailing dimensions.");
            }

            var shape = new Shape(x.Skip((int)norm[0]).ToArray());
            (string, float[])? w = affine ? (m.Values["w"], s.Statics[m.Values["w"]].Floats ?? throw s.Error(m.Root, "has an integer scale.")) : null;
            (string, float[])? b = affine ? (m.Values["b"], s.Statics[m.Values["b"]].Floats ?? throw s.Error(m.Root, "has an integer bias.")) : null;
            NodeRules.LayerNormFrom(s, m.Root, m.Values["x"], shape, eps, w, b);
        };
    }

    private static Action? Linear(ImportState s, Match m, bool bias)
    {
        if (m.Nodes.TryGetValue("t", out var t) && Attrs.Ints(t, "perm") is { } perm && !perm.SequenceEqual([1L, 0L]))
        {
            return null;
        }

        return () => NodeRules.MatMulLinear(s, m.Root, m.Values["x"], m.Values["w"], m.Nodes.ContainsKey("t"), bias ? m.Values["b"] : null);
    }

    // Pad's pads [0, 0, top, left, 0, 0, bottom, right] (constant mode, value 0) as the pooling's symmetric padding.
    private static (int H, int W)? PadOf(ImportState s, Match m)
    {
        var pad = m.Nodes["pad"];
        var v = s.Statics.TryGetValue(m.Values["pads"], out var sv) ? sv.Ints : null;
        bool zeroValue = pad.Input.Count < 3 || pad.Input[2].Length == 0 || (s.Statics.TryGetValue(pad.Input[2], out var cv) && cv.All(0f));
        if (v is not { Length: 8 } || v.Any(d => d is null) || Attrs.Str(pad, "mode", "constant") != "constant" || !zeroValue
            || v[0] != 0 || v[1] != 0 || v[4] != 0 || v[5] != 0 || v[2] != v[6] || v[3] != v[7] || pad.Attribute.Any(a => a.Name != "mode"))
        {
            return null;
        }

        return ((int)v[2]!.Value, (int)v[3]!.Value);
    }

    private static Action? LpPool(ImportState s, Match m)
    {
        var a = m.Nodes["a"];
        var k = Attrs.Ints(a, "kernel_shape");
        bool padded = m.Nodes.ContainsKey("pad");
        if (Scalar(s, m, "p") is not { } p || k is not { Length: 2 } || !Near(s, m, "k", k[0] * k[1]) || !Near(s, m, "invp", 1.0 / p)
            || (padded && PadOf(s, m) != (0, 0)) || (Attrs.Ints(a, "pads") ?? [0, 0, 0, 0]).Any(d => d != 0) || Attrs.Int(a, "ceil_mode", 0) != 0)
        {
            return null;
        }

        var st = Attrs.Ints(a, "strides") ?? [1, 1];
        return () => s.Apply(m.Root, new LPPool2d(p, ((int)k[0], (int)k[1]), ((int)st[0], (int)st[1])), [m.Values["x"]], m.Root.Output[0]);
    }

    private static Action? Maxout(ImportState s, Match m)
    {
        var axes = Attrs.Ints(m.Root, "axes");
        if (axes is not { Length: 1 } || Attrs.Int(m.Root, "keepdims", 1) != 0)
        {
            return null;
        }

        return () =>
        {
            var x = s.Shape(m.Nodes["r"]);
            var y = Reshapes.Target(s, m.Nodes["r"], x);
            long axis = axes[0] < 0 ? axes[0] + y.Rank : axes[0];
            if (axis != y.Rank - 1 || y.Rank != x.Rank + 1 || !x.Take(x.Rank - 1).SequenceEqual(y.Take(x.Rank - 1)))
            {
                throw s.Error(m.Root, $"takes the maximum over axis {axes[0]} of {x} reshaped to {y}; maxout splits the last dimension and reduces the pieces.");
            }

            s.Apply(m.Root, new Maxout(y[^1]), [m.Values["x"]], m.Root.Output[0]);
        };
    }
}
