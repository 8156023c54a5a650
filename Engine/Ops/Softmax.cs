// Softmax and log-softmax along any axis: validation, dispatch table and the kernel-path launchers (a thread per
// line for short axes, a group per line for long ones); the host path is Backends/Cpu/CpuSoftmax.
using System;
using Engine.Backends.Cpu;
using Engine.Dispatch;
using Engine.Kernels.Activations;
using Engine.Backends.Kernel;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Ops;

/// <summary>An implementation of the softmax forward.</summary>
internal delegate void SoftmaxForwardImpl(Device device, ArrayView<float> x, ArrayView<float> y, SoftmaxParams p);

/// <summary>An implementation of the softmax backward (from y and dy).</summary>
internal delegate void SoftmaxBackwardImpl(Device device, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, SoftmaxParams p);

/// <summary>Softmax or log-softmax along one axis as an activation layer (immutable).</summary>
public sealed class SoftmaxSpec : IActivationOp
{
    /// <summary>Creates the layer; <paramref name="axis"/> may be negative (counted from the end).</summary>
    public SoftmaxSpec(int axis, bool log)
    {
        Axis = axis;
        Log = log;
    }

    /// <summary>The axis (negative counts from the end).</summary>
    public int Axis { get; }

    /// <summary>Whether this is log-softmax.</summary>
    public bool Log { get; }

    /// <inheritdoc />
    public string Op => Log ? ActivationTable.LogSoftmaxName : ActivationTable.SoftmaxName;

    /// <inheritdoc />
    public ActivationInput BackwardReads => ActivationInput.Output;

    /// <inheritdoc />
    public Shape OutputShape(Shape input)
    {
        SoftmaxOp.Describe(input, Axis, Log);
        return input;
    }

    /// <inheritdoc />
    public void Forward(Tensor x, Tensor y, string? variant = null) => SoftmaxOp.Forward(x, y, Axis, Log, variant);

    /// <inheritdoc />
    public void Backward(Tensor x, Tensor y, Tensor dy, Tensor dx, string? variant = null) => SoftmaxOp.Backward(y, dy, dx, Axis, Log, variant);

    /// <inheritdoc />
    public void Tangent(Tensor x, Tensor y, Tensor dx, Tensor dy, string? variant = null) => SoftmaxOp.Tangent(y, dx, dy, Axis, Log, variant);

    /// <inheritdoc />
    public override string ToString() => $"{Op}(axis={Axis})";
}

/// <summary>
/// Numerically stable softmax and log-softmax along any axis (huge logits, -inf-like spreads). Backward uses only y:
/// softmax dx = y (dy - sum(dy y)), log-softmax dx = dy - exp(y) sum(dy). Variants: <c>kernel.auto</c> (default:
/// <c>kernel.group</c> for axes of <see cref="GroupThreshold"/> or more, else <c>kernel.line</c>), <c>kernel.line</c>,
/// <c>kernel.group</c>, <c>host.simd</c>.
/// </summary>
public static class SoftmaxOp
{
    /// <summary>Axis length from which <c>kernel.auto</c> uses a group per line.</summary>
    public const int GroupThreshold = 128;

    /// <summary>Forward implementations.</summary>
    internal static readonly OpRegistry<SoftmaxForwardImpl> ForwardRegistry = new OpRegistry<SoftmaxForwardImpl>("softmax.forward")
        .Register("kernel.auto", ComputePath.Kernels, LaunchForwardAuto, "ILGPU: kernel.group for long axes, kernel.line otherwise", isDefault: true)
        .Register("kernel.line", ComputePath.Kernels, LaunchForwardLine, "ILGPU kernel: one thread per line, three passes")
        .Register("kernel.group", ComputePath.Kernels, LaunchForwardGroup, "ILGPU kernel: one group per line, shared-memory max and sum")
        .Register("host.simd", ComputePath.Host, CpuSoftmax.Forward, "managed SIMD (TensorPrimitives) per contiguous line, strided lines scalar; all cores");

    /// <summary>Backward implementations.</summary>
    internal static readonly OpRegistry<SoftmaxBackwardImpl> BackwardRegistry = new OpRegistry<SoftmaxBackwardImpl>("softmax.backward")
        .Register("kernel.auto", ComputePath.Kernels, LaunchBackwardAuto, "ILGPU: kernel.group for long axes, kernel.line otherwise", isDefault: true)
        .Register("kernel.line", ComputePath.Kernels, LaunchBackwardLine, "ILGPU kernel: one thread per line")
        .Register("kernel.group", ComputePath.Kernels, LaunchBackwardGroup, "ILGPU kernel: one group per line, shared-memory sum")
        .Register("host.simd", ComputePath.Host, CpuSoftmax.Backward, "managed SIMD (TensorPrimitives) per contiguous line, strided lines scalar; all cores");

    /// <summary>Tangent (forward-mode) implementations.</summary>
    internal static readonly OpRegistry<SoftmaxBackwardImpl> TangentRegistry = new OpRegistry<SoftmaxBackwardImpl>("softmax.tangent")
        .Register("kernel.line", ComputePath.Kernels, LaunchTangentLine, "ILGPU kernel: one thread per line")
        .Register("host.parallel", ComputePath.Host, CpuSoftmax.Tangent, "managed loop per line, all cores");

    /// <summary>y = softmax(x) (or log-softmax) along <paramref name="axis"/>; x and y have the same shape.</summary>
    /// <exception cref="ArgumentException">Shapes differ or the axis is out of range.</exception>
    public static void Forward(Tensor x, Tensor y, int axis = -1, bool log = false, string? variant = null)
    {
        string op = log ? "log_softmax" : "softmax";
        Activations.SameShape(op, x, nameof(x), y, nameof(y));
        var p = Describe(x.Shape, axis, log);
        ForwardRegistry.Select(x.Device, variant)(x.Device, x.View, y.View, p);
    }

    /// <summary>dx from y = softmax(x) (or log-softmax) and dy, along <paramref name="axis"/>.</summary>
    /// <exception cref="ArgumentException">Shapes differ or the axis is out of range.</exception>
    public static void Backward(Tensor y, Tensor dy, Tensor dx, int axis = -1, bool log = false, string? variant = null)
    {
        string op = log ? "log_softmax" : "softmax";
        Activations.SameShape(op, y, nameof(y), dy, nameof(dy));
        Activations.SameShape(op, y, nameof(y), dx, nameof(dx));
        var p = Describe(y.Shape, axis, log);
        BackwardRegistry.Select(y.Device, variant)(y.Device, y.View, dy.View, dx.View, p);
    }

    /// <summary>
    /// Forward mode: the tangent dy of y = softmax(x) (or log-softmax) along the input tangent dx: with s = softmax(x),
    /// softmax dy = s (dx - sum(s dx)), log-softmax dy = dx - sum(s dx). From y alone, like the backward.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes differ or the axis is out of range.</exception>
    public static void Tangent(Tensor y, Tensor dx, Tensor dy, int axis = -1, bool log = false, string? variant = null)
    {
        string op = log ? "log_softmax" : "softmax";
        Activations.SameShape(op, y, nameof(y), dx, nameof(dx));
        Activations.SameShape(op, y, nameof(y), dy, nameof(dy));
        var p = Describe(y.Shape, axis, log);
        TangentRegistry.Select(y.Device, variant)(y.Device, y.View, dx.View, dy.View, p);
    }

    /// <summary>Splits <paramref name="shape"/> into (outer, axis, inner) around <paramref name="axis"/>.</summary>
    /// <exception cref="ArgumentException">The axis is outside [-rank, rank).</exception>
    public static SoftmaxParams Describe(Shape shape, int axis, bool log)
    {
        ArgumentNullException.ThrowIfNull(shape);
        int r = shape.Rank;
        if (axis < -r || axis >= r || r == 0)
        {
            throw new ArgumentException($"{(log ? "log_softmax" : "softmax")}: axis {axis} is out of range for {shape} (rank {r}); expected -{r} <= axis < {r}.", nameof(axis));
        }

        int a = axis < 0 ? axis + r : axis;
        return new SoftmaxParams
        {
            Outer = checked((int)shape.Product(0, a)),
            Axis = shape[a],
            Inner = checked((int)shape.Product(a + 1, r)),
            Log = log ? 1 : 0,
        };
    }

    /// <summary>Launches <see cref="SoftmaxKernels.ForwardLine"/>.</summary>
    internal static void LaunchForwardLine(Device device, ArrayView<float> x, ArrayView<float> y, SoftmaxParams p)
    {
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, SoftmaxParams>>(
            "softmax.forward.line", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, SoftmaxParams>(SoftmaxKernels.ForwardLine));
        k(device.Stream, p.Outer * p.Inner, x, y, p);
    }

    /// <summary>Launches <see cref="SoftmaxKernels.BackwardLine"/>.</summary>
    internal static void LaunchBackwardLine(Device device, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, SoftmaxParams p)
    {
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, SoftmaxParams>>(
            "softmax.backward.line", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, SoftmaxParams>(SoftmaxKernels.BackwardLine));
        k(device.Stream, p.Outer * p.Inner, y, dy, dx, p);
    }

    /// <summary>Launches <see cref="SoftmaxKernels.TangentLine"/>.</summary>
    internal static void LaunchTangentLine(Device device, ArrayView<float> y, ArrayView<float> dx, ArrayView<float> dy, SoftmaxParams p)
    {
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, SoftmaxParams>>(
            "softmax.tangent.line", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, SoftmaxParams>(SoftmaxKernels.TangentLine));
        k(device.Stream, p.Outer * p.Inner, y, dx, dy, p);
    }

    /// <summary>Launches <see cref="SoftmaxKernels.ForwardGroup"/>.</summary>
    internal static void LaunchForwardGroup(Device device, ArrayView<float> x, ArrayView<float> y, SoftmaxParams p)
    {
        var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, SoftmaxParams>>(
            "softmax.forward.group", static a => a.LoadKernel<ArrayView<float>, ArrayView<float>, SoftmaxParams>(SoftmaxKernels.ForwardGroup));
        k(device.Stream, new KernelConfig(p.Outer * p.Inner, LaunchShapes.GroupSize(device, p.Axis)), x, y, p);
    }

    /// <summary>Launches <see cref="SoftmaxKernels.BackwardGroup"/>.</summary>
    internal static void LaunchBackwardGroup(Device device, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, SoftmaxParams p)
    {
        var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, SoftmaxParams>>(
            "softmax.backward.group", static a => a.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, SoftmaxParams>(SoftmaxKernels.BackwardGroup));
        k(device.Stream, new KernelConfig(p.Outer * p.Inner, LaunchShapes.GroupSize(device, p.Axis)), y, dy, dx, p);
    }

    private static void LaunchForwardAuto(Device device, ArrayView<float> x, ArrayView<float> y, SoftmaxParams p)
    {
        if (p.Axis >= GroupThreshold)
        {
            LaunchForwardGroup(device, x, y, p);
        }
        else
        {
            LaunchForwardLine(device, x, y, p);
        }
    }

    private static void LaunchBackwardAuto(Device device, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, SoftmaxParams p)
    {
        if (p.Axis >= GroupThreshold)
        {
            LaunchBackwardGroup(device, y, dy, dx, p);
        }
        else
        {
            LaunchBackwardLine(device, y, dy, dx, p);
        }
    }
}
