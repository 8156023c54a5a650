// Values known while importing: weights and constants (float32) and shape arithmetic (int64 vectors whose batch-
// dependent elements are unknown). PyTorch computes the target of x.view(x.size(0), -1) with Shape, Gather,
// Unsqueeze and Concat (and Mul for x.size(1) * x.size(2)); evaluating those here leaves a Reshape with a known target that maps to a Flatten layer.
using System;
using System.Collections.Generic;
using System.Linq;
using Onnx;

namespace Engine.Onnx.Import;

/// <summary>A value known at import time: float data, or int64 data where null marks an element that depends on the batch.</summary>
internal sealed record StaticValue(long[] Dims, float[]? Floats, long?[]? Ints)
{
    public long Count => TensorData.Count(Dims);

    public static StaticValue Of(long[] dims, float[] data) => new(dims, data, null);

    public static StaticValue Of(long[] dims, long?[] data) => new(dims, null, data);

    /// <summary>A float tensor of one element (any rank), as PyTorch writes scalars.</summary>
    public bool IsScalar(out float value)
    {
        value = Floats is { Length: 1 } f ? f[0] : float.NaN;
        return Floats is { Length: 1 };
    }

    /// <summary>Whether every element is <paramref name="v"/>.</summary>
    public bool All(float v) => Floats is { } f && f.All(x => x == v);
}

/// <summary>Evaluates the nodes whose inputs are all known (constants and shape arithmetic).</summary>
internal static class StaticValues
{
    /// <summary>The op types this evaluates.</summary>
    public static IReadOnlyList<string> Ops { get; } = ["Concat", "Constant", "Gather", "Identity", "Mul", "Shape", "Slice", "Unsqueeze"];

    /// <summary>The value of <paramref name="n"/>'s output, or null when it is not known at import time.</summary>
    public static StaticValue? TryEvaluate(ImportState s, NodeProto n)
    {
        bool Known(int i) => i >= n.Input.Count || n.Input[i].Length == 0 || s.Statics.ContainsKey(n.Input[i]);
        StaticValue In(int i) => s.Statics[n.Input[i]];
        StaticValue? Opt(int i) => i < n.Input.Count && n.Input[i].Length > 0 ? s.Statics[n.Input[i]] : null;
        if (n.OpType == "Constant")
        {
            return Constant(s, n);
        }

        if (n.OpType == "Shape" && n.Input.Count == 1 && (s.Shapes.ContainsKey(n.Input[0]) || s.Statics.ContainsKey(n.Input[0])))
        {
            // The batch (dimension 0) of a computed value is unknown: the imported model takes any batch.
            var dims = s.Shapes.TryGetValue(n.Input[0], out var shape) ? shape.Select((d, k) => k == 0 ? (long?)null : d).ToArray()
                : s.Statics[n.Input[0]].Dims.Select(d => (long?)d).ToArray();
            long r = dims.Length, start = Norm(Attrs.Int(n, "start", 0), r), end = Norm(Attrs.Int(n, "end", r), r);
            var sliced = dims[(int)Math.Clamp(start, 0, r)..(int)Math.Clamp(Math.Max(start, end), 0, r)];
            return StaticValue.Of([sliced.Length], sliced);
        }

        if (!Enumerable.Range(0, n.Input.Count).All(Known) || n.Input.Count == 0 || !s.Statics.ContainsKey(n.Input[0]))
        {
            return null;
        }

        return n.OpType switch
        {
            "Identity" => In(0),
            "Concat" => Concat(s, n, n.Input.Select(i => s.Statics[i]).ToList()),
            "Gather" => Gather(s, n, In(0), In(1)),
            "Unsqueeze" => Reshape(In(0), Unsqueeze(In(0).Dims, Axes(s, n, Opt(1)))),
            "Mul" => Multiply(s, n, In(0), In(1)),
            "Slice" => Slice(s, n, In(0), In(1), In(2), Opt(3), Opt(4)),
            _ => null,
        };
    }

    /// <summary>The value of a Constant node.</summary>
    public static StaticValue Constant(ImportState s, NodeProto n)
    {
        var a = n.Attribute.Count == 1 ? n.Attribute[0] : throw s.Error(n, "needs exactly one value attribute.");
        string where = $"{s.File.Source}: {OnnxFile.Describe(n)} value";
        return a.Name switch
        {
            "value" when a.T is { } t => TensorData.IsFloat(t) ? StaticValue.Of(TensorData.Dims(t, where), TensorData.Floats(t, where))
                : StaticValue.Of(TensorData.Dims(t, where), TensorData.Int64s(t, where).Select(v => (long?)v).ToArray()),
            "value_float" => StaticValue.Of([], [a.F]),
            "value_floats" => StaticValue.Of([a.Floats.Count], a.Floats.ToArray()),
            "value_int" => StaticValue.Of([], [(long?)a.I]),
            "value_ints" => StaticValue.Of([a.Ints.Count], a.Ints.Select(v => (long?)v).ToArray()),
            _ => throw s.Error(n, $"has a '{a.Name}' attribute; the importer reads value, value_float(s) and value_int(s)."),
        };
    }

    private static long Norm(long axis, long rank) => axis < 0 ? axis + rank : axis;

    private static StaticValue Reshape(StaticValue v, long[] dims) => v with { Dims = dims };

    private static long[] Axes(ImportState s, NodeProto n, StaticValue? input)
    {
        var axes = input?.Ints?.Select(a => a ?? throw s.Error(n, "has unknown axes.")).ToArray() ?? Attrs.Ints(n, "axes");
        return axes ?? [];
    }

    private static long[] Unsqueeze(long[] dims, long[] axes)
    {
        long r = dims.Length + axes.Length;
        var norm = axes.Select(a => Norm(a, r)).Order().ToArray();
        var list = dims.ToList();
        foreach (long a in norm)
        {
            list.Insert((int)Math.Clamp(a, 0, list.Count), 1);
        }

        return list.ToArray();
    }

    // x.size(1) * x.size(2): products of shape elements (unknown when either is), or of known floats.
    private static StaticValue Multiply(ImportState s, NodeProto n, StaticValue a, StaticValue b)
    {
        if ((a.Floats is null) != (b.Floats is null) || (a.Count != b.Count && a.Count != 1 && b.Count != 1))
        {
            throw s.Error(n, "multiplies known values of different types or sizes.");
        }

        var big = a.Count >= b.Count ? a : b;
        int count = (int)big.Count;
        return a.Floats is not null
            ? new StaticValue(big.Dims, Enumerable.Range(0, count).Select(i => a.Floats[a.Count == 1 ? 0 : i] * b.Floats![b.Count == 1 ? 0 : i]).ToArray(), null)
            : new StaticValue(big.Dims, null, Enumerable.Range(0, count).Select(i => a.Ints![a.Count == 1 ? 0 : i] * b.Ints![b.Count == 1 ? 0 : i]).ToArray());
    }

    private static StaticValue Concat(ImportState s, NodeProto n, List<StaticValue> parts)
    {
        if (parts.Any(p => p.Dims.Length != 1) || parts.Select(p => p.Floats is null).Distinct().Count() != 1)
        {
            throw s.Error(n, "concatenates known values that are not 1-D vectors of one type.");
        }

        return parts[0].Floats is not null
            ? StaticValue.Of([parts.Sum(p => p.Count)], parts.SelectMany(p => p.Floats!).ToArray())
            : StaticValue.Of([parts.Sum(p => p.Count)], parts.SelectMany(p => p.Ints!).ToArray());
    }

    private static StaticValue Gather(ImportState s, NodeProto n, StaticValue data, StaticValue indices)
    {
        if (data.Dims.Length != 1 || Attrs.Int(n, "axis", 0) != 0 || indices.Ints is null || indices.Dims.Length > 1)
        {
            throw s.Error(n, "gathers from a known value other than a 1-D vector along axis 0.");
        }

        long len = data.Count;
        var idx = indices.Ints.Select(i => i is { } v && v >= -len && v < len ? (int)(v < 0 ? v + len : v)
            : throw s.Error(n, $"has index {i} outside [0, {len}).")).ToArray();
        return data.Floats is not null ? new StaticValue(indices.Dims, idx.Select(i => data.Floats[i]).ToArray(), null)
            : new StaticValue(indices.Dims, null, idx.Select(i => data.Ints![i]).ToArray());
    }

    private static StaticValue Slice(ImportState s, NodeProto n, StaticValue data, StaticValue starts, StaticValue ends, StaticValue? axes, StaticValue? steps)
    {
        long Single(StaticValue? v, long dflt) => v is null ? dflt
            : v.Ints is { Length: 1 } i && i[0] is { } x ? x : throw s.Error(n, "slices with other than one known start, end, axis and step.");
        if (data.Dims.Length != 1 || Single(axes, 0) != 0)
        {
            throw s.Error(n, "slices a known value other than a 1-D vector.");
        }

        long len = data.Count, step = Single(steps, 1);
        if (step != 1)
        {
            throw s.Error(n, $"slices with step {step}; only step 1 is read.");
        }

        long b = Single(starts, 0), e = Single(ends, len);
        b = Math.Clamp(b < 0 ? b + len : b, 0, len);
        e = Math.Clamp(e < 0 ? e + len : e, 0, len);
        int from = (int)b, to = (int)Math.Max(b, e);
        return data.Floats is not null ? StaticValue.Of([to - from], data.Floats[from..to]) : StaticValue.Of([to - from], data.Ints![from..to]);
    }
}
