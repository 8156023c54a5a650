// Direct (loop-nest) double-precision definitions of conv2d, conv_transpose2d and the poolings: the oracles of the op tests.
using System;
using Engine.Ops;

namespace Engine.Tests.Ops;

/// <summary>A conv2d test configuration.</summary>
public sealed record ConvSpec(string Name, int N, int Cin, int H, int W, int Cout, int KH, int KW, (int H, int W) Stride, ConvPadding Padding,
    (int H, int W) Dilation, int Groups, bool Bias)
{
    public Conv2dOptions Options => new() { Stride = Stride, Padding = Padding, Dilation = Dilation, Groups = Groups };

    public int[] XShape => [N, Cin, H, W];

    public int[] WShape => [Cout, Cin / Groups, KH, KW];

    public override string ToString() => Name;
}

/// <summary>A conv_transpose2d test configuration.</summary>
public sealed record ConvTSpec(string Name, int N, int Cin, int H, int W, int Cout, int KH, int KW, (int H, int W) Stride, (int H, int W) Padding,
    (int H, int W) OutputPadding, (int H, int W) Dilation, int Groups, bool Bias)
{
    public ConvTranspose2dOptions Options => new() { Stride = Stride, Padding = Padding, OutputPadding = OutputPadding, Dilation = Dilation, Groups = Groups };

    public int[] XShape => [N, Cin, H, W];

    public int[] WShape => [Cin, Cout / Groups, KH, KW];

    public override string ToString() => Name;
}

public static class ConvReference
{
    /// <summary>y[n, co, oy, ox] = b[co] + sum over the group's input channels and the kernel of x * w (zero padding).</summary>
    public static double[] Conv2d(ConvSpec s, double[] x, double[] w, double[]? b, out int oh, out int ow)
    {
        var p = s.Padding.Resolve(s.KH, s.KW, s.Dilation.H, s.Dilation.W);
        oh = ((s.H + p.Top + p.Bottom - (s.Dilation.H * (s.KH - 1)) - 1) / s.Stride.H) + 1;
        ow = ((s.W + p.Left + p.Right - (s.Dilation.W * (s.KW - 1)) - 1) / s.Stride.W) + 1;
        int cinG = s.Cin / s.Groups, coutG = s.Cout / s.Groups;
        var y = new double[s.N * s.Cout * oh * ow];
        for (int n = 0; n < s.N; n++)
        {
            for (int co = 0; co < s.Cout; co++)
            {
                int g = co / coutG;
                for (int oy = 0; oy < oh; oy++)
                {
                    for (int ox = 0; ox < ow; ox++)
                    {
                        double sum = b is null ? 0 : b[co];
                        for (int ci = 0; ci < cinG; ci++)
                        {
                            int c = (g * cinG) + ci;
                            for (int i = 0; i < s.KH; i++)
                            {
                                int iy = (oy * s.Stride.H) - p.Top + (i * s.Dilation.H);
                                for (int j = 0; j < s.KW; j++)
                                {
                                    int ix = (ox * s.Stride.W) - p.Left + (j * s.Dilation.W);
                                    if (iy >= 0 && iy < s.H && ix >= 0 && ix < s.W)
                                    {
                                        sum += x[(((n * s.Cin) + c) * s.H * s.W) + (iy * s.W) + ix] * w[(((((co * cinG) + ci) * s.KH) + i) * s.KW) + j];
                                    }
                                }
                            }
                        }

                        y[(((n * s.Cout) + co) * oh * ow) + (oy * ow) + ox] = sum;
                    }
                }
            }
        }

        return y;
    }

    /// <summary>Scatter definition: each x[n, ci, iy, ix] adds x * w[ci, co] to y at (iy * stride - pad + k * dilation).</summary>
    public static double[] ConvTranspose2d(ConvTSpec s, double[] x, double[] w, double[]? b, out int oh, out int ow)
    {
        oh = ((s.H - 1) * s.Stride.H) - (2 * s.Padding.H) + (s.Dilation.H * (s.KH - 1)) + s.OutputPadding.H + 1;
        ow = ((s.W - 1) * s.Stride.W) - (2 * s.Padding.W) + (s.Dilation.W * (s.KW - 1)) + s.OutputPadding.W + 1;
        int cinG = s.Cin / s.Groups, coutG = s.Cout / s.Groups;
        var y = new double[s.N * s.Cout * oh * ow];
        for (int n = 0; n < s.N; n++)
        {
            for (int co = 0; co < s.Cout; co++)
            {
                for (int k = 0; k < oh * ow; k++)
                {
                    y[(((n * s.Cout) + co) * oh * ow) + k] = b is null ? 0 : b[co];
                }
            }

            for (int ci = 0; ci < s.Cin; ci++)
            {
                int g = ci / cinG;
                for (int iy = 0; iy < s.H; iy++)
                {
                    for (int ix = 0; ix < s.W; ix++)
                    {
                        double xv = x[(((n * s.Cin) + ci) * s.H * s.W) + (iy * s.W) + ix];
                        for (int co = 0; co < coutG; co++)
                        {
                            for (int i = 0; i < s.KH; i++)
                            {
                                int oy = (iy * s.Stride.H) - s.Padding.H + (i * s.Dilation.H);
                                for (int j = 0; j < s.KW; j++)
                                {
                                    int ox = (ix * s.Stride.W) - s.Padding.W + (j * s.Dilation.W);
                                    if (oy >= 0 && oy < oh && ox >= 0 && ox < ow)
                                    {
                                        y[(((n * s.Cout) + (g * coutG) + co) * oh * ow) + (oy * ow) + ox] += xv * w[(((((ci * coutG) + co) * s.KH) + i) * s.KW) + j];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        return y;
    }

    /// <summary>Pooling kinds of <see cref="Pool"/>.</summary>
    public enum PoolKind
    {
        Max,
        Avg,
        Lp,
    }

    /// <summary>
    /// Max (value; <paramref name="argmax"/> gets the first maximum's flat plane index), average (count_include_pad) or
    /// Lp ((sum x^p)^(1/p)) pooling of planes x (planes, h, w).
    /// </summary>
    public static double[] Pool(PoolKind kind, double[] x, int planes, int h, int w, (int H, int W) k, (int H, int W) s, (int H, int W) pad, double p,
        out int oh, out int ow, out int[] argmax)
    {
        oh = ((h + (2 * pad.H) - k.H) / s.H) + 1;
        ow = ((w + (2 * pad.W) - k.W) / s.W) + 1;
        var y = new double[planes * oh * ow];
        argmax = new int[y.Length];
        for (int q = 0; q < planes; q++)
        {
            for (int oy = 0; oy < oh; oy++)
            {
                for (int ox = 0; ox < ow; ox++)
                {
                    double best = double.NegativeInfinity, sum = 0;
                    int bestAt = -1;
                    for (int i = 0; i < k.H; i++)
                    {
                        for (int j = 0; j < k.W; j++)
                        {
                            int iy = (oy * s.H) - pad.H + i, ix = (ox * s.W) - pad.W + j;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                            {
                                continue;
                            }

                            double v = x[(q * h * w) + (iy * w) + ix];
                            if (bestAt < 0 || v > best)
                            {
                                best = v;
                                bestAt = (iy * w) + ix;
                            }

                            sum += kind == PoolKind.Lp ? Math.Pow(v, p) : v;
                        }
                    }

                    int o = (q * oh * ow) + (oy * ow) + ox;
                    argmax[o] = bestAt;
                    y[o] = kind switch
                    {
                        PoolKind.Max => best,
                        PoolKind.Avg => sum / (k.H * k.W),
                        _ => Math.Pow(sum, 1 / p),
                    };
                }
            }
        }

        return y;
    }

    /// <summary>sum(g * y): the scalar whose gradient a backward computes when fed g.</summary>
    public static double Dot(double[] g, double[] y)
    {
        double s = 0;
        for (int i = 0; i < y.Length; i++)
        {
            s += g[i] * y[i];
        }

        return s;
    }
}
