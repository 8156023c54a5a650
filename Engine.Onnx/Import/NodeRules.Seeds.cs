// The node rules for the second wave of layers: Sub, Mul and Div (with Add) of two computed tensors as the broadcasting
// binary layers, a 1-D Conv as Conv1d (symmetric pads, or PyTorch's "same" with the odd element on the right), and a
// Reshape that splits one dimension as Unflatten.
using System.Linq;
using Engine.Nn;
using Engine.Ops;
using Onnx;

namespace Engine.Onnx.Import;

/// <summary>Binary layers, Conv1d and Unflatten.</summary>
internal static partial class NodeRules
{
    // A constant operand belongs to a sequence (GELU's Div by sqrt 2, a bias Add after MatMul), never to a binary layer.
    private static NodeRule Binary(System.Func<ElementwiseBinary> layer) => (s, n) =>
    {
        Attrs.Only(s, n);
        if (!s.IsDynamic(n.Input[0]) || !s.IsDynamic(n.Input[1]))
        {
            var layers = PatternRules.LayersUsing(n.OpType);
            throw s.Error(n, $"has a constant operand; the importer reads {n.OpType} of two computed tensors" +
                (layers.Count > 0 ? $", or with a constant inside the sequences PyTorch writes for {string.Join(", ", layers)} (this one matches none)." : "."));
        }

        s.Apply(n, layer(), [n.Input[0], n.Input[1]], n.Output[0]);
    };

    private static void Conv1d(ImportState s, NodeProto n, StaticValue w)
    {
        int groups = (int)Attrs.Int(n, "group", 1), k = (int)w.Dims[2];
        long[] stride = Attrs.Ints(n, "strides") ?? [1], dilation = Attrs.Ints(n, "dilations") ?? [1], pads = Attrs.Ints(n, "pads") ?? [0, 0];
        if (stride.Length != 1 || dilation.Length != 1 || pads.Length != 2 || Attrs.Str(n, "auto_pad", "NOTSET") != "NOTSET")
        {
            throw s.Error(n, $"is a 1-D convolution with strides [{string.Join(", ", stride)}], dilations [{string.Join(", ", dilation)}], pads [{string.Join(", ", pads)}] or auto_pad; expected one stride, one dilation, two pads.");
        }

        long total = dilation[0] * (k - 1);
        bool same = pads[0] != pads[1] && stride[0] == 1 && pads[0] + pads[1] == total && pads[0] == total / 2;
        if (pads[0] != pads[1] && !same)
        {
            throw s.Error(n, $"has pads [{pads[0]}, {pads[1]}]; Conv1d pads both ends alike, or as \"same\" (stride 1, the odd element on the right).");
        }

        var options = new Conv1dOptions { Stride = (int)stride[0], Dilation = (int)dilation[0], Groups = groups, Padding = same ? 0 : (int)pads[0], SamePadding = same };
        var ps = WeightAndBias(s, n, w.Floats!, (int)w.Dims[0]);
        Place(s, n, new Nn.Conv1d((int)w.Dims[1] * groups, (int)w.Dims[0], k, options, ps.Count > 1), ps);
    }

    /// <summary>The Unflatten layer that splits one dimension (not the batch) of <paramref name="x"/> into <paramref name="y"/>'s, or null.</summary>
    private static Nn.Unflatten? AsUnflatten(Shape x, Shape y)
    {
        for (int d = 1; d < x.Rank; d++)
        {
            int parts = y.Rank - x.Rank + 1;
            if (parts >= 2 && x.Take(d).SequenceEqual(y.Take(d)) && x.Skip(d + 1).SequenceEqual(y.Skip(d + parts)) && y.Product(d, d + parts) == x[d])
            {
                return new Nn.Unflatten(d, y.Skip(d).Take(parts).ToArray());
            }
        }

        return null;
    }
}
