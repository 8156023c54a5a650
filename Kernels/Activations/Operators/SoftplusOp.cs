// softplus: log(1 + e^(beta x)) / beta, and x where beta x > threshold (torch.nn.functional.softplus).
using System.Numerics;

namespace Engine.Kernels.Activations;

/// <summary>Softplus with beta and threshold (torch.nn.functional.softplus); linear strictly above the threshold.</summary>
[Activation("softplus", Forward = "βx > t ? x : log(1+e^{βx})/β", Backward = "g ⊙ (βx > t ? 1 : σ(βx))")]
[ActivationParameter("beta", ActivationSlot.Beta, 1.0, NonZero = true)]
[ActivationParameter("threshold", ActivationSlot.Threshold, 20.0)]
public readonly struct SoftplusOp : IActivationOperator
{
    /// <inheritdoc />
    public ActivationInput DerivativeReads => ActivationInput.Input;

    /// <inheritdoc />
    public float Forward(float x, ActivationParams p)
    {
        float u = p.Beta * x;
        return u > p.Threshold ? x : ActivationMath.SoftplusUnit(u) / p.Beta;
    }

    /// <inheritdoc />
    public float Derivative(float x, float y, ActivationParams p)
    {
        float u = p.Beta * x;
        return u > p.Threshold ? 1f : ActivationMath.Sigmoid(u);
    }

    /// <inheritdoc />
    public Vector<float> Forward(Vector<float> x, ActivationParams p)
    {
        var u = x * p.Beta;
        return Vector.ConditionalSelect(Vector.GreaterThan(u, new Vector<float>(p.Threshold)), x, ActivationMath.SoftplusUnit(u) / p.Beta);
    }

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y, ActivationParams p)
    {
        var u = x * p.Beta;
        return Vector.ConditionalSelect(Vector.GreaterThan(u, new Vector<float>(p.Threshold)), Vector<float>.One, ActivationMath.Sigmoid(u));
    }
}
