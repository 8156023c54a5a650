// The target of an ONNX Reshape in terms of the engine's batch-agnostic models: dimension 0 must stay the batch
// (0 or an unknown element copy it, -1 infers it, or the file's fixed batch size names it), and the rest must hold
// the input's other elements. A target that merges a range of dimensions is a Flatten layer.
using System;
using System.Linq;
using Engine.Nn;
using Onnx;

namespace Engine.Onnx.Import;

/// <summary>Resolves Reshape targets.</summary>
internal static class Reshapes
{
    /// <summary>The output shape of Reshape node <paramref name="n"/> on input shape <paramref name="x"/> (batch first).</summary>
    public static Shape Target(ImportState s, NodeProto n, Shape x)
    {
        if (Attrs.Int(n, "allowzero", 0) != 0)
        {
            throw s.Error(n, "has allowzero set; the importer reads PyTorch's reshapes (0 copies a dimension).");
        }

        if (!s.Statics.TryGetValue(n.Input.Count > 1 ? n.Input[1] : string.Empty, out var shape) || shape.Ints is null || shape.Dims.Length != 1)
        {
            throw s.Error(n, "has a target shape that is not a known 1-D INT64 vector.");
        }

        var t = shape.Ints;
        long rest = x.Length / x[0];
        if (t.Length == 0 || t.Skip(1).Any(d => d is null))
        {
            throw s.Error(n, $"has target [{Text(t)}]; only the first (batch) dimension may depend on the input's batch.");
        }

        // Dimension 0: the batch, however it is written.
        bool batch = t[0] is null or 0 || (s.Batch.Fixed && t[0] == s.Batch.Size) || t[0] == -1;
        if (!batch)
        {
            throw s.Error(n, $"has target [{Text(t)}] whose first dimension is not the batch.");
        }

        var dims = new long[t.Length];
        int infer = t[0] == -1 ? 0 : -1;
        for (int i = 1; i < t.Length; i++)
        {
            long d = t[i]!.Value;
            if (d == -1)
            {
                if (infer >= 0)
                {
                    throw s.Error(n, $"has target [{Text(t)}] with two inferred dimensions.");
                }

                infer = i;
            }
            else if (d == 0)
            {
                dims[i] = i < x.Rank ? x[i] : throw s.Error(n, $"copies dimension {i} that {x} does not have.");
            }
            else if (d > 0)
            {
                dims[i] = d;
            }
            else
            {
                throw s.Error(n, $"has target [{Text(t)}] with a negative dimension.");
            }
        }

        long known = dims.Skip(1).Where((d, i) => i + 1 != infer).Aggregate(1L, (a, b) => a * b);
        if (infer > 0)
        {
            dims[infer] = known > 0 && rest % known == 0 ? rest / known : throw s.Error(n, $"cannot infer a dimension of [{Text(t)}] for {x}.");
        }
        else if (known != rest)
        {
            throw s.Error(n, $"reshapes {x} to [{Text(t)}], which does not keep the batch and hold the other {rest} elements per sample.");
        }

        dims[0] = x[0];
        return new Shape(dims.Select(d => checked((int)d)).ToArray());
    }

    /// <summary>The Flatten(start, end) layer that turns <paramref name="x"/> into <paramref name="y"/>, or null.</summary>
    public static Layer? AsFlatten(Shape x, Shape y)
    {
        for (int a = 1; a < x.Rank; a++)
        {
            for (int b = a + 1; b < x.Rank; b++)
            {
                var merged = x.Take(a).Append((int)x.Product(a, b + 1)).Concat(x.Skip(b + 1));
                if (merged.SequenceEqual(y))
                {
                    return new Nn.Flatten(a, b);
                }
            }
        }

        return null;
    }

    private static string Text(long?[] t) => string.Join(", ", t.Select(d => d?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "batch"));
}
