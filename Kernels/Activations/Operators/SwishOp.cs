// swish: x sigmoid(beta x); beta 1 is SiLU.
using System.Numerics;

namespace Engine.Kernels.Activations;

/// <summary>Swish x·σ(βx) (torch.nn.functional.silu when β = 1).</summary>
[Activation("swish", Forward = "x·σ(βx)", Backward = "g ⊙ (σ(βx) + βx σ(βx)(1−σ(βx)))")]
[ActivationParameter("beta", ActivationSlot.Beta, 1.0)]
public readonly struct SwishOp : IActivationOperator
{
    /// <inheritdoc />
    public ActivationInput DerivativeReads => ActivationInput.Input;

    /// <inheritdoc />
    public float Forward(float x, ActivationParams p) => x * ActivationMath.Sigmoid(p.Beta * x);

    /// <inheritdoc />
    public float Derivative(float x, float y, ActivationParams p)
    {
        float s = ActivationMath.Sigmoid(p.Beta * x);
        return s + (p.Beta * x * s * (1f - s));
    }

    /// <inheritdoc />
    public Vector<float> Forward(Vector<float> x, ActivationParams p) => x * ActivationMath.Sigmoid(x * p.Beta);

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y, ActivationParams p)
    {
        var s = ActivationMath.Sigmoid(x * p.Beta);
        return s + (p.Beta * x * s * (Vector<float>.One - s));
    }
}
