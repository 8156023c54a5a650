// The ONNX forms of the 1-D convolution, the broadcasting binary layers, global max pooling, Unflatten and median
// pooling. Median pooling has no ONNX op: each window's elements are gathered by strided Slices, stacked on a new last
// axis, and the median is the largest of the (k + 1) / 2 smallest (TopK, ReduceMax); the importer does not read it back.
using System;
using System.Linq;
using Engine.Nn;
using Engine.Ops;
using static Engine.Onnx.Export.OnnxGraphWriter;

namespace Engine.Onnx.Export;

/// <summary>The layers of the second wave of ops.</summary>
internal static partial class LayerExport
{
    private static string Conv1d(LayerContext c, Nn.Conv1d conv)
    {
        var o = conv.Options;
        int k = conv.Kernel.W, total = o.Dilation * (k - 1);
        var (left, right) = o.SamePadding ? (total / 2, total - (total / 2)) : (o.Padding, o.Padding);
        string[] args = conv.HasBias ? [c.Inputs[0], c.Name("weight"), c.Name("bias")] : [c.Inputs[0], c.Name("weight")];
        return c.Op("Conv", args, Ints("dilations", o.Dilation), Attr("group", (long)o.Groups), Ints("kernel_shape", k), Ints("pads", left, right),
            Ints("strides", o.Stride));
    }

    private static string Binary(LayerContext c, ElementwiseBinary b) => c.Op(b.Op switch
    {
        BinaryOp.Add => "Add",
        BinaryOp.Subtract => "Sub",
        BinaryOp.Multiply => "Mul",
        BinaryOp.Divide => "Div",
        _ => throw new NotSupportedException($"ONNX export: layer '{c.Node.Name}' is the binary op {b.Op}, which has no ONNX form."),
    }, [c.Inputs[0], c.Inputs[1]]);

    // A Reshape that copies the dimensions before the split one (0) and names the rest; a split of the batch itself
    // is written with the compiled sizes (the batch can no longer vary).
    private static string Unflatten(LayerContext c, Nn.Unflatten u)
    {
        Shape i = c.InputShape(), o = c.OutputShape;
        int d = u.Dim < 0 ? u.Dim + i.Rank : u.Dim;
        var target = o.Select((n, k) => k < d ? 0L : n).ToArray();
        return c.Op("Reshape", [c.Inputs[0], c.Writer.Int64s(c.Scope, target)]);
    }

    // (N, C, H, W) -> (N, C, OH, OW): window offset (i, j) is x[:, :, i::sh, j::sw] cut to OH x OW; the k offsets are
    // stacked on axis 4 and the median is the largest of the (k + 1) / 2 smallest, as torch.median picks it.
    private static string MedianPool(LayerContext c, Nn.MedianPool2d p)
    {
        var o = p.Options;
        var s = o.Stride ?? o.Kernel;
        Shape y = c.OutputShape;
        int oh = y[2], ow = y[3], k = o.Kernel.H * o.Kernel.W;
        var w = c.Writer;
        string axes = w.Int64s(c.Scope, 2, 3), steps = w.Int64s(c.Scope, s.H, s.W), last = w.Int64s(c.Scope, 4);
        var taps = new string[k];
        for (int i = 0; i < o.Kernel.H; i++)
        {
            for (int j = 0; j < o.Kernel.W; j++)
            {
                var slice = c.Op("Slice", [c.Inputs[0], w.Int64s(c.Scope, i, j), w.Int64s(c.Scope, i + (s.H * (oh - 1)) + 1, j + (s.W * (ow - 1)) + 1), axes, steps]);
                taps[(i * o.Kernel.W) + j] = c.Op("Unsqueeze", [slice, last]);
            }
        }

        var stacked = c.Op("Concat", taps, Attr("axis", 4L));
        var smallest = w.Nodes(c.Scope, "TopK", 2, [stacked, w.Int64s(c.Scope, (k + 1) / 2)], Attr("axis", -1L), Attr("largest", 0L), Attr("sorted", 1L))[0];
        return c.Op("ReduceMax", [smallest], Ints("axes", 4), Attr("keepdims", 0L));
    }
}
