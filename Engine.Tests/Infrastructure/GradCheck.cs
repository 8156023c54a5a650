// Finite-difference gradient checks in double precision on the host: the oracle for every op's backward.
using System;
using NUnit.Framework;

namespace Engine.Tests.Infrastructure;

public static class GradCheck
{
    /// <summary>Central differences of a scalar function <paramref name="f"/> at <paramref name="x"/>, in double.</summary>
    public static double[] Numeric(Func<double[], double> f, double[] x, double eps = 1e-6)
    {
        var grad = new double[x.Length];
        var xp = (double[])x.Clone();
        for (int i = 0; i < x.Length; i++)
        {
            double orig = xp[i];
            xp[i] = orig + eps;
            double fp = f(xp);
            xp[i] = orig - eps;
            double fm = f(xp);
            xp[i] = orig;
            grad[i] = (fp - fm) / (2 * eps);
        }

        return grad;
    }

    /// <summary>
    /// Asserts that <paramref name="analytic"/> (an engine backward, float32) matches central differences of the
    /// double-precision host function <paramref name="f"/> (typically L(x) = sum(g * forward(x))) at <paramref name="x"/>.
    /// </summary>
    public static void AssertMatches(ReadOnlySpan<float> analytic, Func<double[], double> f, double[] x, string what, double atol = 1e-3, double rtol = 1e-2, double eps = 1e-6)
    {
        var numeric = Numeric(f, x, eps);
        HostMath.AssertClose(analytic, numeric, atol, rtol, what + " (analytic vs central differences)");
    }

    /// <summary>Widens float data to double.</summary>
    public static double[] ToDouble(ReadOnlySpan<float> x)
    {
        var d = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            d[i] = x[i];
        }

        return d;
    }
}
