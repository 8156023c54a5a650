// Helpers of the pointwise loss operators in float (kernels) and double (host path), side by side: the logistic
// sigmoid, the stable BCE of a logit and torchvision's focal term and its derivative.
using System;
using ILGPU.Algorithms;

namespace Engine.Kernels.Losses;

/// <summary>Scalar helpers shared by the pointwise loss operators.</summary>
public static class PointwiseLossMath
{
    /// <summary>Logistic sigmoid.</summary>
    public static float Sigmoid(float x) => 1f / (1f + XMath.Exp(-x));

    /// <summary>Stable BCE of a logit: (1 - t) x + max(-x, 0) + log(1 + e^-|x|).</summary>
    public static float LogitsBce(float x, float t)
    {
        float z = XMath.Exp(-XMath.Abs(x));
        float w = 1f + z;
        float log1p = w == 1f ? z : XMath.Log(w) * z / (w - 1f);
        return ((1f - t) * x) + KernelMath.ClampMin(-x, 0f) + log1p;
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

    /// <summary><see cref="Sigmoid(float)"/> in double.</summary>
    public static double Sigmoid(double x) => 1.0 / (1.0 + Math.Exp(-x));

    /// <summary>log(1 + z), exact when 1 + z rounds to 1.</summary>
    public static double Log1p(double z)
    {
        double w = 1.0 + z;
        return w == 1.0 ? z : Math.Log(w) * z / (w - 1.0);
    }

    /// <summary><see cref="LogitsBce(float, float)"/> in double.</summary>
    public static double LogitsBce(double x, double t) => ((1 - t) * x) + Math.Max(-x, 0) + Log1p(Math.Exp(-Math.Abs(x)));

    /// <summary><see cref="FocalTerm(float, float, float, float)"/> in double.</summary>
    public static double FocalTerm(double x, double t, double gamma, double alpha)
    {
        double m = (Sigmoid(x) * (1 - t)) + (Sigmoid(-x) * t);
        double l = LogitsBce(x, t) * (gamma == 0 ? 1 : Math.Pow(m, gamma));
        return alpha >= 0 ? l * ((alpha * t) + ((1 - alpha) * (1 - t))) : l;
    }

    /// <summary><see cref="FocalDerivative(float, float, float, float)"/> in double.</summary>
    public static double FocalDerivative(double x, double t, double gamma, double alpha)
    {
        double s = Sigmoid(x), r = Sigmoid(-x);
        double m = (s * (1 - t)) + (r * t);
        double g = (s - t) * (gamma == 0 ? 1 : Math.Pow(m, gamma));
        if (gamma != 0)
        {
            g += LogitsBce(x, t) * gamma * Math.Pow(m, gamma - 1) * s * r * (1 - (2 * t));
        }

        return alpha >= 0 ? g * ((alpha * t) + ((1 - alpha) * (1 - t))) : g;
    }
}
