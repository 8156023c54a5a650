// The ONNX form of every layer type of Engine.Nn in evaluation mode (batch norm with its running statistics, dropout
// as identity), written as PyTorch's torch.onnx.export writes the same module at opset 17 where it can, so that the
// importer reads both. A layer type without a form here fails the export with the list of the ones that have one.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Nn;
using Engine.Ops;
using Onnx;
using static Engine.Onnx.Export.OnnxGraphWriter;

namespace Engine.Onnx.Export;

/// <summary>One node to write: the writer, the graph node, its input value names, and its parameters' names.</summary>
internal sealed record LayerContext(OnnxGraphWriter Writer, ModelGraphNode Node, string[] Inputs)
{
    /// <summary>The node's ONNX scope, as PyTorch writes it: "/0/conv".</summary>
    public string Scope => "/" + Node.Name.Replace('.', '/');

    public Shape InputShape(int i = 0) => Node.Inputs[i].Shape;

    public Shape OutputShape => Node.Outputs[0].Shape;

    /// <summary>The state-dict name of the layer's parameter or buffer <paramref name="local"/> (e.g. <c>0.weight</c>).</summary>
    public string Name(string local) => string.IsNullOrEmpty(Node.ModulePath) ? local : Node.ModulePath + "." + local;

    public string Op(string op, IEnumerable<string> inputs, params AttributeProto[] attributes) => Writer.Node(Scope, op, inputs, attributes);
}

/// <summary>Writes one layer use as ONNX nodes.</summary>
internal static partial class LayerExport
{
    /// <summary>The layer types with an ONNX form (for messages; the switch in <see cref="Emit"/> is the truth).</summary>
    public static IReadOnlyList<string> Supported { get; } =
    [
        nameof(Linear), nameof(Nn.Conv1d), nameof(Nn.Conv2d), nameof(Nn.ConvTranspose2d), nameof(Nn.MaxPool2d), nameof(Nn.AvgPool2d), nameof(LPPool2d),
        nameof(Nn.MedianPool2d), nameof(GlobalAvgPool), nameof(GlobalMaxPool), nameof(Nn.BatchNorm), nameof(BatchNorm1d), nameof(BatchNorm2d),
        nameof(Nn.LayerNorm), nameof(Nn.Dropout), nameof(Flatten), nameof(Nn.Unflatten), nameof(Identity), nameof(Add), nameof(Subtract),
        nameof(Multiply), nameof(Divide), nameof(Nn.Concat), nameof(Activation) + " (every row of the activation table)",
    ];

    /// <summary>Writes the node and returns the names of its outputs.</summary>
    /// <exception cref="NotSupportedException">The layer type has no ONNX form.</exception>
    public static string[] Emit(LayerContext c)
    {
        var x = c.Inputs;
        string y = c.Node.Layer switch
        {
            Linear l => Linear(c, l),
            Nn.Conv1d conv => Conv1d(c, conv),
            Nn.Conv2d conv => Conv(c, conv),
            Nn.ConvTranspose2d t => ConvTranspose(c, t),
            Nn.MaxPool2d p => c.Op("MaxPool", [x[0]], PoolAttributes(p.Options, ceil: true)),
            Nn.AvgPool2d p => c.Op("AveragePool", [x[0]], [.. PoolAttributes(p.Options, ceil: true), Attr("count_include_pad", 1L)]),
            LPPool2d p => LpPool(c, p),
            Nn.MedianPool2d p => MedianPool(c, p),
            GlobalAvgPool => c.Op("Flatten", [c.Op("GlobalAveragePool", [x[0]])], Attr("axis", 1L)),
            GlobalMaxPool => c.Op("ReduceMax", [x[0]], Ints("axes", 2, 3), Attr("keepdims", 0L)),
            Nn.BatchNorm bn => BatchNorm(c, bn),
            Nn.LayerNorm ln => LayerNorm(c, ln),
            Nn.Dropout or Identity => c.Op("Identity", [x[0]]),
            Flatten => Reshape(c),
            Nn.Unflatten u => Unflatten(c, u),
            ElementwiseBinary b => Binary(c, b),
            Nn.Concat cat => c.Op("Concat", x, Attr("axis", (long)cat.Axis)),
            Activation a => ActivationExport.Emit(c.Writer, c.Scope, x[0], a.Op, c.InputShape()),
            _ => throw new NotSupportedException(
                $"ONNX export: layer '{c.Node.Name}' ({c.Node.Layer.Describe()}, type {c.Node.Layer.GetType().Name}) has no ONNX form; supported: {string.Join(", ", Supported)}."),
        };
        return [y];
    }

    // Gemm on (N, in) as PyTorch; on (N, ..., in) MatMul with the transposed weight (kept under its name) and Add.
    private static string Linear(LayerContext c, Linear l)
    {
        string w = c.Name("weight");
        if (c.InputShape().Rank == 2)
        {
            string[] args = l.HasBias ? [c.Inputs[0], w, c.Name("bias")] : [c.Inputs[0], w];
            return c.Op("Gemm", args, Attr("alpha", 1f), Attr("beta", 1f), Attr("transB", 1L));
        }

        var y = c.Op("MatMul", [c.Inputs[0], c.Op("Transpose", [w], Ints("perm", 1, 0))]);
        return l.HasBias ? c.Op("Add", [y, c.Name("bias")]) : y;
    }

    private static string Conv(LayerContext c, Nn.Conv2d conv)
    {
        var o = conv.Options;
        var p = o.Padding.Resolve(conv.Kernel.H, conv.Kernel.W, o.Dilation.H, o.Dilation.W);
        string[] args = conv.HasBias ? [c.Inputs[0], c.Name("weight"), c.Name("bias")] : [c.Inputs[0], c.Name("weight")];
        return c.Op("Conv", args, Ints("dilations", o.Dilation.H, o.Dilation.W), Attr("group", (long)o.Groups),
            Ints("kernel_shape", conv.Kernel.H, conv.Kernel.W), Ints("pads", p.Top, p.Left, p.Bottom, p.Right), Ints("strides", o.Stride.H, o.Stride.W));
    }

    private static string ConvTranspose(LayerContext c, Nn.ConvTranspose2d t)
    {
        var o = t.Options;
        string[] args = t.HasBias ? [c.Inputs[0], c.Name("weight"), c.Name("bias")] : [c.Inputs[0], c.Name("weight")];
        return c.Op("ConvTranspose", args, Ints("dilations", o.Dilation.H, o.Dilation.W), Attr("group", (long)o.Groups),
            Ints("kernel_shape", t.Kernel.H, t.Kernel.W), Ints("output_padding", o.OutputPadding.H, o.OutputPadding.W),
            Ints("pads", o.Padding.H, o.Padding.W, o.Padding.H, o.Padding.W), Ints("strides", o.Stride.H, o.Stride.W));
    }

    private static AttributeProto[] PoolAttributes(Pool2dOptions o, bool ceil)
    {
        var s = o.Stride ?? o.Kernel;
        var a = new List<AttributeProto>
        {
            Ints("kernel_shape", o.Kernel.H, o.Kernel.W), Ints("pads", o.Padding.H, o.Padding.W, o.Padding.H, o.Padding.W), Ints("strides", s.H, s.W),
        };
        if (ceil)
        {
            a.Insert(0, Attr("ceil_mode", 0L));
        }

        return a.ToArray();
    }

    // PyTorch's lp_pool2d: (sign(a) relu(|a|) kH kW)^(1/p) with a = avg_pool(x^p).
    private static string LpPool(LayerContext c, LPPool2d p)
    {
        string s = c.Scope;
        var w = c.Writer;
        var a = c.Op("AveragePool", [c.Op("Pow", [c.Inputs[0], w.Scalar(s, (float)p.NormType)])], PoolAttributes(p.Options, ceil: true));
        var m = c.Op("Mul", [c.Op("Sign", [a]), c.Op("Relu", [c.Op("Abs", [a])])]);
        var k = c.Op("Mul", [m, w.Scalar(s, p.Options.Kernel.H * p.Options.Kernel.W)]);
        return c.Op("Pow", [k, w.Scalar(s, (float)(1.0 / p.NormType))]);
    }

    private static string BatchNorm(LayerContext c, Nn.BatchNorm bn)
    {
        long n = bn.NumFeatures;
        string scale = bn.Affine ? c.Name("weight") : c.Writer.Floats(c.Scope, [n], Enumerable.Repeat(1f, bn.NumFeatures).ToArray());
        string bias = bn.Affine ? c.Name("bias") : c.Writer.Floats(c.Scope, [n], new float[bn.NumFeatures]);
        return c.Op("BatchNormalization", [c.Inputs[0], scale, bias, c.Name("running_mean"), c.Name("running_var")],
            Attr("epsilon", bn.Eps), Attr("momentum", 1f - bn.Momentum));
    }

    private static string LayerNorm(LayerContext c, Nn.LayerNorm ln)
    {
        var dims = ln.NormalizedShape.Select(d => (long)d).ToArray();
        string[] args = ln.Affine ? [c.Inputs[0], c.Name("weight"), c.Name("bias")]
            : [c.Inputs[0], c.Writer.Floats(c.Scope, dims, Enumerable.Repeat(1f, (int)ln.NormalizedShape.Length).ToArray())];
        return c.Op("LayerNormalization", args, Attr("axis", (long)-ln.NormalizedShape.Rank), Attr("epsilon", ln.Eps));
    }

    // Flatten(1) of a tensor is ONNX Flatten(axis 1); any other flatten is a Reshape that copies the leading dimensions
    // it keeps (0), so the batch stays dynamic, or infers the batch-merged first one (-1).
    private static string Reshape(LayerContext c)
    {
        Shape i = c.InputShape(), o = c.OutputShape;
        if (o.Rank == 2 && o[0] == i[0])
        {
            return c.Op("Flatten", [c.Inputs[0]], Attr("axis", 1L));
        }

        int kept = 0;
        while (kept < o.Rank - 1 && kept < i.Rank && i[kept] == o[kept])
        {
            kept++;
        }

        var target = o.Select((d, k) => k < kept ? 0L : d).ToArray();
        if (kept == 0)
        {
            target[0] = -1;
        }

        return c.Op("Reshape", [c.Inputs[0], c.Writer.Int64s(c.Scope, target)]);
    }
}
