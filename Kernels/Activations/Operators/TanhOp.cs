// tanh, through ActivationMath.Tanh (accurate on every backend, unlike XMath.Tanh on CUDA); the derivative reads y.
using System.Numerics;

namespace Engine.Kernels.Activations;

/// <summary>The hyperbolic tangent (torch.tanh).</summary>
[Activation("tanh", Forward = "y = tanh x", Backward = "g ⊙ (1−y²)")]
public readonly struct TanhOp : IActivationOperator
{
    /// <inheritdoc />
    public ActivationInput DerivativeReads => ActivationInput.Output;

    /// <inheritdoc />
    public float Forward(float x, ActivationParams p) => ActivationMath.Tanh(x);

    /// <inheritdoc />
    public float Derivative(float x, float y, ActivationParams p) => 1f - (y * y);

    /// <inheritdoc />
    public Vector<float> Forward(Vector<float> x, ActivationParams p) => ActivationMath.Tanh(x);

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y, ActivationParams p) => Vector<float>.One - (y * y);
}
