// Helpers for the graph tests: deterministic parameters and a double-precision host reference of Linear.
using System;
using Engine.Nn;
using Engine.Tests.Infrastructure;

namespace Engine.Tests.Graph;

internal static class GraphTestUtil
{
    /// <summary>Fills every parameter with seeded values in [-scale, scale).</summary>
    public static void Randomize(ParameterSet ps, int seed, float scale = 0.5f)
    {
        ps.Values.CopyFrom(HostMath.Random((int)ps.TotalLength, seed, -scale, scale));
    }

    /// <summary>y = x W^T + b in double (x: rows x in, W: out x in).</summary>
    public static double[] Linear(double[] x, int rows, float[] w, float[]? b, int inF, int outF)
    {
        var y = new double[rows * outF];
        for (int r = 0; r < rows; r++)
        {
            for (int o = 0; o < outF; o++)
            {
                double acc = b is null ? 0 : b[o];
                for (int i = 0; i < inF; i++)
                {
                    acc += x[(r * inF) + i] * w[(o * inF) + i];
                }

                y[(r * outF) + o] = acc;
            }
        }

        return y;
    }

    public static double[] ToDouble(float[] a) => GradCheck.ToDouble(a);
}
