// The ONNX form of every row of the activation table, keyed by the row's key (ActivationDefinition.Key, "softmax",
// "log_softmax", "maxout"). A row without an entry fails the export by name, and a test checks that every row of
// ActivationTable.All has one, so a new activation cannot silently miss export. Where PyTorch writes a primitive
// sequence at opset 17 (GELU, SiLU, Mish, softplus with beta), the same sequence is written, so the importer reads
// both with one pattern.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Ops;
using static Engine.Onnx.Export.OnnxGraphWriter;

namespace Engine.Onnx.Export;

/// <summary>Writes an activation as ONNX nodes: input value x, returns the output value.</summary>
internal delegate string ActivationEmitter(OnnxGraphWriter w, string scope, string x, IActivationOp op, Shape input);

/// <summary>The ONNX emitters of the activation table's rows.</summary>
internal static class ActivationExport
{
    /// <summary>PyTorch's default softplus threshold: above it the engine returns x, which ONNX's Softplus matches to 2e-9.</summary>
    private const float TorchSoftplusThreshold = 20f;

    /// <summary>Emitters by row key.</summary>
    public static IReadOnlyDictionary<string, ActivationEmitter> Emitters { get; } = new Dictionary<string, ActivationEmitter>(StringComparer.Ordinal)
    {
        ["relu"] = (w, s, x, _, _) => w.Node(s, "Relu", [x]),
        ["sigmoid"] = (w, s, x, _, _) => w.Node(s, "Sigmoid", [x]),
        ["tanh"] = (w, s, x, _, _) => w.Node(s, "Tanh", [x]),
        ["leaky_relu"] = (w, s, x, op, _) => w.Node(s, "LeakyRelu", [x], Attr("alpha", Param(op, "alpha"))),
        ["elu"] = (w, s, x, op, _) => w.Node(s, "Elu", [x], Attr("alpha", Param(op, "alpha"))),
        ["hardswish"] = (w, s, x, _, _) => w.Node(s, "HardSwish", [x]),
        ["gelu"] = Gelu,
        ["gelu_tanh"] = GeluTanh,
        ["swish"] = Swish,
        ["softplus"] = Softplus,
        ["mish"] = (w, s, x, _, _) => w.Node(s, "Mul", [x, w.Node(s, "Tanh", [w.Node(s, "Softplus", [x])])]),
        [ActivationTable.SoftmaxName] = (w, s, x, op, _) => w.Node(s, "Softmax", [x], Attr("axis", (long)((SoftmaxSpec)op).Axis)),
        [ActivationTable.LogSoftmaxName] = (w, s, x, op, _) => w.Node(s, "LogSoftmax", [x], Attr("axis", (long)((SoftmaxSpec)op).Axis)),
        [ActivationTable.MaxoutName] = Maxout,
    };

    /// <summary>The key of <paramref name="op"/>'s table row.</summary>
    public static string KeyOf(IActivationOp op) => op is ActivationSpec spec ? spec.Definition.Key : op.Op;

    /// <summary>Writes <paramref name="op"/> on <paramref name="x"/>.</summary>
    /// <exception cref="NotSupportedException">The activation's row has no ONNX form.</exception>
    public static string Emit(OnnxGraphWriter w, string scope, string x, IActivationOp op, Shape input)
    {
        string key = KeyOf(op);
        return Emitters.TryGetValue(key, out var emit)
            ? emit(w, scope, x, op, input)
            : throw new NotSupportedException($"ONNX export: activation '{key}' ({op}) has no ONNX form; rows with one: {string.Join(", ", Emitters.Keys.Order(StringComparer.Ordinal))}.");
    }

    private static float Param(IActivationOp op, string name) => ((ActivationSpec)op).Parameter(name);

    // x * Phi(x) = (x * (erf(x / sqrt 2) + 1)) * 0.5, PyTorch's sequence below opset 20.
    private static string Gelu(OnnxGraphWriter w, string s, string x, IActivationOp op, Shape input)
    {
        var erf = w.Node(s, "Erf", [w.Node(s, "Div", [x, w.Scalar(s, (float)Math.Sqrt(2.0))])]);
        var t = w.Node(s, "Mul", [x, w.Node(s, "Add", [erf, w.Scalar(s, 1f)])]);
        return w.Node(s, "Mul", [t, w.Scalar(s, 0.5f)]);
    }

    // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), PyTorch's sequence.
    private static string GeluTanh(OnnxGraphWriter w, string s, string x, IActivationOp op, Shape input)
    {
        var cube = w.Node(s, "Mul", [x, w.Node(s, "Mul", [x, x])]);
        var inner = w.Node(s, "Add", [x, w.Node(s, "Mul", [w.Scalar(s, 0.044715f), cube])]);
        var th = w.Node(s, "Tanh", [w.Node(s, "Mul", [w.Scalar(s, (float)Math.Sqrt(2.0 / Math.PI)), inner])]);
        var t = w.Node(s, "Mul", [x, w.Node(s, "Add", [w.Scalar(s, 1f), th])]);
        return w.Node(s, "Mul", [w.Scalar(s, 0.5f), t]);
    }

    // x * sigmoid(beta x); SiLU (beta 1) is PyTorch's Sigmoid, Mul.
    private static string Swish(OnnxGraphWriter w, string s, string x, IActivationOp op, Shape input)
    {
        float beta = Param(op, "beta");
        var arg = beta == 1f ? x : w.Node(s, "Mul", [x, w.Scalar(s, beta)]);
        return w.Node(s, "Mul", [x, w.Node(s, "Sigmoid", [arg])]);
    }

    // log(1 + e^(beta x)) / beta (PyTorch: Mul, Softplus, Div; Softplus alone at beta 1); above a non-default threshold
    // the engine returns x, written as Where(beta x > threshold, x, softplus).
    private static string Softplus(OnnxGraphWriter w, string s, string x, IActivationOp op, Shape input)
    {
        float beta = Param(op, "beta"), threshold = Param(op, "threshold");
        var bx = beta == 1f ? x : w.Node(s, "Mul", [x, w.Scalar(s, beta)]);
        var sp = w.Node(s, "Softplus", [bx]);
        if (beta != 1f)
        {
            sp = w.Node(s, "Div", [sp, w.Scalar(s, beta)]);
        }

        return threshold == TorchSoftplusThreshold ? sp
            : w.Node(s, "Where", [w.Node(s, "Greater", [bx, w.Scalar(s, threshold)]), x, sp]);
    }

    // (..., F * k) -> (..., F, k) -> max over the last axis.
    private static string Maxout(OnnxGraphWriter w, string s, string x, IActivationOp op, Shape input)
    {
        int k = ((MaxoutSpec)op).Pieces;
        var shape = Enumerable.Repeat(0L, input.Rank - 1).Append(-1L).Append(k).ToArray();
        var r = w.Node(s, "Reshape", [x, w.Int64s(s, shape)]);
        return w.Node(s, "ReduceMax", [r], Ints("axes", -1L), Attr("keepdims", 0L));
    }
}
