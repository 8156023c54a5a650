// The shift (implicit-GEMM) host convolution, both tile widths, against a plain double convolution on odd shapes:
// forward with and without bias, input and weight gradients overwritten and accumulated, groups, dilation, padding
// above the kernel reach and below it on one side, last tiles of full and half width, 16-lane weight-gradient tiles,
// strides 2 and 3 (stride phases) with padding 0, 1 and one-sided, 1x1 kernels with stride 2 and with padding.
using System;
using System.Collections.Generic;
using Engine.Backends.Cpu;
using Engine.Kernels.Conv;
using NUnit.Framework;

namespace Engine.Tests.Foundation;

public sealed unsafe class ConvShiftTests
{
    private static readonly GemmKernel[] Kernels = [GemmKernel.Vector256, GemmKernel.Vector512];

    // (N, Cin, H, W, Cout, kH, kW, padT, padL, padB, padR, dilation, groups[, strideH[, strideW]])
    private static readonly int[][] Cases =
    [
        [2, 3, 7, 9, 17, 3, 3, 1, 1, 1, 1, 1, 1],
        [3, 5, 9, 7, 33, 3, 3, 0, 0, 0, 0, 1, 1],
        [2, 17, 5, 11, 9, 3, 3, 1, 1, 1, 1, 2, 1],
        [1, 33, 6, 6, 10, 5, 5, 2, 2, 2, 2, 1, 1],
        [2, 6, 7, 9, 16, 3, 3, 1, 1, 1, 1, 1, 2],
        [2, 8, 7, 9, 12, 3, 2, 1, 0, 0, 1, 1, 1],
        [1, 4, 5, 6, 8, 3, 3, 3, 3, 3, 3, 1, 1],
        [3, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1],
        [2, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1],
        [1, 2, 3, 40, 8, 1, 9, 0, 4, 0, 4, 1, 1],
        [2, 7, 6, 5, 48, 3, 3, 1, 1, 1, 1, 1, 1],
        [2, 3, 7, 9, 17, 3, 3, 1, 1, 1, 1, 1, 1, 2],
        [3, 5, 9, 7, 33, 3, 3, 0, 0, 0, 0, 1, 1, 2],
        [2, 17, 8, 10, 9, 3, 3, 0, 1, 1, 0, 1, 1, 2],
        [2, 33, 7, 9, 16, 1, 1, 0, 0, 0, 0, 1, 1, 2],
        [2, 17, 9, 7, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        [2, 6, 9, 9, 16, 3, 3, 1, 1, 1, 1, 1, 2, 2],
        [1, 4, 8, 9, 8, 5, 5, 2, 2, 2, 2, 1, 1, 2],
        [2, 16, 16, 16, 32, 3, 3, 1, 1, 1, 1, 1, 1, 2],
        [2, 5, 10, 11, 8, 3, 3, 1, 1, 1, 1, 1, 1, 3],
        [2, 5, 9, 10, 12, 3, 3, 1, 0, 1, 2, 1, 1, 2, 1],
        [2, 32, 16, 16, 64, 1, 1, 0, 0, 0, 0, 1, 1, 2],
    ];

    public static IEnumerable<TestCaseData> Shapes()
    {
        foreach (var kernel in Kernels)
        {
            for (int i = 0; i < Cases.Length; i++)
            {
                var c = Cases[i];
                yield return new TestCaseData((int)kernel, i).SetArgDisplayNames(kernel.ToString(),
                    $"{c[0]}x{c[1]}x{c[2]}x{c[3]}_{c[4]}x{c[5]}x{c[6]}_p{c[7]}{c[8]}{c[9]}{c[10]}_d{c[11]}_g{c[12]}_s{(c.Length > 13 ? c[13] : 1)}{(c.Length > 14 ? c[14] : c.Length > 13 ? c[13] : 1)}");
            }
        }
    }

    [TestCaseSource(nameof(Shapes))]
    public void Forward_matches_double_reference(int kernel, int index)
    {
        var t = new Problem(Cases[index], seed: index);
        bool strided1x1 = t.KH * t.KW == 1 && t.SH * t.SW > 1;
        Assert.That(ConvShift.Applies(t.P, t.Groups, t.Cout, (GemmKernel)kernel), Is.EqualTo(!strided1x1), "strided 1x1 kernels are left to im2col (run here directly)");
        foreach (bool bias in new[] { true, false })
        {
            var y = new float[t.YLen];
            Array.Fill(y, float.NaN);
            fixed (float* px = t.X, pw = t.Wt, pb = t.B, py = y)
            {
                ConvShift.Forward((GemmKernel)kernel, t.P, t.Groups, t.Cout, px, pw, bias ? pb : null, py);
            }

            t.Reference(out var yRef, out var yAbs, out _, out _, out _, out _, bias);
            Near(y, yRef, yAbs, "y");
        }
    }

    [TestCaseSource(nameof(Shapes))]
    public void Backward_matches_double_reference(int kernel, int index)
    {
        var t = new Problem(Cases[index], seed: 100 + index);
        t.Reference(out _, out _, out var dxRef, out var dxAbs, out var dwRef, out var dwAbs, false);
        foreach (bool accumulate in new[] { false, true })
        {
            foreach (int want in new[] { 3, 1, 2 })
            {
                var dx = new float[t.X.Length];
                var dw = new float[t.Wt.Length];
                var rng = new Random(index);
                float start = accumulate ? 0.5f : float.NaN;
                Array.Fill(dx, start);
                Array.Fill(dw, start);
                fixed (float* px = t.X, pw = t.Wt, pdy = t.Dy, pdx = dx, pdw = dw)
                {
                    ConvShift.Backward((GemmKernel)kernel, t.P, t.Groups, t.Cout, px, pw, pdy, (want & 1) != 0 ? pdx : null, (want & 2) != 0 ? pdw : null, accumulate);
                }

                float add = accumulate ? 0.5f : 0f;
                if ((want & 1) != 0)
                {
                    Near(dx, Shift(dxRef, add), dxAbs, $"dx (accumulate {accumulate}, want {want})");
                }
                else
                {
                    Assert.That(dx, Has.All.EqualTo(start).Or.NaN, "dx not wanted");
                }

                if ((want & 2) != 0)
                {
                    Near(dw, Shift(dwRef, add), dwAbs, $"dw (accumulate {accumulate}, want {want})");
                }
            }
        }
    }

    [Test]
    public void Dilated_strides_pointwise_and_thin_products_are_left_to_the_other_paths()
    {
        var p = new Problem([2, 8, 9, 9, 16, 3, 3, 1, 1, 1, 1, 1, 1], 0).P;
        Assert.That(ConvShift.Applies(p, 1, 16, GemmKernel.Vector512), Is.True);
        Assert.That(ConvShift.Applies(p with { StrideH = 2, OutH = 5 }, 1, 16, GemmKernel.Vector512), Is.True);
        Assert.That(ConvShift.Applies(p with { StrideH = 2, OutH = 3, DilationH = 2 }, 1, 16, GemmKernel.Vector512), Is.False);
        Assert.That(ConvShift.Applies(p with { KernelH = 1, KernelW = 1, PadTop = 0, PadLeft = 0, StrideH = 2, StrideW = 2, OutH = 5, OutW = 5 }, 1, 16, GemmKernel.Vector512), Is.False);
        Assert.That(ConvShift.Applies(p, 1, 16, GemmKernel.Vector128), Is.False);
        Assert.That(ConvShift.Applies(p, 1, 4, GemmKernel.Vector512), Is.False);
        Assert.That(ConvShift.Applies(p with { Channels = 1 }, 1, 16, GemmKernel.Vector512), Is.False);
        Assert.That(ConvShift.Applies(p with { KernelH = 1, KernelW = 1, PadTop = 0, PadLeft = 0 }, 1, 16, GemmKernel.Vector512), Is.False);
        Assert.That(() => ConvShift.Forward(GemmKernel.Vector128, p, 1, 16, null, null, null, null), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    internal static double[] Shift(double[] v, float add)
    {
        var r = new double[v.Length];
        for (int i = 0; i < v.Length; i++)
        {
            r[i] = v[i] + add;
        }

        return r;
    }

    internal static void Near(float[] got, double[] want, double[] abs, string what)
    {
        for (int i = 0; i < got.Length; i++)
        {
            double tol = 1e-5 + (2e-6 * abs[i]);
            Assert.That(Math.Abs(got[i] - want[i]), Is.LessThanOrEqualTo(tol), $"{what}[{i}]: got {got[i]}, want {want[i]}");
        }
    }

    internal sealed class Problem
    {
        public readonly int N, Cin, H, W, Cout, KH, KW, PadT, PadL, OutH, OutW, Dil, Groups, SH, SW;
        public readonly float[] X, Wt, B, Dy;
        public readonly Im2ColParams P;

        public Problem(int[] c, int seed)
        {
            (N, Cin, H, W, Cout, KH, KW, PadT, PadL, Dil, Groups) = (c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[11], c[12]);
            SH = c.Length > 13 ? c[13] : 1;
            SW = c.Length > 14 ? c[14] : SH;
            OutH = ((H + PadT + c[9] - (Dil * (KH - 1)) - 1) / SH) + 1;
            OutW = ((W + PadL + c[10] - (Dil * (KW - 1)) - 1) / SW) + 1;
            var r = new Random(seed);
            X = Fill(r, N * Cin * H * W);
            Wt = Fill(r, Cout * (Cin / Groups) * KH * KW);
            B = Fill(r, Cout);
            Dy = Fill(r, YLen);
            P = new Im2ColParams
            {
                Images = N, Channels = Cin, Height = H, Width = W, KernelH = KH, KernelW = KW, StrideH = SH, StrideW = SW,
                PadTop = PadT, PadLeft = PadL, DilationH = Dil, DilationW = Dil, OutH = OutH, OutW = OutW,
            };
        }

        public int YLen => N * Cout * OutH * OutW;

        /// <summary>y = conv(x, w) (+ b), dx and dw of Dy, each with the sum of absolute terms (for the tolerance).</summary>
        public void Reference(out double[] y, out double[] yAbs, out double[] dx, out double[] dxAbs, out double[] dw, out double[] dwAbs, bool bias)
        {
            y = new double[YLen];
            yAbs = new double[YLen];
            dx = new double[X.Length];
            dxAbs = new double[X.Length];
            dw = new double[Wt.Length];
            dwAbs = new double[Wt.Length];
            int cinG = Cin / Groups, coutG = Cout / Groups;
            for (int n = 0; n < N; n++)
            {
                for (int co = 0; co < Cout; co++)
                {
                    int g = co / coutG;
                    for (int oh = 0; oh < OutH; oh++)
                    {
                        for (int ow = 0; ow < OutW; ow++)
                        {
                            int yi = (((n * Cout) + co) * OutH + oh) * OutW + ow;
                            double s = bias ? B[co] : 0.0, a = Math.Abs(s);
                            for (int ci = 0; ci < cinG; ci++)
                            {
                                for (int kh = 0; kh < KH; kh++)
                                {
                                    int ih = (oh * SH) - PadT + (kh * Dil);
                                    for (int kw = 0; kw < KW; kw++)
                                    {
                                        int iw = (ow * SW) - PadL + (kw * Dil);
                                        if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                        {
                                            continue;
                                        }

                                        int xi = (((n * Cin) + (g * cinG) + ci) * H + ih) * W + iw;
                                        int wi = (((co * cinG) + ci) * KH + kh) * KW + kw;
                                        s += (double)Wt[wi] * X[xi];
                                        a += Math.Abs((double)Wt[wi] * X[xi]);
                                        dx[xi] += (double)Wt[wi] * Dy[yi];
                                        dxAbs[xi] += Math.Abs((double)Wt[wi] * Dy[yi]);
                                        dw[wi] += (double)X[xi] * Dy[yi];
                                        dwAbs[wi] += Math.Abs((double)X[xi] * Dy[yi]);
                                    }
                                }
                            }

                            y[yi] = s;
                            yAbs[yi] = a;
                        }
                    }
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
}
