// sigmoid: y = 1 / (1 + e^-x); the derivative reads y.
using System.Numerics;

namespace Engine.Kernels.Activations;

/// <summary>The logistic sigmoid (torch.sigmoid).</summary>
[Activation("sigmoid", Forward = "y = σ(x)", Backward = "g ⊙ y(1−y)")]
public readonly struct SigmoidOp : IActivationOperator
{
    /// <inheritdoc />
    public ActivationInput DerivativeReads => ActivationInput.Output;

    /// <inheritdoc />
    public float Forward(float x, ActivationParams p) => ActivationMath.Sigmoid(x);

    /// <inheritdoc />
    public float Derivative(float x, float y, ActivationParams p) => y * (1f - y);

    /// <inheritdoc />
    public Vector<float> Forward(Vector<float> x, ActivationParams p) => ActivationMath.Sigmoid(x);

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y, ActivationParams p) => y * (Vector<float>.One - y);
}
