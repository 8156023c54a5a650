// Scalar (float, for the kernels) and Vector<float> (for the host path) building blocks of the activation
// operators: sigmoid, an accurate tanh, the normal CDF and log(1 + e^u), each written once per form, side by side.
using System.Numerics;
using System.Runtime.CompilerServices;
using ILGPU.Algorithms;

namespace Engine.Kernels.Activations;

/// <summary>
/// Shared math of the activation operators. Nothing here uses <c>XMath.Tanh</c>: on CUDA it compiles to
/// <c>tanh.approx.f32</c> (relative error about 2^-11); <see cref="Tanh(float)"/> is accurate to about 1e-7 relative on
/// every backend. Exp and Log compile to <c>ex2.approx</c> / <c>lg2.approx</c> on CUDA (about 2^-22 relative and
/// 2^-22 absolute), accurate enough for every formula here. Comparisons are written so that NaN propagates
/// (no Min/Max, whose NaN handling differs between backends).
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

    /// <summary>Below this |x|, tanh is the odd polynomial; above, 1 - 2 / (e^(2|x|) + 1).</summary>
    public const float TanhPolynomialLimit = 0.625f;

    // tanh(x) = x + x^3 P(x^2) on |x| < 0.625: a least-squares fit of relative error (max 8e-8 in float), made for
    // this file with numpy.
    private const float T0 = -0.33333281935601955f;
    private const float T1 = 0.1333144205196659f;
    private const float T2 = -0.05373970427702903f;
    private const float T3 = 0.020639055087837324f;
    private const float T4 = -0.005704953617746004f;

    // e^r = 1 + r + r^2 P(r) on |r| <= ln(2) / 2: a least-squares fit of relative error (max 1.2e-7 in float), made
    // for this file with numpy; ln 2 split in a short high part and a correction (Cody-Waite).
    private const float E0 = 0.49999993452103525f;
    private const float E1 = 0.1666652068407059f;
    private const float E2 = 0.041668387237801786f;
    private const float E3 = 0.0083687104031153f;
    private const float E4 = 0.001381462169006883f;
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693359375f;
    private const float Ln2Lo = -2.12194440e-4f;
    private const float ExpMax = 88.72283f;
    private const float ExpMin = -86.6f;

    /// <summary>Logistic sigmoid 1 / (1 + e^-x): 0 and 1 at the infinities, NaN for NaN.</summary>
    public static float Sigmoid(float x) => 1f / (1f + XMath.Exp(-x));

    /// <summary>tanh(x) to about 1e-7 relative: the odd polynomial near 0, the exponential form elsewhere; +-1 at +-inf.</summary>
    public static float Tanh(float x)
    {
        float a = XMath.Abs(x);
        if (a < TanhPolynomialLimit)
        {
            float z = x * x;
            return x + (x * z * (T0 + (z * (T1 + (z * (T2 + (z * (T3 + (z * T4)))))))));
        }

        float t = 1f - (2f / (XMath.Exp(2f * a) + 1f));
        return x < 0f ? -t : t;
    }

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

    /// <summary>log(1 + e^u) without overflow: max(u, 0) + log1p(e^-|u|); NaN for NaN.</summary>
    public static float SoftplusUnit(float u)
    {
        float z = XMath.Exp(-XMath.Abs(u));
        float w = 1f + z;
        float log1p = w == 1f ? z : XMath.Log(w) * z / (w - 1f);
        return (u > 0f ? u : 0f) + log1p;
    }

    /// <summary>
    /// e^x on every lane to about 1.2e-7 relative (Cody-Waite reduction x = n ln 2 + r, a degree-6 polynomial for e^r
    /// fitted for this file, then 2^n through the exponent bits), with fused multiply-adds: about twice as fast as
    /// <c>Vector.Exp</c> measured here. +inf above ln(float.MaxValue), 0 below -86.6 (results under 2.4e-38 are
    /// flushed), NaN for NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Exp(Vector<float> x)
    {
        var hi = new Vector<float>(ExpMax);
        var lo = new Vector<float>(ExpMin);
        var tooBig = Vector.GreaterThan(x, hi);
        var tooSmall = Vector.LessThan(x, lo);
        var xc = Vector.ConditionalSelect(tooBig, hi, Vector.ConditionalSelect(tooSmall, lo, x));
        var n = Vector.Round(xc * Log2E);
        var r = Vector.FusedMultiplyAdd(n, new Vector<float>(-Ln2Hi), xc);
        r = Vector.FusedMultiplyAdd(n, new Vector<float>(-Ln2Lo), r);
        var p = Vector.FusedMultiplyAdd(new Vector<float>(E4), r, new Vector<float>(E3));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(E2));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(E1));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(E0));
        p = Vector.FusedMultiplyAdd(r * r, p, r + Vector<float>.One);

        // 2^(n - 1) * 2, so that n = 128 (x near ln(float.MaxValue)) still has a normal exponent.
        var scale = Vector.AsVectorSingle((Vector.ConvertToInt32(n) + new Vector<int>(126)) << 23);
        var y = p * scale * 2f;
        y = Vector.ConditionalSelect(tooBig, new Vector<float>(float.PositiveInfinity), y);
        return Vector.ConditionalSelect(tooSmall, Vector<float>.Zero, y);
    }

    /// <summary><see cref="Sigmoid(float)"/> on every lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Sigmoid(Vector<float> x) => Vector<float>.One / (Vector<float>.One + Exp(-x));

    /// <summary><see cref="Tanh(float)"/> on every lane (both branches computed, then selected).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Tanh(Vector<float> x)
    {
        var a = Vector.Abs(x);
        var z = x * x;
        var q = Vector.FusedMultiplyAdd(new Vector<float>(T4), z, new Vector<float>(T3));
        q = Vector.FusedMultiplyAdd(q, z, new Vector<float>(T2));
        q = Vector.FusedMultiplyAdd(q, z, new Vector<float>(T1));
        q = Vector.FusedMultiplyAdd(q, z, new Vector<float>(T0));
        var poly = Vector.FusedMultiplyAdd(x * z, q, x);

        // (1 - e^-2a) / (1 + e^-2a) with the sign of x: no overflow, 1 at +inf.
        var e = Exp(a * -2f);
        var t = (Vector<float>.One - e) / (Vector<float>.One + e);
        var signed = Vector.BitwiseOr(t, Vector.BitwiseAnd(x, new Vector<float>(-0f)));
        return Vector.ConditionalSelect(Vector.LessThan(a, new Vector<float>(TanhPolynomialLimit)), poly, signed);
    }

    /// <summary><see cref="NormalCdf(float)"/> on every lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> NormalCdf(Vector<float> x)
    {
        var v = x * -InvSqrtTwo;
        var z = Vector.Abs(v);
        var t = Vector<float>.One / (Vector<float>.One + (0.5f * z));
        var poly = new Vector<float>(0.17087277f);
        poly = (poly * t) + new Vector<float>(-0.82215223f);
        poly = (poly * t) + new Vector<float>(1.48851587f);
        poly = (poly * t) + new Vector<float>(-1.13520398f);
        poly = (poly * t) + new Vector<float>(0.27886807f);
        poly = (poly * t) + new Vector<float>(-0.18628806f);
        poly = (poly * t) + new Vector<float>(0.09678418f);
        poly = (poly * t) + new Vector<float>(0.37409196f);
        poly = (poly * t) + new Vector<float>(1.00002368f);
        poly = (poly * t) + new Vector<float>(-1.26551223f);
        var r = t * Exp((-z * z) + poly);
        var erfc = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(v, Vector<float>.Zero), r, new Vector<float>(2f) - r);
        return 0.5f * erfc;
    }

    /// <summary><see cref="SoftplusUnit(float)"/> on every lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> SoftplusUnit(Vector<float> u)
    {
        var z = Exp(-Vector.Abs(u));
        var w = Vector<float>.One + z;
        var log1p = Vector.ConditionalSelect(Vector.Equals(w, Vector<float>.One), z, Vector.Log(w) * z / (w - Vector<float>.One));
        return Vector.ConditionalSelect(Vector.GreaterThan(u, Vector<float>.Zero), u, Vector<float>.Zero) + log1p;
    }
}
