// relu: max(x, 0) with NaN kept (torch.relu), derivative 0 at 0 and 1 at NaN (torch's threshold_backward).
using System.Numerics;

namespace Engine.Kernels.Activations;

/// <summary>The rectifier (torch.nn.functional.relu).</summary>
[Activation("relu", Forward = "max(x, 0) (NaN stays NaN)", Backward = "g ⊙ (x ≤ 0 ? 0 : 1) (0 at x = 0)")]
public readonly struct ReluOp : IActivationOperator
{
    /// <inheritdoc />
    public ActivationInput DerivativeReads => ActivationInput.Input;

    /// <inheritdoc />
    public float Forward(float x, ActivationParams p) => x < 0f ? 0f : x;

    /// <inheritdoc />
    public float Derivative(float x, float y, ActivationParams p) => x <= 0f ? 0f : 1f;

    /// <inheritdoc />
    public Vector<float> Forward(Vector<float> x, ActivationParams p) =>
        Vector.ConditionalSelect(Vector.LessThan(x, Vector<float>.Zero), Vector<float>.Zero, x);

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y, ActivationParams p) =>
        Vector.ConditionalSelect(Vector.LessThanOrEqual(x, Vector<float>.Zero), Vector<float>.Zero, Vector<float>.One);
}
