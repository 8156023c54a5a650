// gelu (approximate "tanh"): 0.5 x (1 + tanh(u)) = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3), which has no
// cancellation for negative x.
using System.Numerics;

namespace Engine.Kernels.Activations;

/// <summary>GELU's tanh approximation (torch.nn.functional.gelu, approximate="tanh").</summary>
[Activation("gelu", Choice = "approximate=tanh", Forward = "0.5x(1+tanh(√(2/π)(x+0.044715x³)))", Backward = "g ⊙ the tanh form's derivative")]
public readonly struct GeluTanhOp : IActivationOperator
{
    /// <inheritdoc />
    public ActivationInput DerivativeReads => ActivationInput.Input;

    /// <inheritdoc />
    public float Forward(float x, ActivationParams p) =>
        x * ActivationMath.Sigmoid(2f * ActivationMath.SqrtTwoOverPi * (x + (ActivationMath.GeluKappa * x * x * x)));

    /// <inheritdoc />
    public float Derivative(float x, float y, ActivationParams p)
    {
        // tanh = 2s - 1, 1 - tanh^2 = 4 s (1 - s); d/dx = 0.5 (1 + tanh) + 0.5 x (1 - tanh^2) u'
        float x2 = x * x;
        float s = ActivationMath.Sigmoid(2f * ActivationMath.SqrtTwoOverPi * (x + (ActivationMath.GeluKappa * x2 * x)));
        return s + (2f * x * s * (1f - s) * ActivationMath.SqrtTwoOverPi * (1f + (3f * ActivationMath.GeluKappa * x2)));
    }

    /// <inheritdoc />
    public Vector<float> Forward(Vector<float> x, ActivationParams p) =>
        x * ActivationMath.Sigmoid(2f * ActivationMath.SqrtTwoOverPi * (x + (ActivationMath.GeluKappa * x * x * x)));

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y, ActivationParams p)
    {
        var x2 = x * x;
        var s = ActivationMath.Sigmoid(2f * ActivationMath.SqrtTwoOverPi * (x + (ActivationMath.GeluKappa * x2 * x)));
        return s + (2f * ActivationMath.SqrtTwoOverPi * x * s * (Vector<float>.One - s) * (Vector<float>.One + (3f * ActivationMath.GeluKappa * x2)));
    }
}
