// The update rules of the Adam family (Adam and AdamW, Adamax, NAdam; PyTorch 1.13's single-tensor rules), one
// struct each with its scalar and vector forms side by side; fields are the step's scalars, computed on the host.
using System.Numerics;
using ILGPU.Algorithms;

namespace Engine.Kernels.Optim;

/// <summary>
/// Adam and AdamW (AdamW's decay is <see cref="RegParams.DecayScale"/>): m = beta1 m + (1 - beta1) g; v = beta2 v +
/// (1 - beta2) g^2; AMSGrad: vmax = max(vmax, v) (NaN kept) used instead of v; w -= step_size m / (sqrt(v) / bc2sqrt +
/// eps). State: S0 = exp_avg, S1 = exp_avg_sq, S2 = max_exp_avg_sq.
/// </summary>
public struct AdamRule : IOptimizerRule
{
    /// <summary>lr / (1 - beta1^step).</summary>
    public float StepSize;

    /// <summary>First-moment decay.</summary>
    public float Beta1;

    /// <summary>1 - beta1.</summary>
    public float OneMinusBeta1;

    /// <summary>Second-moment decay.</summary>
    public float Beta2;

    /// <summary>1 - beta2.</summary>
    public float OneMinusBeta2;

    /// <summary>sqrt(1 - beta2^step).</summary>
    public float Bc2Sqrt;

    /// <summary>Added to the corrected root of the second moment.</summary>
    public float Eps;

    /// <summary>1 for AMSGrad (keeps the running maximum of the second moment).</summary>
    public int Amsgrad;

    /// <inheritdoc />
    public readonly OptimElement Apply(OptimElement e, float g)
    {
        e.S0 = (e.S0 * Beta1) + (OneMinusBeta1 * g);
        e.S1 = (e.S1 * Beta2) + (OneMinusBeta2 * g * g);
        float v = e.S1;
        if (Amsgrad != 0)
        {
            float old = e.S2;
            v = old > v || XMath.IsNaN(old) ? old : v;
            e.S2 = v;
        }

        float denom = (XMath.Sqrt(v) / Bc2Sqrt) + Eps;
        e.W -= StepSize * (e.S0 / denom);
        return e;
    }

    /// <inheritdoc />
    public readonly void Apply(ref Vector<float> w, Vector<float> g, ref Vector<float> s0, ref Vector<float> s1, ref Vector<float> s2)
    {
        s0 = (s0 * Beta1) + (OneMinusBeta1 * g);
        s1 = (s1 * Beta2) + (OneMinusBeta2 * g * g);
        var v = s1;
        if (Amsgrad != 0)
        {
            s2 = MaxKeepNaN(s2, s1);
            v = s2;
        }

        var denom = (Vector.SquareRoot(v) / Bc2Sqrt) + new Vector<float>(Eps);
        w -= StepSize * (s0 / denom);
    }

    /// <summary>a where a &gt; b or a is NaN, else b (torch.maximum's NaN propagation from the running maximum).</summary>
    internal static Vector<float> MaxKeepNaN(Vector<float> a, Vector<float> b) =>
        Vector.ConditionalSelect(Vector.GreaterThan(a, b) | ~Vector.Equals(a, a), a, b);
}

/// <summary>
/// Adamax: m = beta1 m + (1 - beta1) g; u = max(beta2 u, |g| + eps) (NaN kept); w -= clr m / u.
/// State: S0 = exp_avg, S1 = exp_inf.
/// </summary>
public struct AdamaxRule : IOptimizerRule
{
    /// <summary>lr / (1 - beta1^step).</summary>
    public float Clr;

    /// <summary>First-moment decay.</summary>
    public float Beta1;

    /// <summary>1 - beta1.</summary>
    public float OneMinusBeta1;

    /// <summary>Decay of the infinity norm.</summary>
    public float Beta2;

    /// <summary>Added to |g| before the maximum.</summary>
    public float Eps;

    /// <inheritdoc />
    public readonly OptimElement Apply(OptimElement e, float g)
    {
        e.S0 = (e.S0 * Beta1) + (OneMinusBeta1 * g);
        float a = e.S1 * Beta2;
        float b = XMath.Abs(g) + Eps;
        e.S1 = a > b || XMath.IsNaN(a) ? a : b;
        e.W -= Clr * (e.S0 / e.S1);
        return e;
    }

    /// <inheritdoc />
    public readonly void Apply(ref Vector<float> w, Vector<float> g, ref Vector<float> s0, ref Vector<float> s1, ref Vector<float> s2)
    {
        s0 = (s0 * Beta1) + (OneMinusBeta1 * g);
        s1 = AdamRule.MaxKeepNaN(s1 * Beta2, Vector.Abs(g) + new Vector<float>(Eps));
        w -= Clr * (s0 / s1);
    }
}

/// <summary>
/// NAdam (PyTorch 1.13's rule, momentum decay schedule folded into the two coefficients): m, v as Adam;
/// denom = sqrt(v / (1 - beta2^step)) + eps; w += grad_coef g / denom; w += avg_coef m / denom.
/// State: S0 = exp_avg, S1 = exp_avg_sq.
/// </summary>
public struct NadamRule : IOptimizerRule
{
    /// <summary>First-moment decay.</summary>
    public float Beta1;

    /// <summary>1 - beta1.</summary>
    public float OneMinusBeta1;

    /// <summary>Second-moment decay.</summary>
    public float Beta2;

    /// <summary>1 - beta2.</summary>
    public float OneMinusBeta2;

    /// <summary>1 - beta2^step.</summary>
    public float Bc2;

    /// <summary>Added to the corrected root of the second moment.</summary>
    public float Eps;

    /// <summary>-lr * (1 - mu) / (1 - mu_product): coefficient of g / denom.</summary>
    public float GradCoef;

    /// <summary>-lr * mu_next / (1 - mu_product_next): coefficient of exp_avg / denom.</summary>
    public float AvgCoef;

    /// <inheritdoc />
    public readonly OptimElement Apply(OptimElement e, float g)
    {
        e.S0 = (e.S0 * Beta1) + (OneMinusBeta1 * g);
        e.S1 = (e.S1 * Beta2) + (OneMinusBeta2 * g * g);
        float denom = XMath.Sqrt(e.S1 / Bc2) + Eps;
        e.W += GradCoef * (g / denom);
        e.W += AvgCoef * (e.S0 / denom);
        return e;
    }

    /// <inheritdoc />
    public readonly void Apply(ref Vector<float> w, Vector<float> g, ref Vector<float> s0, ref Vector<float> s1, ref Vector<float> s2)
    {
        s0 = (s0 * Beta1) + (OneMinusBeta1 * g);
        s1 = (s1 * Beta2) + (OneMinusBeta2 * g * g);
        var denom = Vector.SquareRoot(s1 / Bc2) + new Vector<float>(Eps);
        w += GradCoef * (g / denom);
        w += AvgCoef * (s0 / denom);
    }
}
