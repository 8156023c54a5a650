// hardswish: x relu6(x + 3) / 6, with the derivative of torch's scalar and CUDA kernels: 0 below -3, x / 3 + 1/2 on
// [-3, 3] (so -1/2 at -3 and 3/2 at 3), 1 above and at NaN. (torch 1.13's vectorized CPU loop gives 1 at x = 3.)
using System.Numerics;

namespace Engine.Kernels.Activations;

/// <summary>Hard swish (torch.nn.functional.hardswish).</summary>
[Activation("hardswish", Forward = "x·min(max(x+3, 0), 6)/6", Backward = "g ⊙ (x < −3 ? 0 : x ≤ 3 ? x/3 + ½ : 1)")]
public readonly struct HardswishOp : IActivationOperator
{
    /// <inheritdoc />
    public ActivationInput DerivativeReads => ActivationInput.Input;

    /// <inheritdoc />
    public float Forward(float x, ActivationParams p)
    {
        float r = x + 3f;
        r = r < 0f ? 0f : r;
        r = r > 6f ? 6f : r;
        return x * r / 6f;
    }

    /// <inheritdoc />
    public float Derivative(float x, float y, ActivationParams p) => x < -3f ? 0f : (x <= 3f ? (x / 3f) + 0.5f : 1f);

    /// <inheritdoc />
    public Vector<float> Forward(Vector<float> x, ActivationParams p)
    {
        var six = new Vector<float>(6f);
        var r = x + new Vector<float>(3f);
        r = Vector.ConditionalSelect(Vector.LessThan(r, Vector<float>.Zero), Vector<float>.Zero, r);
        r = Vector.ConditionalSelect(Vector.GreaterThan(r, six), six, r);
        return x * r / six;
    }

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y, ActivationParams p)
    {
        var three = new Vector<float>(3f);
        var mid = Vector.ConditionalSelect(Vector.LessThanOrEqual(x, three), (x / three) + new Vector<float>(0.5f), Vector<float>.One);
        return Vector.ConditionalSelect(Vector.LessThan(x, -three), Vector<float>.Zero, mid);
    }
}
