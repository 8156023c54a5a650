// Per-element terms of the pointwise losses and their derivatives in float, shared by the forward and backward kernels.
using ILGPU.Algorithms;

namespace Engine.Kernels.Losses;

/// <summary>
/// l(p, t) and dl/dp for mse, mae, huber, smooth_l1, bce, bce_with_logits and focal, with PyTorch's choices at the
/// kinks: mae'(0) = 0; huber' is -delta for d &lt;= -delta, delta for d &gt;= delta, d between; smooth_l1' is -1 for
/// d &lt;= -beta, 1 for d &gt;= beta, d / beta between (so beta = 0 gives -1 at d = 0, as torch 1.13).
/// </summary>
public static class PointwiseLossMath
{
    /// <summary>The per-element loss.</summary>
    public static float Term(float p, float t, LossParams q)
    {
        float d = p - t;
        switch (q.Kind)
        {
            case LossCodes.Mse:
                return d * d;
            case LossCodes.Mae:
                return XMath.Abs(d);
            case LossCodes.Huber:
                {
                    float z = XMath.Abs(d);
                    return z < q.A ? 0.5f * d * d : q.A * (z - (0.5f * q.A));
                }

            case LossCodes.SmoothL1:
                {
                    float z = XMath.Abs(d);
                    return z < q.A ? 0.5f * d * d / q.A : z - (0.5f * q.A);
                }

            case LossCodes.Bce:
                return -((t * XMath.Max(XMath.Log(p), -100f)) + ((1f - t) * XMath.Max(XMath.Log(1f - p), -100f)));
            case LossCodes.BceWithLogits:
                return LogitsBce(p, t);
            default:
                return FocalTerm(p, t, q.A, q.B);
        }
    }

    /// <summary>dl/dp, before the reduction's scale.</summary>
    public static float Derivative(float p, float t, LossParams q)
    {
        float d = p - t;
        switch (q.Kind)
        {
            case LossCodes.Mse:
                return 2f * d;
            case LossCodes.Mae:
                return d > 0f ? 1f : (d < 0f ? -1f : 0f);
            case LossCodes.Huber:
                return d <= -q.A ? -q.A : (d >= q.A ? q.A : d);
            case LossCodes.SmoothL1:
                return d <= -q.A ? -1f : (d >= q.A ? 1f : d / q.A);
            case LossCodes.Bce:
                return d / XMath.Max((1f - p) * p, 1e-12f);
            case LossCodes.BceWithLogits:
                return Sigmoid(p) - t;
            default:
                return FocalDerivative(p, t, q.A, q.B);
        }
    }

    /// <summary>Logistic sigmoid.</summary>
    public static float Sigmoid(float x) => 1f / (1f + XMath.Exp(-x));

    /// <summary>Stable BCE of a logit: (1 - t) x + max(-x, 0) + log(1 + e^-|x|).</summary>
    public static float LogitsBce(float x, float t)
    {
        float z = XMath.Exp(-XMath.Abs(x));
        float w = 1f + z;
        float log1p = w == 1f ? z : XMath.Log(w) * z / (w - 1f);
        return ((1f - t) * x) + XMath.Max(-x, 0f) + log1p;
    }

    /// <summary>torchvision focal term: ce * (1 - p_t)^gamma * alpha_t, with 1 - p_t = p (1 - t) + (1 - p) t.</summary>
    public static float FocalTerm(float x, float t, float gamma, float alpha)
    {
        float p = Sigmoid(x);
        float q = Sigmoid(-x);
        float m = (p * (1f - t)) + (q * t);
        float l = LogitsBce(x, t) * (gamma == 0f ? 1f : XMath.Pow(m, gamma));
        return alpha >= 0f ? l * ((alpha * t) + ((1f - alpha) * (1f - t))) : l;
    }

    /// <summary>d(focal term)/dx: (p - t) m^gamma + ce gamma m^(gamma - 1) p (1 - p) (1 - 2t), times alpha_t.</summary>
    public static float FocalDerivative(float x, float t, float gamma, float alpha)
    {
        float p = Sigmoid(x);
        float q = Sigmoid(-x);
        float m = (p * (1f - t)) + (q * t);
        float g = (p - t) * (gamma == 0f ? 1f : XMath.Pow(m, gamma));
        if (gamma != 0f)
        {
            g += LogitsBce(x, t) * gamma * XMath.Pow(m, gamma - 1f) * p * q * (1f - (2f * t));
        }

        return alpha >= 0f ? g * ((alpha * t) + ((1f - alpha) * (1f - t))) : g;
    }
}
