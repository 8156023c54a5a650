// gelu (approximate "none"): x Phi(x) with the exact normal CDF.
using System.Numerics;
using ILGPU.Algorithms;

namespace Engine.Kernels.Activations;

/// <summary>GELU with the exact normal CDF (torch.nn.functional.gelu, approximate="none").</summary>
[Activation("gelu", Choice = "approximate=none", DefaultChoice = true, Forward = "x·Φ(x)", Backward = "g ⊙ (Φ(x) + xφ(x))")]
public readonly struct GeluOp : IActivationOperator
{
    /// <inheritdoc />
    public ActivationInput DerivativeReads => ActivationInput.Input;

    /// <inheritdoc />
    public float Forward(float x, ActivationParams p) => x * ActivationMath.NormalCdf(x);

    /// <inheritdoc />
    public float Derivative(float x, float y, ActivationParams p) =>
        ActivationMath.NormalCdf(x) + (x * ActivationMath.InvSqrtTwoPi * XMath.Exp(-0.5f * x * x));

    /// <inheritdoc />
    public Vector<float> Forward(Vector<float> x, ActivationParams p) => x * ActivationMath.NormalCdf(x);

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y, ActivationParams p) =>
        ActivationMath.NormalCdf(x) + (x * ActivationMath.InvSqrtTwoPi * ActivationMath.Exp(x * x * -0.5f));
}
