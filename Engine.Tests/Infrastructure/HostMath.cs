// Double-precision host references and comparison helpers shared by the tests.
using System;
using NUnit.Framework;

namespace Engine.Tests.Infrastructure;

public static class HostMath
{
    /// <summary>Deterministic uniform values in [lo, hi).</summary>
    public static float[] Random(int n, int seed, float lo = -1f, float hi = 1f)
    {
        var r = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = lo + ((hi - lo) * (float)r.NextDouble());
        }

        return a;
    }

    /// <summary>Asserts |got - want| &lt;= atol + rtol * |want| element-wise, reporting the worst element.</summary>
    public static void AssertClose(ReadOnlySpan<float> got, ReadOnlySpan<double> want, double atol, double rtol, string what)
    {
        Assert.That(got.Length, Is.EqualTo(want.Length), $"{what}: length");
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < got.Length; i++)
        {
            double err = Math.Abs(got[i] - want[i]);
            double tol = atol + (rtol * Math.Abs(want[i]));
            if (double.IsNaN(got[i]) != double.IsNaN(want[i]) || err > tol)
            {
                double excess = double.IsNaN(err) ? double.PositiveInfinity : err - tol;
                if (worst < 0 || excess > worstExcess)
                {
                    worst = i;
                    worstExcess = excess;
                }
            }
        }

        if (worst >= 0)
        {
            Assert.Fail($"{what}: element {worst} is {got[worst]} but expected {want[worst]} (atol {atol}, rtol {rtol}).");
        }
    }
}
