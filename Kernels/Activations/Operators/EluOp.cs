// elu: x if x > 0 else alpha (e^x - 1); derivative alpha e^x for x <= 0 (alpha at 0), 1 above and at NaN (torch).
using System.Numerics;
using ILGPU.Algorithms;

namespace Engine.Kernels.Activations;

/// <summary>Exponential linear unit (torch.nn.functional.elu).</summary>
[Activation("elu", Forward = "x > 0 ? x : α(eˣ−1)", Backward = "g ⊙ (x ≤ 0 ? αeˣ : 1) (α at 0)")]
[ActivationParameter("alpha", ActivationSlot.Alpha, 1.0)]
public readonly struct EluOp : IActivationOperator
{
    /// <inheritdoc />
    public ActivationInput DerivativeReads => ActivationInput.Input;

    /// <inheritdoc />
    public float Forward(float x, ActivationParams p) => x > 0f ? x : p.Alpha * (XMath.Exp(x) - 1f);

    /// <inheritdoc />
    public float Derivative(float x, float y, ActivationParams p) => x <= 0f ? p.Alpha * XMath.Exp(x) : 1f;

    /// <inheritdoc />
    public Vector<float> Forward(Vector<float> x, ActivationParams p) =>
        Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), x, (ActivationMath.Exp(x) - Vector<float>.One) * p.Alpha);

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y, ActivationParams p) =>
        Vector.ConditionalSelect(Vector.LessThanOrEqual(x, Vector<float>.Zero), ActivationMath.Exp(x) * p.Alpha, Vector<float>.One);
}
