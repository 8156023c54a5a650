// Elementwise activations (sigmoid, tanh, relu, leaky_relu, elu, gelu, swish, softplus): validation, dispatch
// table and the kernel-path launchers; the host path is Backends/Cpu/CpuActivations.
using System;
using Engine.Backends.Cpu;
using Engine.Dispatch;
using Engine.Kernels.Activations;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Ops;

/// <summary>An implementation of an activation forward over views of equal length.</summary>
public delegate void ActivationForwardImpl(Device device, ArrayView<float> x, ArrayView<float> y, ActivationParams p);

/// <summary>An implementation of an activation backward over views of equal length.</summary>
public delegate void ActivationBackwardImpl(Device device, ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, ActivationParams p);

/// <summary>
/// Elementwise activations on tensors of any shape. Forward y = f(x); backward dx = dy * f'(x) (sigmoid and tanh
/// use y). y may be the same tensor as x, and dx the same as dy. Variants: <c>kernel.elementwise</c>,
/// <c>host.simd</c>.
/// </summary>
public static class Activations
{
    /// <summary>Forward implementations.</summary>
    public static readonly OpRegistry<ActivationForwardImpl> ForwardRegistry = new OpRegistry<ActivationForwardImpl>("activation.forward")
        .Register("kernel.elementwise", ComputePath.Kernels, LaunchForward, "ILGPU kernel: one thread per element, function chosen by a uniform switch")
        .Register("host.simd", ComputePath.Host, CpuActivations.Forward, "managed SIMD (Vector<float>, TensorPrimitives), all cores for large tensors");

    /// <summary>Backward implementations.</summary>
    public static readonly OpRegistry<ActivationBackwardImpl> BackwardRegistry = new OpRegistry<ActivationBackwardImpl>("activation.backward")
        .Register("kernel.elementwise", ComputePath.Kernels, LaunchBackward, "ILGPU kernel: one thread per element")
        .Register("host.simd", ComputePath.Host, CpuActivations.Backward, "managed SIMD (Vector<float>), all cores for large tensors");

    /// <summary>y = f(x). x and y have the same shape and device.</summary>
    /// <exception cref="ArgumentException">Shapes or devices differ; the message names them.</exception>
    public static void Forward(ActivationSpec spec, Tensor x, Tensor y, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        SameShape(spec.Op, x, nameof(x), y, nameof(y));
        ForwardRegistry.Select(x.Device, variant)(x.Device, x.View, y.View, spec.Params);
    }

    /// <summary>dx = dy * f'(x), given y = f(x). x, y, dy and dx have the same shape and device.</summary>
    /// <exception cref="ArgumentException">Shapes or devices differ; the message names them.</exception>
    public static void Backward(ActivationSpec spec, Tensor x, Tensor y, Tensor dy, Tensor dx, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        SameShape(spec.Op, x, nameof(x), y, nameof(y));
        SameShape(spec.Op, x, nameof(x), dy, nameof(dy));
        SameShape(spec.Op, x, nameof(x), dx, nameof(dx));
        BackwardRegistry.Select(x.Device, variant)(x.Device, x.View, y.View, dy.View, dx.View, spec.Params);
    }

    /// <summary>Launches <see cref="ActivationKernels.Forward"/>.</summary>
    public static void LaunchForward(Device device, ArrayView<float> x, ArrayView<float> y, ActivationParams p)
    {
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ActivationParams>>(
            "activation.forward", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ActivationParams>(ActivationKernels.Forward));
        k(device.Stream, (int)x.Length, x, y, p);
    }

    /// <summary>Launches <see cref="ActivationKernels.Backward"/>.</summary>
    public static void LaunchBackward(Device device, ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, ActivationParams p)
    {
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ActivationParams>>(
            "activation.backward", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ActivationParams>(ActivationKernels.Backward));
        k(device.Stream, (int)x.Length, x, y, dy, dx, p);
    }

    /// <summary>Throws unless <paramref name="b"/> has <paramref name="a"/>'s shape and device.</summary>
    internal static void SameShape(string op, Tensor a, string aName, Tensor b, string bName)
    {
        ArgumentNullException.ThrowIfNull(a, aName);
        ArgumentNullException.ThrowIfNull(b, bName);
        if (a.Shape != b.Shape)
        {
            throw new ArgumentException($"{op}: {bName} is {b.Shape} but {aName} is {a.Shape}; they must have the same shape.", bName);
        }

        if (a.Device != b.Device)
        {
            throw new ArgumentException($"{op}: {aName} and {bName} must live on the same device.", bName);
        }
    }
}
