// Double-precision reference losses written from PyTorch's / torchvision's definitions (independent of the engine),
// and a finite-difference check on a subset of coordinates for large inputs.
using System;
using System.Linq;
using Engine.Ops;
using Engine.Tests.Infrastructure;

namespace Engine.Tests.Ops;

public static class LossReference
{
    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    private static double Reduce(LossSpec s, double sum, int n) => s.Reduction == LossReduction.Mean ? sum / n : sum;

    /// <summary>The loss of pred and target (shape (N, C) for cross-entropy and region losses; any for pointwise).</summary>
    public static double Loss(LossSpec s, double[] pred, double[] target, double[]? weight, int c)
    {
        int n = pred.Length;
        switch (s.Op)
        {
            case "cross_entropy":
                return CrossEntropy(s, pred, target, weight, c);
            case "focal_softmax":
                return FocalSoftmax(s, pred, target, c);
            case "dice" or "iou" or "tversky":
                return Region(s, pred, target, c);
        }

        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            double p = pred[i], t = target[i], d = p - t;
            sum += s.Op switch
            {
                "mse" => d * d,
                "mae" => Math.Abs(d),
                "huber" => Math.Abs(d) < s.Delta ? 0.5 * d * d : s.Delta * (Math.Abs(d) - (0.5 * s.Delta)),
                "smooth_l1" => Math.Abs(d) < s.Beta ? 0.5 * d * d / s.Beta : Math.Abs(d) - (0.5 * s.Beta),
                "bce" => -((t * Math.Max(Math.Log(p), -100)) + ((1 - t) * Math.Max(Math.Log(1 - p), -100))),
                "bce_with_logits" => -((t * Math.Log(Sigmoid(p))) + ((1 - t) * Math.Log(1 - Sigmoid(p)))),
                "focal" => Focal(s, p, t),
                _ => throw new ArgumentException($"no reference for loss {s.Op}"),
            };
        }

        return Reduce(s, sum, n);
    }

    private static double Focal(LossSpec s, double x, double t)
    {
        double p = Sigmoid(x);
        double ce = -((t * Math.Log(p)) + ((1 - t) * Math.Log(1 - p)));
        double pt = (p * t) + ((1 - p) * (1 - t));
        double l = ce * Math.Pow(1 - pt, s.Gamma);
        return s.Alpha >= 0 ? ((s.Alpha * t) + ((1 - s.Alpha) * (1 - t))) * l : l;
    }

    private static double CrossEntropy(LossSpec s, double[] x, double[] target, double[]? w, int c)
    {
        int n = x.Length / c;
        double e = s.LabelSmoothing, num = 0, den = 0;
        var logp = new double[c];
        for (int i = 0; i < n; i++)
        {
            double m = double.NegativeInfinity, sum = 0;
            for (int k = 0; k < c; k++)
            {
                m = Math.Max(m, x[(i * c) + k]);
            }

            for (int k = 0; k < c; k++)
            {
                sum += Math.Exp(x[(i * c) + k] - m);
            }

            for (int k = 0; k < c; k++)
            {
                logp[k] = x[(i * c) + k] - m - Math.Log(sum);
            }

            if (s.TargetKind == CrossEntropyTarget.Probabilities)
            {
                for (int k = 0; k < c; k++)
                {
                    num -= (w?[k] ?? 1) * (((1 - e) * target[(i * c) + k]) + (e / c)) * logp[k];
                }

                den += 1;
            }
            else
            {
                int y = (int)target[i];
                double wy = w?[y] ?? 1, smooth = 0;
                for (int k = 0; k < c; k++)
                {
                    smooth -= (w?[k] ?? 1) * logp[k];
                }

                num += ((1 - e) * -wy * logp[y]) + (e / c * smooth);
                den += wy;
            }
        }

        if (s.Reduction == LossReduction.Sum)
        {
            return num;
        }

        return s.TargetKind == CrossEntropyTarget.Indices && w is not null ? num / den : num / n;
    }

    /// <summary>The seeds' multi-class focal loss: -alpha (1 - p_t)^gamma log p_t with p = softmax(x) per row.</summary>
    private static double FocalSoftmax(LossSpec s, double[] x, double[] target, int c)
    {
        int n = x.Length / c;
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            var row = x.AsSpan(i * c, c);
            double m = double.NegativeInfinity, z = 0;
            foreach (double v in row)
            {
                m = Math.Max(m, v);
            }

            foreach (double v in row)
            {
                z += Math.Exp(v - m);
            }

            double lpt = row[(int)target[i]] - m - Math.Log(z);
            sum += -s.Alpha * Math.Pow(1 - Math.Exp(lpt), s.Gamma) * lpt;
        }

        return Reduce(s, sum, n);
    }

    private static double Region(LossSpec s, double[] p, double[] y, int c)
    {
        int n = p.Length / c;
        double acc = 0;
        for (int k = 0; k < c; k++)
        {
            double tp = 0, fp = 0, fn = 0, ps = 0, ys = 0;
            for (int i = 0; i < n; i++)
            {
                double pv = p[(i * c) + k], yv = y[(i * c) + k];
                tp += pv * yv;
                fp += pv * (1 - yv);
                fn += (1 - pv) * yv;
                ps += pv;
                ys += yv;
            }

            acc += s.Op switch
            {
                "dice" => ((2 * tp) + s.Eps) / (ps + ys + s.Eps),
                "iou" => (tp + s.Eps) / (ps + ys - tp + s.Eps),
                "tversky" => (tp + s.Eps) / (tp + (s.Alpha * fp) + (s.Beta * fn) + s.Eps),
                _ => throw new ArgumentException($"no reference for loss {s.Op}"),
            };
        }

        return 1 - (acc / c);
    }

    /// <summary>torch triplet_margin_loss with eps 1e-6 inside the pairwise distance.</summary>
    public static double Triplet(LossSpec s, double[] a, double[] p, double[] q, int d)
    {
        int n = a.Length / d;
        double Dist(double[] x, int i) => Math.Pow(Enumerable.Range(0, d).Sum(k => Math.Pow(Math.Abs(a[(i * d) + k] - x[(i * d) + k] + 1e-6), s.P)), 1 / s.P);
        double sum = Enumerable.Range(0, n).Sum(i => Math.Max(Dist(p, i) - Dist(q, i) + s.Margin, 0));
        return Reduce(s, sum, n);
    }

    /// <summary>
    /// Asserts that <paramref name="analytic"/> matches central differences of <paramref name="f"/> at up to
    /// <paramref name="samples"/> coordinates (all when there are fewer), chosen deterministically. The absolute
    /// tolerance is <paramref name="atolFraction"/> of the largest expected magnitude.
    /// </summary>
    public static void AssertGradient(ReadOnlySpan<float> analytic, Func<double[], double> f, double[] x, string what, int samples = 48, double atolFraction = 1e-3, double rtol = 1e-2, double eps = 1e-6)
    {
        var idx = x.Length <= samples ? Enumerable.Range(0, x.Length).ToArray() : Enumerable.Range(0, samples).Select(i => (int)((long)i * 7919 % x.Length)).Distinct().ToArray();
        var got = new float[idx.Length];
        var want = new double[idx.Length];
        var xp = (double[])x.Clone();
        for (int j = 0; j < idx.Length; j++)
        {
            int i = idx[j];
            xp[i] = x[i] + eps;
            double fp = f(xp);
            xp[i] = x[i] - eps;
            double fm = f(xp);
            xp[i] = x[i];
            want[j] = (fp - fm) / (2 * eps);
            got[j] = analytic[i];
        }

        double atol = (atolFraction * want.Max(Math.Abs)) + 1e-9;
        HostMath.AssertClose(got, want, atol, rtol, what + " (analytic vs central differences at sampled coordinates)");
    }
}
