// Elementwise activations on tensors: validation, then the dispatch row of the spec's table entry (kernel or host);
// the implementations are Backends/Kernel/ActivationLaunchers and Backends/Cpu/CpuActivations, generic over the
// operator struct.
using System;
using Engine.Kernels.Activations;
using ILGPU;

namespace Engine.Ops;

/// <summary>An implementation of an activation forward over views of equal length.</summary>
internal delegate void ActivationForwardImpl(Device device, ArrayView<float> x, ArrayView<float> y, ActivationParams p);

/// <summary>An implementation of an activation backward over views of equal length.</summary>
internal delegate void ActivationBackwardImpl(Device device, ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, ActivationParams p);

/// <summary>
/// Elementwise activations on tensors of any shape. Forward y = f(x); backward dx = dy * f'(x) (sigmoid and tanh
/// use y). y may be the same tensor as x, and dx the same as dy. Each activation's variants (<c>kernel.elementwise</c>,
/// <c>host.simd</c>) are its <see cref="ActivationDefinition.ForwardRegistry"/> and <see cref="ActivationDefinition.BackwardRegistry"/>.
/// </summary>
public static class Activations
{
    /// <summary>y = f(x). x and y have the same shape and device.</summary>
    /// <exception cref="ArgumentException">Shapes or devices differ; the message names them.</exception>
    public static void Forward(ActivationSpec spec, Tensor x, Tensor y, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        SameShape(spec.Op, x, nameof(x), y, nameof(y));
        spec.Definition.ForwardRegistry!.Select(x.Device, variant)(x.Device, x.View, y.View, spec.Params);
    }

    /// <summary>dx = dy * f'(x), given y = f(x). x, y, dy and dx have the same shape and device.</summary>
    /// <exception cref="ArgumentException">Shapes or devices differ; the message names them.</exception>
    public static void Backward(ActivationSpec spec, Tensor x, Tensor y, Tensor dy, Tensor dx, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        SameShape(spec.Op, x, nameof(x), y, nameof(y));
        SameShape(spec.Op, x, nameof(x), dy, nameof(dy));
        SameShape(spec.Op, x, nameof(x), dx, nameof(dx));
        spec.Definition.BackwardRegistry!.Select(x.Device, variant)(x.Device, x.View, y.View, dy.View, dx.View, spec.Params);
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
