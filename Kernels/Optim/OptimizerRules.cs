// The update rules of SGD, Adagrad, Adadelta and RMSprop (PyTorch 1.13's single-tensor rules), one struct each with
// its scalar and vector forms side by side; its fields are the step's scalars, computed on the host in double.
using System.Numerics;
using ILGPU.Algorithms;

namespace Engine.Kernels.Optim;

/// <summary>
/// SGD: with momentum, buf = d on the first step, else momentum * buf + (1 - dampening) * d; d = nesterov ? d +
/// momentum * buf : buf; w -= lr * d. State: S0 = momentum_buffer (used when momentum is non-zero).
/// </summary>
public struct SgdRule : IOptimizerRule
{
    /// <summary>Learning rate.</summary>
    public float LR;

    /// <summary>Momentum factor (used when <see cref="HasMomentum"/> is 1).</summary>
    public float Momentum;

    /// <summary>1 - dampening.</summary>
    public float OneMinusDampening;

    /// <summary>1 when momentum is non-zero.</summary>
    public int HasMomentum;

    /// <summary>1 for Nesterov momentum.</summary>
    public int Nesterov;

    /// <summary>1 on the first step: the momentum buffer is set to the gradient (no dampening), as PyTorch does.</summary>
    public int First;

    /// <inheritdoc />
    public readonly OptimElement Apply(OptimElement e, float g)
    {
        float d = g;
        if (HasMomentum != 0)
        {
            float b = First != 0 ? d : (Momentum * e.S0) + (OneMinusDampening * d);
            e.S0 = b;
            d = Nesterov != 0 ? d + (Momentum * b) : b;
        }

        e.W -= LR * d;
        return e;
    }

    /// <inheritdoc />
    public readonly void Apply(ref Vector<float> w, Vector<float> g, ref Vector<float> s0, ref Vector<float> s1, ref Vector<float> s2)
    {
        var d = g;
        if (HasMomentum != 0)
        {
            var b = First != 0 ? d : (Momentum * s0) + (OneMinusDampening * d);
            s0 = b;
            d = Nesterov != 0 ? d + (Momentum * b) : b;
        }

        w -= LR * d;
    }
}

/// <summary>Adagrad: sum += g^2; w -= clr * g / (sqrt(sum) + eps). State: S0 = sum.</summary>
public struct AdagradRule : IOptimizerRule
{
    /// <summary>lr / (1 + (step - 1) * lr_decay).</summary>
    public float Clr;

    /// <summary>Added to the square root of the accumulator.</summary>
    public float Eps;

    /// <inheritdoc />
    public readonly OptimElement Apply(OptimElement e, float g)
    {
        e.S0 += g * g;
        e.W -= Clr * (g / (XMath.Sqrt(e.S0) + Eps));
        return e;
    }

    /// <inheritdoc />
    public readonly void Apply(ref Vector<float> w, Vector<float> g, ref Vector<float> s0, ref Vector<float> s1, ref Vector<float> s2)
    {
        s0 += g * g;
        w -= Clr * (g / (Vector.SquareRoot(s0) + new Vector<float>(Eps)));
    }
}

/// <summary>
/// Adadelta: sq = rho sq + (1 - rho) g^2; delta = sqrt(acc + eps) / sqrt(sq + eps) g; acc = rho acc + (1 - rho)
/// delta^2; w -= lr delta. State: S0 = square_avg, S1 = acc_delta.
/// </summary>
public struct AdadeltaRule : IOptimizerRule
{
    /// <summary>Learning rate (scales the delta).</summary>
    public float LR;

    /// <summary>Decay of the running averages.</summary>
    public float Rho;

    /// <summary>1 - rho.</summary>
    public float OneMinusRho;

    /// <summary>Added inside both square roots.</summary>
    public float Eps;

    /// <inheritdoc />
    public readonly OptimElement Apply(OptimElement e, float g)
    {
        e.S0 = (e.S0 * Rho) + (OneMinusRho * g * g);
        float std = XMath.Sqrt(e.S0 + Eps);
        float delta = XMath.Sqrt(e.S1 + Eps) / std * g;
        e.S1 = (e.S1 * Rho) + (OneMinusRho * delta * delta);
        e.W -= LR * delta;
        return e;
    }

    /// <inheritdoc />
    public readonly void Apply(ref Vector<float> w, Vector<float> g, ref Vector<float> s0, ref Vector<float> s1, ref Vector<float> s2)
    {
        var eps = new Vector<float>(Eps);
        s0 = (s0 * Rho) + (OneMinusRho * g * g);
        var std = Vector.SquareRoot(s0 + eps);
        var delta = Vector.SquareRoot(s1 + eps) / std * g;
        s1 = (s1 * Rho) + (OneMinusRho * delta * delta);
        w -= LR * delta;
    }
}

/// <summary>
/// RMSprop: sq = alpha sq + (1 - alpha) g^2; centered: gavg = alpha gavg + (1 - alpha) g, avg = sqrt(sq - gavg^2),
/// else sqrt(sq); avg += eps; with momentum, buf = momentum buf + g / avg, w -= lr buf, else w -= lr g / avg.
/// State: S0 = square_avg, S1 = momentum_buffer, S2 = grad_avg.
/// </summary>
public struct RmspropRule : IOptimizerRule
{
    /// <summary>Learning rate.</summary>
    public float LR;

    /// <summary>Smoothing constant.</summary>
    public float Alpha;

    /// <summary>1 - alpha.</summary>
    public float OneMinusAlpha;

    /// <summary>Added to the root of the (centered) second moment.</summary>
    public float Eps;

    /// <summary>Momentum factor.</summary>
    public float Momentum;

    /// <summary>1 when momentum &gt; 0.</summary>
    public int HasMomentum;

    /// <summary>1 for the centered variant (keeps a running mean of the gradient).</summary>
    public int Centered;

    /// <inheritdoc />
    public readonly OptimElement Apply(OptimElement e, float g)
    {
        e.S0 = (e.S0 * Alpha) + (OneMinusAlpha * g * g);
        float avg;
        if (Centered != 0)
        {
            e.S2 = (e.S2 * Alpha) + (OneMinusAlpha * g);
            avg = XMath.Sqrt(e.S0 - (e.S2 * e.S2));
        }
        else
        {
            avg = XMath.Sqrt(e.S0);
        }

        avg += Eps;
        if (HasMomentum != 0)
        {
            e.S1 = (e.S1 * Momentum) + (g / avg);
            e.W -= LR * e.S1;
        }
        else
        {
            e.W -= LR * (g / avg);
        }

        return e;
    }

    /// <inheritdoc />
    public readonly void Apply(ref Vector<float> w, Vector<float> g, ref Vector<float> s0, ref Vector<float> s1, ref Vector<float> s2)
    {
        s0 = (s0 * Alpha) + (OneMinusAlpha * g * g);
        Vector<float> avg;
        if (Centered != 0)
        {
            s2 = (s2 * Alpha) + (OneMinusAlpha * g);
            avg = Vector.SquareRoot(s0 - (s2 * s2));
        }
        else
        {
            avg = Vector.SquareRoot(s0);
        }

        avg += new Vector<float>(Eps);
        if (HasMomentum != 0)
        {
            s1 = (s1 * Momentum) + (g / avg);
            w -= LR * s1;
        }
        else
        {
            w -= LR * (g / avg);
        }
    }
}
