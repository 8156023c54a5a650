// Double-precision host references of optimizer steps, for tests on buffers larger than the fixtures.
using System;

namespace Engine.Tests.Optim;

internal static class OptimRef
{
    /// <summary>One AdamW/Adam step in double (decoupled decay dwd, coupled wd) on w with state m, v at step t.</summary>
    public static void Adam(double[] w, double[] g, double[] m, double[] v, int t, double lr, double b1, double b2, double eps, double wd, double dwd)
    {
        double bc1 = 1 - Math.Pow(b1, t), bc2 = 1 - Math.Pow(b2, t);
        for (int i = 0; i < w.Length; i++)
        {
            double wi = w[i] * (1 - (lr * dwd));
            double gi = g[i] + (wd * wi);
            m[i] = (b1 * m[i]) + ((1 - b1) * gi);
            v[i] = (b2 * v[i]) + ((1 - b2) * gi * gi);
            double denom = (Math.Sqrt(v[i]) / Math.Sqrt(bc2)) + eps;
            w[i] = wi - (lr / bc1 * m[i] / denom);
        }
    }

    /// <summary>One SGD step in double (momentum, dampening, nesterov, coupled wd); first marks step 1.</summary>
    public static void Sgd(double[] w, double[] g, double[] buf, bool first, double lr, double momentum, double dampening, bool nesterov, double wd)
    {
        for (int i = 0; i < w.Length; i++)
        {
            double d = g[i] + (wd * w[i]);
            if (momentum != 0)
            {
                buf[i] = first ? d : (momentum * buf[i]) + ((1 - dampening) * d);
                d = nesterov ? d + (momentum * buf[i]) : buf[i];
            }

            w[i] -= lr * d;
        }
    }

    public static double[] Slice(double[] a, long offset, long length) => a.AsSpan((int)offset, (int)length).ToArray();

    public static double[] ToDouble(float[] a) => Array.ConvertAll(a, x => (double)x);
}
