// Multi-class focal loss over softmax probabilities, as the seeds write it: l = -alpha (1 - p_t)^gamma log p_t with
// p = softmax(x) of a row of C logits and t its class. The row math (float for the kernels, double for the host path)
// sits beside the two kernels: a grid-stride partial-sum forward and a one-thread-per-row backward.
using System;
using ILGPU;
using ILGPU.Algorithms;
using Engine.Kernels.Reduction;

namespace Engine.Kernels.Losses;

/// <summary>Parameters of the softmax focal loss.</summary>
public struct FocalSoftmaxParams
{
    /// <summary>The focusing exponent gamma (&gt;= 0; 0 is cross-entropy times alpha).</summary>
    public float Gamma;

    /// <summary>The scalar weight alpha.</summary>
    public float Alpha;
}

/// <summary>
/// The loss of one row from q = 1 - p_t and lp = log p_t (both computed from exact logit differences:
/// q = sum_{k != t} e^{x_k - m} / S, lp = (x_t - m) - log S, so neither loses precision at extreme logits), and the
/// factor F with dl/dx_j = F (p_j - [j = t]): F = alpha (q^gamma - gamma q^(gamma-1) p_t lp). Where PyTorch's
/// autograd gives NaN (q = 0 with 0 &lt; gamma &lt; 1) so does F; gamma = 0 drops the second term as torch's pow does.
/// </summary>
public readonly struct FocalSoftmaxLoss
{
    /// <summary>-alpha q^gamma lp.</summary>
    public static float Term(float q, float lp, FocalSoftmaxParams p) => -p.Alpha * Power(q, p.Gamma) * lp;

    /// <summary>The factor F of dl/dx_j = F (p_j - [j = t]).</summary>
    public static float Factor(float q, float lp, FocalSoftmaxParams p)
    {
        float second = p.Gamma == 0f ? 0f : p.Gamma * Power(q, p.Gamma - 1f) * (1f - q) * lp;
        return p.Alpha * (Power(q, p.Gamma) - second);
    }

    // q^e with q^0 = 1 for every q (as torch; a pow through exp and log would give NaN at q = 0).
    private static float Power(float q, float e) => e == 0f ? 1f : (e == 1f ? q : (e == 2f ? q * q : XMath.Pow(q, e)));

    /// <summary>The term in double (host path).</summary>
    public static double Term(double q, double lp, in FocalSoftmaxParams p) => -p.Alpha * Math.Pow(q, p.Gamma) * lp;

    /// <summary>The factor in double (host path).</summary>
    public static double Factor(double q, double lp, in FocalSoftmaxParams p)
    {
        double second = p.Gamma == 0f ? 0 : p.Gamma * Math.Pow(q, p.Gamma - 1.0) * (1 - q) * lp;
        return p.Alpha * (Math.Pow(q, p.Gamma) - second);
    }
}

/// <summary>
/// Kernels of the softmax focal loss over pred (N, C) logits and target (N) class numbers stored as floats. A class
/// number that is not an integer in [0, C) makes its row's loss and gradient NaN.
/// </summary>
public static class FocalSoftmaxKernels
{
    /// <summary>
    /// First pass of the forward over rows (grid-stride): partials[g] = sum of the row losses of group g.
    /// partials: (groups); launch at most <see cref="GroupReduce.MaxGroups"/> groups of a power-of-two size.
    /// </summary>
    public static void Reduce(ArrayView<float> pred, ArrayView<float> target, ArrayView<float> partials, LossCall call, FocalSoftmaxParams q)
    {
        var shared = SharedMemory.Allocate<float>(GroupReduce.MaxGroupSize);
        int stride = Grid.DimX * Group.DimX;
        int n = call.N;
        int c = call.C;
        float acc = 0f;
        for (int row = (Grid.IdxX * Group.DimX) + Group.IdxX; row < n; row += stride)
        {
            float yf = target[row];
            int y = (int)yf;
            if (y != yf || y < 0 || y >= c)
            {
                acc += float.NaN;
                continue;
            }

            long b = (long)row * c;
            float m = CrossEntropyKernels.RowMax(pred, b, c);
            float rest = 0f;
            for (int k = 0; k < c; k++)
            {
                rest += k == y ? 0f : XMath.Exp(pred[b + k] - m);
            }

            float et = XMath.Exp(pred[b + y] - m);
            float s = rest + et;
            acc += FocalSoftmaxLoss.Term(rest / s, pred[b + y] - m - XMath.Log(s), q);
        }

        float total = GroupReduce.Sum(acc, shared);
        if (Group.IdxX == 0)
        {
            partials[Grid.IdxX] = total;
        }
    }

    /// <summary>
    /// Backward, one thread per row: dpred[row, j] = s F (p_j - [j = t]) with s = Scale (times upstream[0] when
    /// HasUpstream). Launch over N rows.
    /// </summary>
    public static void Backward(Index1D row, ArrayView<float> pred, ArrayView<float> target, ArrayView<float> upstream, ArrayView<float> dpred, LossCall call, FocalSoftmaxParams q)
    {
        int c = call.C;
        long b = (long)row.X * c;
        float s = call.HasUpstream != 0 ? call.Scale * upstream[0] : call.Scale;
        float yf = target[row];
        int y = (int)yf;
        if (y != yf || y < 0 || y >= c)
        {
            for (int k = 0; k < c; k++)
            {
                dpred[b + k] = float.NaN;
            }

            return;
        }

        float m = CrossEntropyKernels.RowMax(pred, b, c);
        float rest = 0f;
        for (int k = 0; k < c; k++)
        {
            rest += k == y ? 0f : XMath.Exp(pred[b + k] - m);
        }

        float sum = rest + XMath.Exp(pred[b + y] - m);
        float inv = 1f / sum;
        float qv = rest * inv;
        float f = s * FocalSoftmaxLoss.Factor(qv, pred[b + y] - m - XMath.Log(sum), q);
        for (int k = 0; k < c; k++)
        {
            // p_t - 1 = -q exactly, without the cancellation.
            dpred[b + k] = f * (k == y ? -qv : XMath.Exp(pred[b + k] - m) * inv);
        }
    }
}
