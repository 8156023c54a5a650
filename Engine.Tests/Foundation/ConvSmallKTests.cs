// The thin-product loops of the fused host convolution against double sums: row and tap counts that are not
// multiples of the 4 x 4 weight-gradient blocks, lengths that are not multiples of the vector width.
using System;
using Engine.Backends.Cpu;
using NUnit.Framework;

namespace Engine.Tests.Foundation;

public sealed unsafe class ConvSmallKTests
{
    [TestCase(32, 9, 784)]
    [TestCase(5, 7, 37)]
    [TestCase(3, 2, 5)]
    [TestCase(8, 16, 64)]
    [TestCase(9, 13, 17)]
    public void Weight_gradient_adds_row_by_tap_dot_products(int rows, int k, int hw)
    {
        var r = new Random(rows + (7 * k) + hw);
        var dy = Fill(r, rows * hw);
        var col = Fill(r, k * hw);
        var dw = Fill(r, rows * k);
        var start = (float[])dw.Clone();
        fixed (float* pdy = dy, pcol = col, pdw = dw)
        {
            ConvSmallK.WeightGrad(pdy, rows, hw, pcol, k, pdw);
        }

        for (int i = 0; i < rows; i++)
        {
            for (int q = 0; q < k; q++)
            {
                double want = start[(i * k) + q], abs = Math.Abs(want);
                for (int p = 0; p < hw; p++)
                {
                    want += (double)dy[(i * hw) + p] * col[(q * hw) + p];
                    abs += Math.Abs((double)dy[(i * hw) + p] * col[(q * hw) + p]);
                }

                Assert.That(dw[(i * k) + q], Is.EqualTo(want).Within(1e-5 + (2e-6 * abs)), $"dw[{i}, {q}]");
            }
        }
    }

    private static float[] Fill(Random r, int n)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = (float)(r.NextDouble() - 0.5);
        }

        return v;
    }
}
