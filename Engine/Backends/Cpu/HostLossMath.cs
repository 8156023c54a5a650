// Double-precision row math of the host path's cross-entropy and triplet losses (the float kernels mirror it in
// Kernels/Losses); the pointwise and region losses carry their double forms in their operator structs.
using System;
using Engine.Kernels.Losses;

namespace Engine.Backends.Cpu;

/// <summary>Cross-entropy and triplet row math in double.</summary>
internal static unsafe class HostLossMath
{
    /// <summary>(max, log sum exp(x - max)) of a row; callers form (max - x_k) + the second, exact for huge logits.</summary>
    public static (double Max, double LogSum) LogSumExp(float* x, int c)
    {
        double m = x[0];
        for (int k = 1; k < c; k++)
        {
            m = Math.Max(m, x[k]);
        }

        double s = 0;
        for (int k = 0; k < c; k++)
        {
            s += Math.Exp(x[k] - m);
        }

        return (m, Math.Log(s));
    }

    /// <summary>dpred of one cross-entropy row, times <paramref name="s"/> (scale, upstream and denominator).</summary>
    public static void CrossEntropyRowGrad(float* pred, float* target, float* weight, float* dpred, int row, int c, in CrossEntropyParams q, double s)
    {
        long b = (long)row * c;
        float* x = pred + b;
        var (m, ls) = LogSumExp(x, c);
        double e = q.LabelSmoothing;
        bool hasW = q.HasWeight != 0;
        if (q.TargetIsProbabilities != 0)
        {
            double tw = 0;
            for (int k = 0; k < c; k++)
            {
                tw += (hasW ? weight[k] : 1.0) * (((1 - e) * target[b + k]) + (e / c));
            }

            for (int k = 0; k < c; k++)
            {
                double tk = ((1 - e) * target[b + k]) + (e / c);
                dpred[b + k] = (float)(s * ((tw * Math.Exp(x[k] - m - ls)) - ((hasW ? weight[k] : 1.0) * tk)));
            }

            return;
        }

        int y = (int)target[row];
        double wy = hasW ? weight[y] : 1.0, wsum = 0;
        for (int k = 0; e != 0 && k < c; k++)
        {
            wsum += hasW ? weight[k] : 1.0;
        }

        for (int k = 0; k < c; k++)
        {
            double sm = Math.Exp(x[k] - m - ls);
            double g = ((1 - e) * wy * (sm - (k == y ? 1 : 0))) + (e / c * ((wsum * sm) - (hasW ? weight[k] : 1.0)));
            dpred[b + k] = (float)(s * g);
        }
    }

    /// <summary>|| a - x + eps ||_p over d components (torch pairwise_distance).</summary>
    public static double Distance(float* a, float* x, int d, double p)
    {
        double acc = 0;
        for (int k = 0; k < d; k++)
        {
            double v = Math.Abs((double)a[k] - x[k] + TripletKernels.DistanceEps);
            acc += p == 2 ? v * v : (p == 1 ? v : Math.Pow(v, p));
        }

        return p == 2 ? Math.Sqrt(acc) : (p == 1 ? acc : Math.Pow(acc, 1 / p));
    }

    /// <summary>d||v||_p / dv_k (torch's norm backward; 0 where the norm is 0).</summary>
    public static double NormGrad(double v, double norm, double p)
    {
        if (p == 1)
        {
            return Math.Sign(v);
        }

        if (norm == 0)
        {
            return 0;
        }

        return p == 2 ? v / norm : Math.Sign(v) * Math.Pow(Math.Abs(v), p - 1) / Math.Pow(norm, p - 1);
    }
}
