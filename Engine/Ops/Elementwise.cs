// General element-wise ops the graph needs: residual add (also with a ReLU folded in) and its backward, gradient accumulation, scale, copy,
// and the bias add of linear layers (any axis) with its backward (a per-channel sum).
using System;
using Engine.Backends.Cpu;
using Engine.Backends.Kernel;
using Engine.Dispatch;
using Engine.Kernels.Elementwise;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Ops;

/// <summary>y = a + b over equal shapes.</summary>
internal delegate void AddImpl(Tensor a, Tensor b, Tensor y);

/// <summary>g = relu'(y) * dy, then da (=|+=) g and db (=|+=) g (either may be null).</summary>
internal delegate void AddReluBackwardImpl(Tensor y, Tensor dy, Tensor? da, Tensor? db, bool accumulateA, bool accumulateB);

/// <summary>A scalar-times-tensor op: accumulate (y += alpha * x) or scale (y = alpha * x).</summary>
internal delegate void AxpyImpl(Tensor x, Tensor y, float alpha);

/// <summary>y += bias broadcast along one axis of y seen as (outer, F, Inner).</summary>
internal delegate void BiasImpl(Tensor y, Tensor bias, BiasParams p);

/// <summary>dbias[f] (=|+=) sum over outer and inner of dy[o, f, i].</summary>
internal delegate void BiasBackwardImpl(Tensor dy, Tensor dbias, BiasParams p, bool accumulate);

/// <summary>
/// Element-wise ops on equal shapes (no broadcasting except the bias). Variants of each op: <c>kernel.elementwise</c>
/// (ILGPU, one thread per element) and <c>host.simd</c> (TensorPrimitives, parallel in 64K-element chunks).
/// Bias backward: <c>kernel.reduce</c> (two-stage channel sums) and <c>host.simd</c>.
/// </summary>
public static class Elementwise
{
    /// <summary>y = a + b.</summary>
    internal static readonly OpRegistry<AddImpl> AddRegistry = new OpRegistry<AddImpl>("add")
        .Register("kernel.elementwise", ComputePath.Kernels, KernelAdd, "ILGPU: one thread per element")
        .Register("host.simd", ComputePath.Host, CpuElementwise.Add, "TensorPrimitives.Add, parallel chunks");

    /// <summary>y = relu(a + b).</summary>
    internal static readonly OpRegistry<AddImpl> AddReluRegistry = new OpRegistry<AddImpl>("add_relu")
        .Register("kernel.elementwise", ComputePath.Kernels, KernelAddRelu, "ILGPU: the add kernel, then the relu op's kernel in place")
        .Register("host.simd", ComputePath.Host, CpuAddRelu.Forward, "one SIMD sweep, parallel chunks");

    /// <summary>Backward of add_relu.</summary>
    internal static readonly OpRegistry<AddReluBackwardImpl> AddReluBackwardRegistry = new OpRegistry<AddReluBackwardImpl>("add_relu_backward")
        .Register("kernel.elementwise", ComputePath.Kernels, KernelAddReluBackward, "ILGPU: the relu op's backward kernel into a rented buffer, then add's backward")
        .Register("host.simd", ComputePath.Host, CpuAddRelu.Backward, "one SIMD sweep writing both input gradients, parallel chunks");

    /// <summary>y += alpha * x.</summary>
    internal static readonly OpRegistry<AxpyImpl> AccumulateRegistry = new OpRegistry<AxpyImpl>("accumulate")
        .Register("kernel.elementwise", ComputePath.Kernels, KernelAccumulate, "ILGPU: one thread per element")
        .Register("host.simd", ComputePath.Host, CpuElementwise.Accumulate, "TensorPrimitives.MultiplyAdd, parallel chunks");

    /// <summary>y = alpha * x.</summary>
    internal static readonly OpRegistry<AxpyImpl> ScaleRegistry = new OpRegistry<AxpyImpl>("scale")
        .Register("kernel.elementwise", ComputePath.Kernels, (x, y, alpha) => ElementwiseLaunchers.Scale(x.Device, x.View, y.View, alpha), "ILGPU: one thread per element")
        .Register("host.simd", ComputePath.Host, CpuElementwise.Scale, "TensorPrimitives.Multiply, parallel chunks");

    /// <summary>y += bias along an axis.</summary>
    internal static readonly OpRegistry<BiasImpl> BiasRegistry = new OpRegistry<BiasImpl>("bias_add")
        .Register("kernel.elementwise", ComputePath.Kernels, KernelBias, "ILGPU: one thread per element, bias[(i / inner) % F]")
        .Register("host.simd", ComputePath.Host, CpuElementwise.AddBias, "TensorPrimitives.Add per row or per (outer, f) segment");

    /// <summary>dbias = sum of dy over every axis but the bias axis.</summary>
    internal static readonly OpRegistry<BiasBackwardImpl> BiasBackwardRegistry = new OpRegistry<BiasBackwardImpl>("bias_backward")
        .Register("kernel.reduce", ComputePath.Kernels, KernelBiasBackward, "ILGPU: two-stage per-channel sums (column kernels when inner < 32)")
        .Register("host.simd", ComputePath.Host, CpuElementwise.BiasBackward, "TensorPrimitives sums, parallel over column blocks or channels");

    /// <summary>y = a + b (the residual connection). Shapes must be equal; y may be a or b.</summary>
    /// <exception cref="ArgumentException">Shapes or devices differ.</exception>
    public static void Add(Tensor a, Tensor b, Tensor y, string? variant = null)
    {
        CheckAdd(a, b, y, "add");
        AddRegistry.Select(a.Device, variant)(a, b, y);
    }

    /// <summary>
    /// Backward of <see cref="Add"/>: both inputs get dy. Writes (or, with <paramref name="accumulate"/>, adds) dy
    /// into <paramref name="da"/> and <paramref name="db"/>; either may be null (not needed) or dy itself (no copy).
    /// </summary>
    /// <exception cref="ArgumentException">Shapes or devices differ.</exception>
    public static void AddBackward(Tensor dy, Tensor? da, Tensor? db, bool accumulate = false)
    {
        ArgumentNullException.ThrowIfNull(dy);
        PassGradient(dy, da, nameof(da), accumulate);
        PassGradient(dy, db, nameof(db), accumulate);
    }

    /// <summary>
    /// y = relu(a + b): a residual add with the ReLU after it folded in (the same numbers as <see cref="Add"/> then
    /// <c>Activations</c>' relu, in one sweep on the host path). Shapes must be equal; y may be a or b.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes or devices differ.</exception>
    public static void AddRelu(Tensor a, Tensor b, Tensor y, string? variant = null)
    {
        CheckAdd(a, b, y, "add_relu");
        AddReluRegistry.Select(a.Device, variant)(a, b, y);
    }

    /// <summary>
    /// Backward of <see cref="AddRelu"/> from its output y: g = relu'(y) * dy (ReLU's derivative at the output equals that
    /// at its input); writes g, or adds it where the accumulate flag is set, into <paramref name="da"/> and
    /// <paramref name="db"/> (either may be null; they may be one tensor, then its flag for db is the accumulating one). dy is not changed.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes or devices differ, or da or db is dy itself.</exception>
    public static void AddReluBackward(Tensor y, Tensor dy, Tensor? da, Tensor? db, bool accumulateA = false, bool accumulateB = false, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(dy);
        Same(y, dy, "add_relu_backward", nameof(y), nameof(dy));
        OwnGradient(y, dy, da, nameof(da));
        OwnGradient(y, dy, db, nameof(db));
        AddReluBackwardRegistry.Select(y.Device, variant)(y, dy, da, db, accumulateA, accumulateB);
    }

    /// <summary>dst += alpha * src (gradient accumulation when a tensor feeds several consumers).</summary>
    /// <exception cref="ArgumentException">Shapes or devices differ, or alpha is not finite.</exception>
    public static void Accumulate(Tensor dst, Tensor src, float alpha = 1f, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(dst);
        ArgumentNullException.ThrowIfNull(src);
        Same(dst, src, "accumulate", nameof(dst), nameof(src));
        TensorChecks.Finite(alpha, "accumulate", nameof(alpha));
        AccumulateRegistry.Select(dst.Device, variant)(src, dst, alpha);
    }

    /// <summary>y = alpha * x (y may be x).</summary>
    /// <exception cref="ArgumentException">Shapes or devices differ.</exception>
    public static void Scale(Tensor x, Tensor y, float alpha, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        Same(x, y, "scale", nameof(x), nameof(y));
        ScaleRegistry.Select(x.Device, variant)(x, y, alpha);
    }

    /// <summary>dst = src (device to device). Shapes must be equal.</summary>
    /// <exception cref="ArgumentException">Shapes or devices differ.</exception>
    public static void Copy(Tensor src, Tensor dst)
    {
        ArgumentNullException.ThrowIfNull(src);
        ArgumentNullException.ThrowIfNull(dst);
        Same(src, dst, "copy", nameof(src), nameof(dst));
        if (!SameMemory(src, dst))
        {
            dst.CopyFrom(src);
        }
    }

    /// <summary>
    /// y += bias broadcast along <paramref name="axis"/> of y (negative counts from the end): the row bias of a linear
    /// layer is axis -1 on (N, F), a per-channel bias axis 1 on (N, C, H, W). bias is [size of that axis].
    /// </summary>
    /// <exception cref="ArgumentException">The axis is out of range, or bias does not match it.</exception>
    public static void AddBias(Tensor y, Tensor bias, int axis = -1, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(bias);
        var p = DescribeBias(y, bias, axis, "bias_add", nameof(y), nameof(bias));
        BiasRegistry.Select(y.Device, variant)(y, bias, p);
    }

    /// <summary>
    /// Backward of <see cref="AddBias"/>: dbias[f] = sum of dy over every other axis (db[f] = sum_n dy[n, f] for a row
    /// bias); added to dbias when <paramref name="accumulate"/>. (dy itself is y's gradient, passed through.)
    /// </summary>
    /// <exception cref="ArgumentException">The axis is out of range, or dbias does not match it.</exception>
    public static void BiasBackward(Tensor dy, Tensor dbias, int axis = -1, bool accumulate = false, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(dy);
        ArgumentNullException.ThrowIfNull(dbias);
        var p = DescribeBias(dy, dbias, axis, "bias_backward", nameof(dy), nameof(dbias));
        BiasBackwardRegistry.Select(dy.Device, variant)(dy, dbias, p, accumulate);
    }

    private static void PassGradient(Tensor dy, Tensor? d, string name, bool accumulate)
    {
        if (d is null)
        {
            return;
        }

        if (SameMemory(d, dy))
        {
            if (accumulate)
            {
                throw new ArgumentException($"add_backward: {name} is dy itself; it cannot also accumulate dy.", name);
            }

            return;
        }

        Same(dy, d, "add_backward", nameof(dy), name);
        if (accumulate)
        {
            Accumulate(d, dy);
        }
        else
        {
            d.CopyFrom(dy);
        }
    }

    internal static bool SameMemory(Tensor a, Tensor b) => a.Buffer == b.Buffer && a.Offset == b.Offset;

    private static void Same(Tensor a, Tensor b, string op, string aName, string bName)
    {
        if (b.Shape != a.Shape)
        {
            // The message is built only on failure: warm calls allocate nothing.
            TensorChecks.SameShape(b, a.Shape, op, bName, $"the shape of {aName}");
        }

        TensorChecks.OnDevice(b, a.Device, op, bName);
        TensorChecks.Indexable(a, op, aName);
    }

    private static BiasParams DescribeBias(Tensor y, Tensor bias, int axis, string op, string yName, string biasName)
    {
        int ax = axis < 0 ? axis + y.Rank : axis;
        if (y.Rank < 1 || ax < 0 || ax >= y.Rank)
        {
            throw new ArgumentOutOfRangeException(nameof(axis), axis, $"{op}: axis {axis} is outside {yName} {y.Shape} (rank {y.Rank}).");
        }

        if (bias.Rank != 1 || bias.Length != y.Shape[ax])
        {
            throw new ArgumentException($"{op}: {biasName} is {bias.Shape} but must be [{y.Shape[ax]}] (axis {axis} of {yName} {y.Shape}).", biasName);
        }

        TensorChecks.OnDevice(bias, y.Device, op, biasName);
        TensorChecks.Indexable(y, op, yName);
        return new BiasParams { F = y.Shape[ax], Inner = (int)y.Shape.Product(ax + 1, y.Rank) };
    }

    private static void KernelAdd(Tensor a, Tensor b, Tensor y)
    {
        var device = a.Device;
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>>(
            "elementwise.add", static acc => acc.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(ArithmeticKernels.Add));
        k(device.Stream, (int)y.Length, a.View, b.View, y.View);
    }

    private static void KernelAddRelu(Tensor a, Tensor b, Tensor y)
    {
        KernelAdd(a, b, y);
        Activations.Forward(ActivationSpec.Relu, y, y);
    }

    private static void KernelAddReluBackward(Tensor y, Tensor dy, Tensor? da, Tensor? db, bool accumulateA, bool accumulateB)
    {
        // g = relu'(y) * dy (the relu op's own backward) into a rented buffer, so dy stays as it is; then add's backward of g.
        var device = y.Device;
        using var scratch = device.Allocator.Rent(y.Length * sizeof(float));
        var g = scratch.View<float>(0, y.Length);
        var relu = ActivationSpec.Relu;
        relu.Definition.BackwardRegistry!.Select(device, null)(device, y.View, y.View, dy.View, g, relu.Params);
        HandOn(device, g, da, accumulateA);
        HandOn(device, g, db, accumulateB);
    }

    private static void HandOn(Device device, ArrayView<float> g, Tensor? d, bool accumulate)
    {
        if (d is null)
        {
            return;
        }

        if (accumulate)
        {
            Axpy(device, g, d.View, 1f);
        }
        else
        {
            g.CopyTo(device.Stream, d.View);
        }
    }

    private static void CheckAdd(Tensor a, Tensor b, Tensor y, string op)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(y);
        Same(a, b, op, nameof(a), nameof(b));
        Same(a, y, op, nameof(a), nameof(y));
    }

    private static void OwnGradient(Tensor y, Tensor dy, Tensor? d, string name)
    {
        if (d is null)
        {
            return;
        }

        Same(y, d, "add_relu_backward", nameof(y), name);
        if (SameMemory(d, dy))
        {
            throw new ArgumentException($"add_relu_backward: {name} is dy itself; it must be its own tensor.", name);
        }
    }

    private static void KernelAccumulate(Tensor x, Tensor y, float alpha) => Axpy(x.Device, x.View, y.View, alpha);

    private static void Axpy(Device device, ArrayView<float> x, ArrayView<float> y, float alpha)
    {
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, float>>(
            "elementwise.axpy", static acc => acc.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, float>(ArithmeticKernels.Axpy));
        k(device.Stream, (int)y.Length, x, y, alpha);
    }

    private static void KernelBias(Tensor y, Tensor bias, BiasParams p)
    {
        var device = y.Device;
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, BiasParams>>(
            "elementwise.bias_add", static acc => acc.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, BiasParams>(ArithmeticKernels.AddBias));
        k(device.Stream, (int)y.Length, y.View, bias.View, p);
    }

    private static void KernelBiasBackward(Tensor dy, Tensor dbias, BiasParams p, bool accumulate)
    {
        var device = dy.Device;
        int outer = (int)(dy.Length / ((long)p.F * p.Inner));
        var plan = ReducePlan.Create(device, outer, p.F, p.Inner, hasX: false);
        using var scratch = device.Allocator.Rent(plan.SumsScratch * sizeof(float));
        var v = dy.View;
        plan.Sums(device, v, v, v, v, scratch.View<float>(0, plan.SumsScratch), null, dbias.View, writeSums: false, accumulate);
    }
}
