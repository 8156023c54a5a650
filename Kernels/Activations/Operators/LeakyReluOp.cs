// leaky_relu: x if x > 0 else alpha x; derivative alpha at 0 and at NaN (torch's leaky_relu_backward).
using System.Numerics;

namespace Engine.Kernels.Activations;

/// <summary>Leaky rectifier with negative slope alpha (torch.nn.functional.leaky_relu).</summary>
[Activation("leaky_relu", Forward = "x > 0 ? x : αx", Backward = "g ⊙ (x > 0 ? 1 : α) (α at 0)")]
[ActivationParameter("alpha", ActivationSlot.Alpha, 0.01)]
public readonly struct LeakyReluOp : IActivationOperator
{
    /// <inheritdoc />
    public ActivationInput DerivativeReads => ActivationInput.Input;

    /// <inheritdoc />
    public float Forward(float x, ActivationParams p) => x > 0f ? x : p.Alpha * x;

    /// <inheritdoc />
    public float Derivative(float x, float y, ActivationParams p) => x > 0f ? 1f : p.Alpha;

    /// <inheritdoc />
    public Vector<float> Forward(Vector<float> x, ActivationParams p) =>
        Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), x, x * p.Alpha);

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y, ActivationParams p) =>
        Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), Vector<float>.One, new Vector<float>(p.Alpha));
}
