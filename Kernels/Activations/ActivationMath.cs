// Scalar activation functions and derivatives in float, shared by the kernels (and usable on the host as oracles).
using ILGPU.Algorithms;

namespace Engine.Kernels.Activations;

/// <summary>
/// Scalar forms of the activations. Derivatives at the kinks are PyTorch's: relu'(0) = 0, leaky_relu'(0) = alpha,
/// elu'(0) = alpha; softplus is linear where beta * x &gt; threshold.
/// </summary>
public static class ActivationMath
{
    /// <summary>sqrt(2 / pi), the GELU tanh-approximation constant.</summary>
    public const float SqrtTwoOverPi = 0.7978845608028654f;

    /// <summary>0.044715, the cubic coefficient of the GELU tanh approximation.</summary>
    public const float GeluKappa = 0.044715f;

    /// <summary>1 / sqrt(2 pi).</summary>
    public const float InvSqrtTwoPi = 0.3989422804014327f;

    /// <summary>1 / sqrt(2).</summary>
    public const float InvSqrtTwo = 0.7071067811865476f;

    /// <summary>Logistic sigmoid, saturating cleanly for large |x|.</summary>
    public static float Sigmoid(float x) => 1f / (1f + XMath.Exp(-x));

    /// <summary>
    /// Complementary error function (Numerical Recipes' erfcc, fractional error below 1.2e-7), accurate in the tails,
    /// so that GELU's x * Phi(x) keeps its relative precision for very negative x.
    /// </summary>
    public static float Erfc(float x)
    {
        float z = XMath.Abs(x);
        float t = 1f / (1f + (0.5f * z));
        float poly = -1.26551223f + (t * (1.00002368f + (t * (0.37409196f + (t * (0.09678418f + (t * (-0.18628806f
            + (t * (0.27886807f + (t * (-1.13520398f + (t * (1.48851587f + (t * (-0.82215223f + (t * 0.17087277f)))))))))))))))));
        float r = t * XMath.Exp((-z * z) + poly);
        return x >= 0f ? r : 2f - r;
    }

    /// <summary>Standard normal CDF Phi(x) = erfc(-x / sqrt 2) / 2.</summary>
    public static float NormalCdf(float x) => 0.5f * Erfc(-x * InvSqrtTwo);

    /// <summary>log(1 + e^u) without overflow: max(u, 0) + log(1 + e^-|u|).</summary>
    public static float SoftplusUnit(float u)
    {
        float z = XMath.Exp(-XMath.Abs(u));
        float w = 1f + z;
        float log1p = w == 1f ? z : XMath.Log(w) * z / (w - 1f);
        return XMath.Max(u, 0f) + log1p;
    }

    /// <summary>y = f(x).</summary>
    public static float Forward(float x, ActivationParams p)
    {
        switch (p.Kind)
        {
            case ActivationCodes.Sigmoid:
                return Sigmoid(x);
            case ActivationCodes.Tanh:
                return XMath.Tanh(x);
            case ActivationCodes.Relu:
                return x > 0f ? x : 0f;
            case ActivationCodes.LeakyRelu:
                return x > 0f ? x : p.Alpha * x;
            case ActivationCodes.Elu:
                return x > 0f ? x : p.Alpha * (XMath.Exp(x) - 1f);
            case ActivationCodes.GeluErf:
                return x * NormalCdf(x);
            case ActivationCodes.GeluTanh:
                {
                    // 0.5 x (1 + tanh(u)) = x * sigmoid(2u): no cancellation for negative x.
                    float u = SqrtTwoOverPi * (x + (GeluKappa * x * x * x));
                    return x * Sigmoid(2f * u);
                }

            case ActivationCodes.Swish:
                return x * Sigmoid(p.Beta * x);
            default:
                {
                    float u = p.Beta * x;
                    return u > p.Threshold ? x : SoftplusUnit(u) / p.Beta;
                }
        }
    }

    /// <summary>dy/dx given the input <paramref name="x"/> and the output <paramref name="y"/> = f(x).</summary>
    public static float Derivative(float x, float y, ActivationParams p)
    {
        switch (p.Kind)
        {
            case ActivationCodes.Sigmoid:
                return y * (1f - y);
            case ActivationCodes.Tanh:
                return 1f - (y * y);
            case ActivationCodes.Relu:
                return x > 0f ? 1f : 0f;
            case ActivationCodes.LeakyRelu:
                return x > 0f ? 1f : p.Alpha;
            case ActivationCodes.Elu:
                return x > 0f ? 1f : p.Alpha * XMath.Exp(x);
            case ActivationCodes.GeluErf:
                return NormalCdf(x) + (x * InvSqrtTwoPi * XMath.Exp(-0.5f * x * x));
            case ActivationCodes.GeluTanh:
                {
                    float x2 = x * x;
                    float s = Sigmoid(2f * SqrtTwoOverPi * (x + (GeluKappa * x2 * x)));

                    // tanh = 2s - 1, 1 - tanh^2 = 4 s (1 - s); d/dx = 0.5 (1 + tanh) + 0.5 x (1 - tanh^2) u'
                    return s + (2f * x * s * (1f - s) * SqrtTwoOverPi * (1f + (3f * GeluKappa * x2)));
                }

            case ActivationCodes.Swish:
                {
                    float s = Sigmoid(p.Beta * x);
                    return s + (p.Beta * x * s * (1f - s));
                }

            default:
                {
                    float u = p.Beta * x;
                    return u > p.Threshold ? 1f : Sigmoid(u);
                }
        }
    }
}
