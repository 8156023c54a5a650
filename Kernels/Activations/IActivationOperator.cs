// The contract every elementwise activation implements once: scalar forward and derivative in float (the ILGPU
// kernels are generic over it) and the same two on Vector<float> (the CPU host path), plus what backward reads.
using System.Numerics;

namespace Engine.Kernels.Activations;

/// <summary>Which saved tensor an activation's derivative reads.</summary>
public enum ActivationInput
{
    /// <summary>The input x (relu, gelu, ...).</summary>
    Input,

    /// <summary>The output y = f(x) (sigmoid, tanh).</summary>
    Output,
}

/// <summary>
/// One elementwise activation: a stateless struct whose methods the generic kernels
/// (<see cref="ActivationKernels.Forward{TOp}"/>) and the host loops call through <c>default(TOp)</c>, so each
/// instantiation compiles to straight-line code. The scalar and vector forms compute the same function; values at
/// NaN, infinities and kinks are PyTorch's (its scalar kernels, which its CUDA kernels share). Metadata (name,
/// parameters, docs) is the <see cref="ActivationAttribute"/> on the struct; the engine's activation table is
/// built from those.
/// </summary>
public interface IActivationOperator
{
    /// <summary>The tensor <see cref="Derivative(float, float, ActivationParams)"/> reads; the other may be garbage.</summary>
    ActivationInput DerivativeReads { get; }

    /// <summary>y = f(x).</summary>
    float Forward(float x, ActivationParams p);

    /// <summary>dy/dx at input <paramref name="x"/> with output <paramref name="y"/> = f(x).</summary>
    float Derivative(float x, float y, ActivationParams p);

    /// <summary>y = f(x) on every lane.</summary>
    Vector<float> Forward(Vector<float> x, ActivationParams p);

    /// <summary>dy/dx on every lane.</summary>
    Vector<float> Derivative(Vector<float> x, Vector<float> y, ActivationParams p);
}

/// <summary>
/// The parameters of one activation call, passed by value to the kernels. Each activation's
/// <see cref="ActivationParameterAttribute"/>s say which field holds which of its named parameters.
/// </summary>
public struct ActivationParams
{
    /// <summary>First parameter (leaky_relu's negative slope, elu's alpha).</summary>
    public float Alpha;

    /// <summary>Second parameter (swish's and softplus's beta).</summary>
    public float Beta;

    /// <summary>Third parameter (softplus's threshold).</summary>
    public float Threshold;
}

/// <summary>A field of <see cref="ActivationParams"/>.</summary>
public enum ActivationSlot
{
    /// <summary><see cref="ActivationParams.Alpha"/>.</summary>
    Alpha,

    /// <summary><see cref="ActivationParams.Beta"/>.</summary>
    Beta,

    /// <summary><see cref="ActivationParams.Threshold"/>.</summary>
    Threshold,
}
