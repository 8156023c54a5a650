// Maxout: the maximum over groups of k consecutive features (the last axis), forward and backward, with the
// gradient going to the first maximum of each group as torch's max does.
using System;
using Engine.Backends.Cpu;
using Engine.Dispatch;
using Engine.Kernels.Activations;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Ops;

/// <summary>An implementation of the maxout forward (x: outputs * pieces elements, y: outputs).</summary>
internal delegate void MaxoutForwardImpl(Device device, ArrayView<float> x, ArrayView<float> y, int pieces);

/// <summary>An implementation of the maxout backward (x and dx: outputs * pieces elements, dy: outputs).</summary>
internal delegate void MaxoutBackwardImpl(Device device, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dx, int pieces);

/// <summary>Maxout with k pieces as an activation layer (immutable).</summary>
public sealed class MaxoutSpec : IActivationOp
{
    /// <summary>Creates the layer.</summary>
    /// <exception cref="ArgumentException"><paramref name="pieces"/> is not positive.</exception>
    public MaxoutSpec(int pieces)
    {
        if (pieces <= 0)
        {
            throw new ArgumentException($"maxout: pieces must be positive, got {pieces}.", nameof(pieces));
        }

        Pieces = pieces;
    }

    /// <summary>Pieces k per output feature.</summary>
    public int Pieces { get; }

    /// <inheritdoc />
    public string Op => ActivationTable.MaxoutName;

    /// <inheritdoc />
    public ActivationInput BackwardReads => ActivationInput.Input;

    /// <inheritdoc />
    public Shape OutputShape(Shape input) => MaxoutOp.OutputShape(input, Pieces);

    /// <inheritdoc />
    public void Forward(Tensor x, Tensor y, string? variant = null) => MaxoutOp.Forward(x, y, Pieces, variant);

    /// <inheritdoc />
    public void Backward(Tensor x, Tensor y, Tensor dy, Tensor dx, string? variant = null) => MaxoutOp.Backward(x, dy, dx, Pieces, variant);

    /// <inheritdoc />
    public void Tangent(Tensor x, Tensor y, Tensor dx, Tensor dy, string? variant = null) => MaxoutOp.Tangent(x, dx, dy, Pieces, variant);

    /// <inheritdoc />
    public override string ToString() => $"maxout(pieces={Pieces})";
}

/// <summary>
/// Maxout: x of shape (..., F * k) is seen as (..., F, k) and y (..., F) is the maximum over k (the conformance
/// shape is (N, F * k) -> (N, F)). Backward: dx gets dy at the first maximum of each group, zeros elsewhere.
/// Variants: <c>kernel.elementwise</c> (a thread per output), <c>host.parallel</c>.
/// </summary>
public static class MaxoutOp
{
    /// <summary>Forward implementations.</summary>
    internal static readonly OpRegistry<MaxoutForwardImpl> ForwardRegistry = new OpRegistry<MaxoutForwardImpl>("maxout.forward")
        .Register("kernel.elementwise", ComputePath.Kernels, LaunchForward, "ILGPU kernel: one thread per output")
        .Register("host.parallel", ComputePath.Host, CpuSoftmax.MaxoutForward, "managed loop over outputs, all cores for large tensors");

    /// <summary>Backward implementations.</summary>
    internal static readonly OpRegistry<MaxoutBackwardImpl> BackwardRegistry = new OpRegistry<MaxoutBackwardImpl>("maxout.backward")
        .Register("kernel.elementwise", ComputePath.Kernels, LaunchBackward, "ILGPU kernel: one thread per output, writes its k gradients")
        .Register("host.parallel", ComputePath.Host, CpuSoftmax.MaxoutBackward, "managed loop over outputs, all cores for large tensors");

    /// <summary>Tangent (forward-mode) implementations.</summary>
    internal static readonly OpRegistry<MaxoutBackwardImpl> TangentRegistry = new OpRegistry<MaxoutBackwardImpl>("maxout.tangent")
        .Register("kernel.elementwise", ComputePath.Kernels, LaunchTangent, "ILGPU kernel: one thread per output gathers the tangent at its maximum")
        .Register("host.parallel", ComputePath.Host, CpuSoftmax.MaxoutTangent, "managed loop over outputs, all cores for large tensors");

    /// <summary>The output shape: <paramref name="input"/> with its last dimension divided by <paramref name="pieces"/>.</summary>
    /// <exception cref="ArgumentException">The last dimension is not a multiple of pieces, or pieces is not positive.</exception>
    public static Shape OutputShape(Shape input, int pieces)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (pieces <= 0)
        {
            throw new ArgumentException($"maxout: pieces must be positive, got {pieces}.", nameof(pieces));
        }

        if (input.Rank == 0 || input[-1] % pieces != 0)
        {
            throw new ArgumentException($"maxout: x is {input}; its last dimension must be a multiple of pieces ({pieces}).", nameof(input));
        }

        return input.With(-1, input[-1] / pieces);
    }

    /// <summary>y = max over each group of <paramref name="pieces"/> features of x.</summary>
    /// <exception cref="ArgumentException">Shapes do not fit; the message names them.</exception>
    public static void Forward(Tensor x, Tensor y, int pieces, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        CheckOutput(x, y, pieces, nameof(y));
        ForwardRegistry.Select(x.Device, variant)(x.Device, x.View, y.View, pieces);
    }

    /// <summary>dx from x and dy (dy has the output shape, dx has x's).</summary>
    /// <exception cref="ArgumentException">Shapes do not fit; the message names them.</exception>
    public static void Backward(Tensor x, Tensor dy, Tensor dx, int pieces, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        CheckOutput(x, dy, pieces, nameof(dy));
        Activations.SameShape("maxout", x, nameof(x), dx, nameof(dx));
        BackwardRegistry.Select(x.Device, variant)(x.Device, x.View, dy.View, dx.View, pieces);
    }

    /// <summary>Forward mode: dy (the output shape) is the input tangent dx (x's shape) at the first maximum of each group of x.</summary>
    /// <exception cref="ArgumentException">Shapes do not fit; the message names them.</exception>
    public static void Tangent(Tensor x, Tensor dx, Tensor dy, int pieces, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        CheckOutput(x, dy, pieces, nameof(dy));
        Activations.SameShape("maxout", x, nameof(x), dx, nameof(dx));
        TangentRegistry.Select(x.Device, variant)(x.Device, x.View, dx.View, dy.View, pieces);
    }

    /// <summary>Launches <see cref="ActivationKernels.MaxoutTangent"/>.</summary>
    internal static void LaunchTangent(Device device, ArrayView<float> x, ArrayView<float> dx, ArrayView<float> dy, int pieces)
    {
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>>(
            "maxout.tangent", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(ActivationKernels.MaxoutTangent));
        k(device.Stream, (int)dy.Length, x, dx, dy, pieces);
    }

    /// <summary>Launches <see cref="ActivationKernels.MaxoutForward"/>.</summary>
    internal static void LaunchForward(Device device, ArrayView<float> x, ArrayView<float> y, int pieces)
    {
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, int>>(
            "maxout.forward", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(ActivationKernels.MaxoutForward));
        k(device.Stream, (int)y.Length, x, y, pieces);
    }

    /// <summary>Launches <see cref="ActivationKernels.MaxoutBackward"/>.</summary>
    internal static void LaunchBackward(Device device, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dx, int pieces)
    {
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>>(
            "maxout.backward", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(ActivationKernels.MaxoutBackward));
        k(device.Stream, (int)dy.Length, x, dy, dx, pieces);
    }

    private static void CheckOutput(Tensor x, Tensor y, int pieces, string name)
    {
        ArgumentNullException.ThrowIfNull(y, name);
        var xs = x.Shape;
        var ys = y.Shape;
        bool fits = pieces > 0 && xs.Rank > 0 && xs[-1] % pieces == 0 && ys.Rank == xs.Rank && ys[-1] * pieces == xs[-1];
        for (int i = 0; fits && i < xs.Rank - 1; i++)
        {
            fits = xs[i] == ys[i];
        }

        if (!fits)
        {
            // Compares without building the expected shape, so that valid calls allocate nothing.
            var want = OutputShape(xs, pieces);
            throw new ArgumentException($"maxout: {name} is {ys} but x {xs} with {pieces} pieces gives {want}.", name);
        }

        if (x.Device != y.Device)
        {
            throw new ArgumentException($"maxout: x and {name} must live on the same device.", name);
        }
    }
}
