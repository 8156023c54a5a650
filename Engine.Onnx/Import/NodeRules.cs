// One ONNX node that maps to one engine layer: Gemm to Linear, Conv to Conv2d (Conv1d: NodeRules.Seeds.cs), BatchNormalization
// to BatchNorm with its running statistics, the pools, Concat, Flatten, Reshape of a flatten (or Unflatten), Add, Sub, Mul
// and Div of two computed tensors, the activations
// ONNX has as single ops, and Identity (the same tensor; PyTorch writes no Dropout in eval mode). Settings the engine cannot represent
// are errors naming the node, never silently dropped.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Nn;
using Engine.Ops;
using Onnx;
using BatchNorm = Engine.Nn.BatchNorm;
using Conv2d = Engine.Nn.Conv2d;
using ConvTranspose2d = Engine.Nn.ConvTranspose2d;
using LayerNorm = Engine.Nn.LayerNorm;

namespace Engine.Onnx.Import;

/// <summary>Imports one node (its layer goes into the state's graph).</summary>
internal delegate void NodeRule(ImportState s, NodeProto n);

/// <summary>The single-node rules by op type.</summary>
internal static partial class NodeRules
{
    public static IReadOnlyDictionary<string, NodeRule> All { get; } = new Dictionary<string, NodeRule>(StringComparer.Ordinal)
    {
        ["Gemm"] = Gemm,
        ["Conv"] = Conv,
        ["ConvTranspose"] = ConvTranspose,
        ["BatchNormalization"] = BatchNormalization,
        ["MaxPool"] = MaxPool,
        ["AveragePool"] = (s, n) => AveragePool(s, n, n.Input[0], (0, 0)),
        ["ReduceMean"] = (s, n) => GlobalPool(s, n, new GlobalAvgPool()),
        ["ReduceMax"] = (s, n) => GlobalPool(s, n, new GlobalMaxPool()),
        ["Concat"] = (s, n) =>
        {
            Attrs.Only(s, n, "axis");
            s.Apply(n, new Nn.Concat((int)Attrs.Int(n, "axis", 0), n.Input.Count), n.Input, n.Output[0]);
        },
        ["Flatten"] = Flatten,
        ["Reshape"] = Reshape,
        ["Add"] = Binary(() => new Nn.Add()),
        ["Sub"] = Binary(() => new Subtract()),
        ["Mul"] = Binary(() => new Multiply()),
        ["Div"] = Binary(() => new Divide()),
        ["LayerNormalization"] = LayerNormalization,
        ["Relu"] = Act("relu"),
        ["Sigmoid"] = Act("sigmoid"),
        ["Tanh"] = Act("tanh"),
        ["Softplus"] = Act("softplus"),
        ["HardSwish"] = Act("hardswish"),
        ["LeakyRelu"] = (s, n) => Apply(s, n, "leaky_relu", Attrs.Only, ("alpha", (double)Attrs.Float(n, "alpha", 0.01f))),
        ["Elu"] = (s, n) => Apply(s, n, "elu", Attrs.Only, ("alpha", (double)Attrs.Float(n, "alpha", 1f))),
        ["Softmax"] = (s, n) => Apply(s, n, ActivationTable.SoftmaxName, Attrs.Only, ("axis", (int)Attrs.Int(n, "axis", -1))),
        ["LogSoftmax"] = (s, n) => Apply(s, n, ActivationTable.LogSoftmaxName, Attrs.Only, ("axis", (int)Attrs.Int(n, "axis", -1))),
        ["Identity"] = (s, n) => s.Alias(n, n.Input[0], n.Output[0]),
    };

    private static NodeRule Act(string name) => (s, n) => Apply(s, n, name, Attrs.Only);

    private static void Apply(ImportState s, NodeProto n, string name, Action<ImportState, NodeProto, string[]> only, params (string Key, object Value)[] settings)
    {
        only(s, n, settings.Select(p => p.Key).ToArray());
        s.Apply(n, Activation.Named(name, settings), [n.Input[0]], n.Output[0]);
    }

    private static void Gemm(ImportState s, NodeProto n)
    {
        Attrs.Only(s, n, "alpha", "beta", "transA", "transB");
        if (Attrs.Float(n, "alpha", 1f) != 1f || Attrs.Float(n, "beta", 1f) != 1f || Attrs.Int(n, "transA", 0) != 0)
        {
            throw s.Error(n, "has alpha or beta other than 1 or transA set; the importer reads Gemm as a linear layer (x W^T + b).");
        }

        var w = s.Static(n, 1, "weight");
        if (w.Dims.Length != 2 || w.Floats is null)
        {
            throw s.Error(n, $"has a weight of shape [{string.Join(", ", w.Dims)}]; a linear layer's is 2-D float32.");
        }

        bool transB = Attrs.Int(n, "transB", 0) != 0;
        int outF = (int)(transB ? w.Dims[0] : w.Dims[1]), inF = (int)(transB ? w.Dims[1] : w.Dims[0]);
        var ps = new List<ParamValue> { new("weight", n.Input[1], transB ? w.Floats : Transpose(w.Floats, inF, outF)) };
        if (n.Input.Count > 2 && n.Input[2].Length > 0)
        {
            var b = s.Floats(n, 2, "bias");
            ps.Add(b.Length == outF ? new ParamValue("bias", n.Input[2], b) : throw s.Error(n, $"has a bias of {b.Length} values for {outF} outputs."));
        }

        Place(s, n, new Linear(inF, outF, ps.Count > 1), ps);
    }

    /// <summary>A linear layer from a weight of shape (in, out) as MatMul reads it, or (out, in) under Transpose.</summary>
    public static void MatMulLinear(ImportState s, NodeProto n, string x, string weight, bool transposed, string? bias)
    {
        var w = s.Statics[weight];
        if (w.Dims.Length != 2 || w.Floats is null)
        {
            throw s.Error(n, $"multiplies by a known value of shape [{string.Join(", ", w.Dims)}]; a linear layer's weight is 2-D float32.");
        }

        int outF = (int)(transposed ? w.Dims[0] : w.Dims[1]), inF = (int)(transposed ? w.Dims[1] : w.Dims[0]);
        var ps = new List<ParamValue> { new("weight", weight, transposed ? w.Floats : Transpose(w.Floats, inF, outF)) };
        if (bias is not null)
        {
            var b = s.Statics[bias].Floats;
            ps.Add(b?.Length == outF ? new ParamValue("bias", bias, b) : throw s.Error(n, $"adds a bias that is not {outF} float32 values."));
        }

        var layer = s.Modules.Place(n, new Linear(inF, outF, bias is not null), ps);
        s.Apply(n, layer, [x], n.Output[0]);
    }

    private static void Conv(ImportState s, NodeProto n)
    {
        Attrs.Only(s, n, "auto_pad", "dilations", "group", "kernel_shape", "pads", "strides");
        var w = s.Static(n, 1, "weight");
        var x = s.Shape(n);
        if (w.Dims.Length == 3 && w.Floats is not null && x.Rank == 3)
        {
            Conv1d(s, n, w);
            return;
        }

        if (w.Dims.Length != 4 || w.Floats is null || x.Rank != 4)
        {
            throw s.Error(n, $"is a convolution with a weight of shape [{string.Join(", ", w.Dims)}] on input {x}; the importer reads 1-D and 2-D convolutions (NCL, NCHW).");
        }

        int groups = (int)Attrs.Int(n, "group", 1);
        (int H, int W) k = ((int)w.Dims[2], (int)w.Dims[3]), stride = Pair(s, n, "strides", 1), dilation = Pair(s, n, "dilations", 1);
        var pads = Pads(s, n, x, k, stride, dilation);
        var options = new Conv2dOptions { Stride = stride, Dilation = dilation, Groups = groups, Padding = new ConvPadding(pads[0], pads[1], pads[2], pads[3]) };
        var ps = WeightAndBias(s, n, w.Floats, (int)w.Dims[0]);
        Place(s, n, new Conv2d((int)w.Dims[1] * groups, (int)w.Dims[0], k, options, ps.Count > 1), ps);
    }

    private static void ConvTranspose(ImportState s, NodeProto n)
    {
        Attrs.Only(s, n, "auto_pad", "dilations", "group", "kernel_shape", "output_padding", "pads", "strides");
        var w = s.Static(n, 1, "weight");
        if (w.Dims.Length != 4 || w.Floats is null || Attrs.Str(n, "auto_pad", "NOTSET") != "NOTSET")
        {
            throw s.Error(n, $"is a transposed convolution with a weight of shape [{string.Join(", ", w.Dims)}] or auto_pad; the importer reads 2-D ones with explicit pads.");
        }

        var p = Attrs.Ints(n, "pads") ?? [0, 0, 0, 0];
        if (p.Length != 4 || p[0] != p[2] || p[1] != p[3])
        {
            throw s.Error(n, $"has pads [{string.Join(", ", p)}]; a transposed convolution's padding is the same at both ends of an axis.");
        }

        int groups = (int)Attrs.Int(n, "group", 1), outC = (int)w.Dims[1] * groups;
        var options = new ConvTranspose2dOptions
        {
            Stride = Pair(s, n, "strides", 1), Dilation = Pair(s, n, "dilations", 1), OutputPadding = Pair(s, n, "output_padding", 0),
            Groups = groups, Padding = ((int)p[0], (int)p[1]),
        };
        var ps = WeightAndBias(s, n, w.Floats, outC);
        Place(s, n, new ConvTranspose2d((int)w.Dims[0], outC, ((int)w.Dims[2], (int)w.Dims[3]), options, ps.Count > 1), ps);
    }

    private static void BatchNormalization(ImportState s, NodeProto n)
    {
        Attrs.Only(s, n, "epsilon", "momentum", "training_mode");
        if (Attrs.Int(n, "training_mode", 0) != 0 || !s.OnlyFirstOutputUsed(n))
        {
            throw s.Error(n, "is in training mode; export the model in eval mode (model.eval()).");
        }

        float[] scale = s.Floats(n, 1, "scale"), bias = s.Floats(n, 2, "bias"), mean = s.Floats(n, 3, "running mean"), var = s.Floats(n, 4, "running variance");
        int c = mean.Length;
        if (scale.Length != c || bias.Length != c || var.Length != c)
        {
            throw s.Error(n, $"has scale, bias, mean and variance of {scale.Length}, {bias.Length}, {c} and {var.Length} values; expected one per channel.");
        }

        bool affine = IsParameter(n.Input[1], "weight") || IsParameter(n.Input[2], "bias") || !(scale.All(v => v == 1f) && bias.All(v => v == 0f));
        var ps = new List<ParamValue> { new("running_mean", n.Input[3], mean), new("running_var", n.Input[4], var) };
        if (affine)
        {
            ps.InsertRange(0, [new ParamValue("weight", n.Input[1], scale), new ParamValue("bias", n.Input[2], bias)]);
        }

        Place(s, n, new BatchNorm(c, Attrs.Float(n, "epsilon", 1e-5f), 1f - Attrs.Float(n, "momentum", 0.9f), affine), ps);
    }

    private static void LayerNormalization(ImportState s, NodeProto n)
    {
        Attrs.Only(s, n, "axis", "epsilon", "stash_type");
        var x = s.Shape(n);
        int axis = (int)Attrs.Int(n, "axis", -1);
        axis = axis < 0 ? axis + x.Rank : axis;
        if (axis < 1 || axis >= x.Rank || !s.OnlyFirstOutputUsed(n))
        {
            throw s.Error(n, $"normalizes from axis {axis} of {x} or uses its mean or variance outputs; the importer reads layer norm over trailing dimensions.");
        }

        var shape = new Shape(x.Skip(axis).ToArray());
        var scale = s.Floats(n, 1, "scale");
        float[]? bias = n.Input.Count > 2 && n.Input[2].Length > 0 ? s.Floats(n, 2, "bias") : null;
        string? biasName = bias is null ? null : n.Input[2];
        LayerNormFrom(s, n, n.Input[0], shape, Attrs.Float(n, "epsilon", 1e-5f), (n.Input[1], scale), biasName is null ? null : (biasName, bias!));
    }

    /// <summary>A LayerNorm over <paramref name="shape"/> with optional scale and bias (non-affine when both are absent or 1 and 0 and not named as parameters).</summary>
    public static void LayerNormFrom(ImportState s, NodeProto n, string x, Shape shape, float eps, (string Name, float[] Data)? scale, (string Name, float[] Data)? bias)
    {
        if ((scale is { } sc && sc.Data.Length != shape.Length) || (bias is { } bb && bb.Data.Length != shape.Length))
        {
            throw s.Error(n, $"has a scale or bias that is not of the normalized shape {shape}.");
        }

        bool affine = (scale is { } w && (IsParameter(w.Name, "weight") || w.Data.Any(v => v != 1f))) || (bias is { } b && (IsParameter(b.Name, "bias") || b.Data.Any(v => v != 0f)));
        var ps = new List<ParamValue>();
        if (affine)
        {
            ps.Add(new ParamValue("weight", scale?.Name ?? n.Output[0] + ".weight", scale?.Data ?? Enumerable.Repeat(1f, (int)shape.Length).ToArray()));
            ps.Add(new ParamValue("bias", bias?.Name ?? ps[0].Value[..^"weight".Length] + "bias", bias?.Data ?? new float[shape.Length]));
        }

        var layer = s.Modules.Place(n, new LayerNorm(shape, eps, affine), ps);
        s.Apply(n, layer, [x], n.Output[0]);
    }

    private static void MaxPool(ImportState s, NodeProto n)
    {
        Attrs.Only(s, n, "auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides");
        if ((Attrs.Ints(n, "dilations") ?? [1, 1]).Any(d => d != 1) || Attrs.Int(n, "storage_order", 0) != 0 || !s.OnlyFirstOutputUsed(n))
        {
            throw s.Error(n, "has dilations, a storage order or uses its indices output; the importer reads plain max pooling.");
        }

        var (k, stride, pad) = Pool(s, n);
        s.Apply(n, new Nn.MaxPool2d(k, stride, pad), [n.Input[0]], n.Output[0]);
    }

    /// <summary>Average pooling (count_include_pad) with <paramref name="extra"/> zero padding from a Pad before it.</summary>
    public static void AveragePool(ImportState s, NodeProto n, string x, (int H, int W) extra)
    {
        Attrs.Only(s, n, "auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides");
        var (k, stride, pad) = Pool(s, n);
        if (pad != (0, 0) && Attrs.Int(n, "count_include_pad", 0) == 0)
        {
            throw s.Error(n, "pads without count_include_pad; the engine's average pooling counts the padding (PyTorch's default).");
        }

        s.Apply(n, new Nn.AvgPool2d(k, stride, (pad.H + extra.H, pad.W + extra.W)), [x], n.Output[0]);
    }

    // ReduceMean / ReduceMax over axes 2, 3 of NCHW without keepdims: x.mean((2, 3)) and x.amax((2, 3)).
    private static void GlobalPool(ImportState s, NodeProto n, Layer pool)
    {
        Attrs.Only(s, n, "axes", "keepdims");
        var x = s.Shape(n);
        var axes = (Attrs.Ints(n, "axes") ?? []).Select(a => a < 0 ? a + x.Rank : a).Order().ToArray();
        if (x.Rank != 4 || !axes.SequenceEqual([2L, 3L]) || Attrs.Int(n, "keepdims", 1) != 0)
        {
            throw s.Error(n, $"reduces axes [{string.Join(", ", axes)}] of {x}; alone, {n.OpType} is read as global pooling (axes 2, 3 of NCHW, keepdims 0).");
        }

        s.Apply(n, pool, [n.Input[0]], n.Output[0]);
    }

    private static void Flatten(ImportState s, NodeProto n)
    {
        Attrs.Only(s, n, "axis");
        var x = s.Shape(n);
        long axis = Attrs.Int(n, "axis", 1);
        if ((axis < 0 ? axis + x.Rank : axis) != 1)
        {
            throw s.Error(n, $"flattens {x} at axis {axis}; only axis 1 keeps the batch.");
        }

        s.Apply(n, new Nn.Flatten(), [n.Input[0]], n.Output[0]);
    }

    private static void Reshape(ImportState s, NodeProto n)
    {
        Attrs.Only(s, n, "allowzero");
        var x = s.Shape(n);
        var target = Reshapes.Target(s, n, x);
        if (target.SequenceEqual(x))
        {
            s.Alias(n, n.Input[0], n.Output[0]);
            return;
        }

        var flat = Reshapes.AsFlatten(x, target) ?? AsUnflatten(x, target) ?? throw s.Error(n,
            $"reshapes {x} to {target}; the importer reads a reshape that flattens a range of dimensions, one that splits a dimension (Unflatten), or maxout's split before ReduceMax.");
        s.Apply(n, flat, [n.Input[0]], n.Output[0]);
    }

    private static List<ParamValue> WeightAndBias(ImportState s, NodeProto n, float[] w, int outputs)
    {
        var ps = new List<ParamValue> { new("weight", n.Input[1], w) };
        if (n.Input.Count > 2 && n.Input[2].Length > 0)
        {
            var b = s.Floats(n, 2, "bias");
            ps.Add(b.Length == outputs ? new ParamValue("bias", n.Input[2], b) : throw s.Error(n, $"has a bias of {b.Length} values for {outputs} output channels."));
        }

        return ps;
    }

    private static void Place(ImportState s, NodeProto n, Layer layer, List<ParamValue> ps) =>
        s.Apply(n, s.Modules.Place(n, layer, ps), [n.Input[0]], n.Output[0]);

    private static bool IsParameter(string value, string local) => value.EndsWith("." + local, StringComparison.Ordinal);

    private static float[] Transpose(float[] a, int rows, int cols)
    {
        var t = new float[a.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                t[(c * rows) + r] = a[(r * cols) + c];
            }
        }

        return t;
    }

    private static (int H, int W) Pair(ImportState s, NodeProto n, string name, int fallback)
    {
        var v = Attrs.Ints(n, name) ?? [fallback, fallback];
        return v.Length == 2 ? ((int)v[0], (int)v[1]) : throw s.Error(n, $"has {name} [{string.Join(", ", v)}]; expected two values (2-D).");
    }

    // Explicit pads [top, left, bottom, right], or SAME_UPPER / SAME_LOWER resolved for the input's size.
    private static int[] Pads(ImportState s, NodeProto n, Shape x, (int H, int W) k, (int H, int W) stride, (int H, int W) dilation)
    {
        string auto = Attrs.Str(n, "auto_pad", "NOTSET");
        if (auto is "SAME_UPPER" or "SAME_LOWER")
        {
            int Total(int size, int kk, int st, int d) => Math.Max(0, ((((size + st) - 1) / st) - 1) * st + ((kk - 1) * d) + 1 - size);
            int th = Total(x[2], k.H, stride.H, dilation.H), tw = Total(x[3], k.W, stride.W, dilation.W);
            return auto == "SAME_UPPER" ? [th / 2, tw / 2, th - (th / 2), tw - (tw / 2)] : [th - (th / 2), tw - (tw / 2), th / 2, tw / 2];
        }

        var p = auto == "VALID" ? [0, 0, 0, 0] : Attrs.Ints(n, "pads") ?? [0, 0, 0, 0];
        return auto is "NOTSET" or "VALID" && p.Length == 4 ? p.Select(v => (int)v).ToArray()
            : throw s.Error(n, $"has auto_pad {auto} and pads [{string.Join(", ", p)}]; expected 4 pads.");
    }

    private static ((int H, int W) Kernel, (int H, int W) Stride, (int H, int W) Pad) Pool(ImportState s, NodeProto n)
    {
        var k = Attrs.Ints(n, "kernel_shape");
        var p = Attrs.Ints(n, "pads") ?? [0, 0, 0, 0];
        if (k is not { Length: 2 } || p.Length != 4 || p[0] != p[2] || p[1] != p[3] || Attrs.Int(n, "ceil_mode", 0) != 0 || Attrs.Str(n, "auto_pad", "NOTSET") != "NOTSET")
        {
            throw s.Error(n, $"has kernel [{string.Join(", ", k ?? [])}], pads [{string.Join(", ", p)}], ceil mode or auto_pad; the importer reads 2-D pooling with the same padding at both ends of an axis, floor mode.");
        }

        return (((int)k[0], (int)k[1]), Pair(s, n, "strides", 1), ((int)p[0], (int)p[1]));
    }
}
