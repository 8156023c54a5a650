// mish: x tanh(softplus(x)). With e = e^x and n = e (e + 2), tanh(softplus(x)) = n / (n + 2) and
// 1 - tanh^2 = (1 - t)(1 + t) with 1 - t = 2 / (n + 2): no cancellation for very negative x, no overflow to NaN
// for large x; at +-inf the values are torch's (y(+inf) = inf, y(-inf) = NaN, dy/dx(+-inf) = NaN).
using System.Numerics;
using ILGPU.Algorithms;

namespace Engine.Kernels.Activations;

/// <summary>Mish (torch.nn.functional.mish).</summary>
[Activation("mish", Forward = "x·tanh(softplus(x))", Backward = "g ⊙ (t + x σ(x)(1−t²)), t = tanh(softplus(x))")]
public readonly struct MishOp : IActivationOperator
{
    /// <inheritdoc />
    public ActivationInput DerivativeReads => ActivationInput.Input;

    /// <inheritdoc />
    public float Forward(float x, ActivationParams p) => x * TanhSoftplus(XMath.Exp(x));

    /// <inheritdoc />
    public float Derivative(float x, float y, ActivationParams p)
    {
        float e = XMath.Exp(x);
        float n = e * (e + 2f);
        float t = TanhSoftplus(e);
        return t + (x * ActivationMath.Sigmoid(x) * (2f / (n + 2f)) * (1f + t));
    }

    /// <inheritdoc />
    public Vector<float> Forward(Vector<float> x, ActivationParams p) => x * TanhSoftplus(ActivationMath.Exp(x));

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y, ActivationParams p)
    {
        var e = ActivationMath.Exp(x);
        var n = e * (e + new Vector<float>(2f));
        var t = TanhSoftplus(e);
        return t + (x * ActivationMath.Sigmoid(x) * (new Vector<float>(2f) / (n + new Vector<float>(2f))) * (Vector<float>.One + t));
    }

    // tanh(log(1 + e)) for e = e^x: n / (n + 2) for small n, 1 - 2 / (n + 2) otherwise (1 at n = inf, NaN at NaN).
    private static float TanhSoftplus(float e)
    {
        float n = e * (e + 2f);
        return n < 1f ? n / (n + 2f) : 1f - (2f / (n + 2f));
    }

    private static Vector<float> TanhSoftplus(Vector<float> e)
    {
        var two = new Vector<float>(2f);
        var n = e * (e + two);
        return Vector.ConditionalSelect(Vector.LessThan(n, Vector<float>.One), n / (n + two), Vector<float>.One - (two / (n + two)));
    }
}
