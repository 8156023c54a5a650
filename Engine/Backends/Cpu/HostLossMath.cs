// Double-precision loss terms and derivatives for the host path (the float kernels mirror them in
// Kernels/Losses): pointwise terms, cross-entropy row gradients, p-norm distances and region-loss ratios.
using System;
using Engine.Kernels.Losses;

namespace Engine.Backends.Cpu;

/// <summary>Scalar loss math in double, with PyTorch's conventions at the kinks (see <see cref="PointwiseLossMath"/>).</summary>
internal static unsafe class HostLossMath
{
    public static double Sigmoid(double x) => 1.0 / (1.0 + Math.Exp(-x));

    public static double Log1p(double z)
    {
        double w = 1.0 + z;
        return w == 1.0 ? z : Math.Log(w) * z / (w - 1.0);
    }

    public static double LogitsBce(double x, double t) => ((1 - t) * x) + Math.Max(-x, 0) + Log1p(Math.Exp(-Math.Abs(x)));

    public static double Term(double p, double t, in LossParams q)
    {
        double d = p - t, z = Math.Abs(d), a = q.A;
        switch (q.Kind)
        {
            case LossCodes.Mse:
                return d * d;
            case LossCodes.Mae:
                return z;
            case LossCodes.Huber:
                return z < a ? 0.5 * d * d : a * (z - (0.5 * a));
            case LossCodes.SmoothL1:
                return z < a ? 0.5 * d * d / a : z - (0.5 * a);
            case LossCodes.Bce:
                return -((t * Math.Max(Math.Log(p), -100)) + ((1 - t) * Math.Max(Math.Log(1 - p), -100)));
            case LossCodes.BceWithLogits:
                return LogitsBce(p, t);
            default:
                {
                    double m = (Sigmoid(p) * (1 - t)) + (Sigmoid(-p) * t);
                    double l = LogitsBce(p, t) * (a == 0 ? 1 : Math.Pow(m, a));
                    return q.B >= 0 ? l * ((q.B * t) + ((1 - q.B) * (1 - t))) : l;
                }
        }
    }

    public static double Derivative(double p, double t, in LossParams q)
    {
        double d = p - t, a = q.A;
        switch (q.Kind)
        {
            case LossCodes.Mse:
                return 2 * d;
            case LossCodes.Mae:
                return Math.Sign(d);
            case LossCodes.Huber:
                return d <= -a ? -a : (d >= a ? a : d);
            case LossCodes.SmoothL1:
                return d <= -a ? -1 : (d >= a ? 1 : d / a);
            case LossCodes.Bce:
                return d / Math.Max((1 - p) * p, 1e-12);
            case LossCodes.BceWithLogits:
                return Sigmoid(p) - t;
            default:
                {
                    double s = Sigmoid(p), r = Sigmoid(-p);
                    double m = (s * (1 - t)) + (r * t);
                    double g = (s - t) * (a == 0 ? 1 : Math.Pow(m, a));
                    if (a != 0)
                    {
                        g += LogitsBce(p, t) * a * Math.Pow(m, a - 1) * s * r * (1 - (2 * t));
                    }

                    return q.B >= 0 ? g * ((q.B * t) + ((1 - q.B) * (1 - t))) : g;
                }
        }
    }

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
    public static void CrossEntropyRowGrad(float* pred, float* target, float* weight, float* dpred, int row, in LossParams q, double s)
    {
        int c = q.C;
        long b = (long)row * c;
        float* x = pred + b;
        var (m, ls) = LogSumExp(x, c);
        double e = q.Eps;
        bool hasW = q.HasWeight != 0;
        if (q.TargetProbs != 0)
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

    /// <summary>dr_c/dp for one element with target y and class sums I, P, Y.</summary>
    public static double RatioGrad(double y, double i, double ps, double ys, in LossParams q)
    {
        double eps = q.Eps;
        switch (q.Kind)
        {
            case LossCodes.Dice:
                {
                    double den = ps + ys + eps;
                    return ((2 * y * den) - ((2 * i) + eps)) / (den * den);
                }

            case LossCodes.Iou:
                {
                    double u = ps + ys - i + eps;
                    return ((y * u) - ((i + eps) * (1 - y))) / (u * u);
                }

            default:
                {
                    double den = i + (q.A * (ps - i)) + (q.B * (ys - i)) + eps;
                    double dden = y + (q.A * (1 - y)) - (q.B * y);
                    return ((y * den) - ((i + eps) * dden)) / (den * den);
                }
        }
    }
}
