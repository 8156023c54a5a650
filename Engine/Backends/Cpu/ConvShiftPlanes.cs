// Geometry and per-unit loops of the shift convolution (ConvShift.cs): zero-padded "wide" planes, the tap offset
// table, packed weights (as they are for the output, flipped and transposed for the input gradient), the output
// product with its store that drops the wide columns, and the weight-gradient product over a transposed gradient
// (which visits the output positions only).
using System;
using System.Numerics.Tensors;
using Engine.Kernels.Conv;

namespace Engine.Backends.Cpu;

/// <summary>
/// A stride-1 convolution of <see cref="C"/> planes (H x W) into OutH x OutW outputs, seen on the padded planes
/// (Hp x Wp, Wp = OutW + (KW - 1) DW): wide position p = oh * Wp + ow reads tap (c, kh, kw) at
/// <c>c * Hp * Wp + kh * DH * Wp + kw * DW + p</c>; positions with ow &gt;= OutW are computed and dropped.
/// </summary>
internal unsafe struct ShiftPlanes
{
    public int C, H, W, PadT, PadL, OutH, OutW, KH, KW, DH, DW;

    /// <summary>Padded row length.</summary>
    public readonly int Wp => OutW + ((KW - 1) * DW);

    /// <summary>Padded rows.</summary>
    public readonly int Hp => OutH + ((KH - 1) * DH);

    /// <summary>Taps (the reduction length): C * KH * KW.</summary>
    public readonly int K => C * KH * KW;

    /// <summary>Wide positions: OutH * Wp.</summary>
    public readonly int P => OutH * Wp;

    /// <summary>The forward convolution's planes: the input, its padding, the output size.</summary>
    public static ShiftPlanes OfInput(in Im2ColParams conv, int channels) => new()
    {
        C = channels, H = conv.Height, W = conv.Width, PadT = conv.PadTop, PadL = conv.PadLeft, OutH = conv.OutH, OutW = conv.OutW,
        KH = conv.KernelH, KW = conv.KernelW, DH = conv.DilationH, DW = conv.DilationW,
    };

    /// <summary>
    /// The input gradient as a stride-1 convolution of the output gradient (outChannels planes OutH x OutW) with the
    /// flipped kernel, padded by the kernel reach minus the forward padding (negative: rows or columns skipped),
    /// into the input's size.
    /// </summary>
    public static ShiftPlanes OfInputGradient(in Im2ColParams conv, int inChannels, int outChannels) => new()
    {
        C = outChannels, H = conv.OutH, W = conv.OutW, OutH = conv.Height, OutW = conv.Width,
        PadT = ((conv.KernelH - 1) * conv.DilationH) - conv.PadTop, PadL = ((conv.KernelW - 1) * conv.DilationW) - conv.PadLeft,
        KH = conv.KernelH, KW = conv.KernelW, DH = conv.DilationH, DW = conv.DilationW,
    };

    /// <summary>Floats of the padded planes plus the slack that tiles of <paramref name="tile"/> positions read past the last.</summary>
    public readonly long PaddedSize(int tile) => ((long)C * Hp * Wp) + ((KW - 1) * DW) + tile;

    /// <summary>dst (<see cref="PaddedSize"/>(<paramref name="tile"/>) floats) = the C planes at <paramref name="src"/>, zero-padded.</summary>
    public readonly void Pad(float* src, float* dst, int tile)
    {
        int wp = Wp, hp = Hp;
        long plane = (long)hp * wp;
        new Span<float>(dst, checked((int)PaddedSize(tile))).Clear();
        int s0 = Math.Max(0, PadL), s1 = Math.Min(wp, PadL + W);
        if (s0 >= s1)
        {
            return;
        }

        int r0 = Math.Max(0, PadT), r1 = Math.Min(hp, PadT + H);
        for (int c = 0; c < C; c++)
        {
            for (int r = r0; r < r1; r++)
            {
                float* from = src + ((((long)c * H) + (r - PadT)) * W) + (s0 - PadL);
                new ReadOnlySpan<float>(from, s1 - s0).CopyTo(new Span<float>(dst + (c * plane) + ((long)r * wp) + s0, s1 - s0));
            }
        }
    }

    /// <summary>off[q] = the shift of tap q = (c, kh, kw); entries [K, count) are 0 (padding taps of a last tile).</summary>
    public readonly void Offsets(int* off, int count)
    {
        int wp = Wp, plane = checked(Hp * wp), q = 0;
        for (int c = 0; c < C; c++)
        {
            for (int kh = 0; kh < KH; kh++)
            {
                for (int kw = 0; kw < KW; kw++)
                {
                    off[q++] = (c * plane) + (kh * DH * wp) + (kw * DW);
                }
            }
        }

        for (; q < count; q++)
        {
            off[q] = 0;
        }
    }

    /// <summary>
    /// y (m planes OutH x OutW) = bias[r] (0 when null) + A * taps + beta * y, with A packed by <see cref="PackRows"/>
    /// or <see cref="PackFlipped"/> (K taps per row, panels of TT.MR rows); tmp holds one MR x NR tile.
    /// </summary>
    public readonly void Product<TT>(float* pad, float* a, int m, int* off, float* bias, float* y, float beta, float* tmp)
        where TT : struct, IConvShiftTile
    {
        int mr = TT.MR, nr = TT.NR, k = K, p = P, wp = Wp, outW = OutW;
        long outPlane = (long)OutH * outW;
        for (int r0 = 0, pm = 0; r0 < m; r0 += mr, pm++)
        {
            int rows = Math.Min(mr, m - r0);
            float* ap = a + ((long)pm * k * mr);
            for (int j0 = 0; j0 < p; j0 += nr)
            {
                if (p - j0 <= nr / 2)
                {
                    TT.RunHalf(k, ap, pad + j0, off, tmp);
                }
                else
                {
                    TT.Run(k, ap, pad + j0, off, tmp);
                }

                int jEnd = Math.Min(p, j0 + nr);
                for (int j = j0; j < jEnd;)
                {
                    int oh = j / wp, col = j - (oh * wp);
                    int rowEnd = Math.Min(jEnd, (oh * wp) + wp);
                    int len = Math.Min(rowEnd, (oh * wp) + outW) - j;
                    for (int r = 0; r < rows && len > 0; r++)
                    {
                        var src = new ReadOnlySpan<float>(tmp + (r * nr) + (j - j0), len);
                        var dst = new Span<float>(y + ((r0 + r) * outPlane) + ((long)oh * outW) + col, len);
                        Store(src, dst, bias == null ? 0f : bias[r0 + r], beta);
                    }

                    j = rowEnd;
                }
            }
        }
    }

    /// <summary>
    /// part (kPad x ldd, [tap][channel]) += taps * dy^T over the output positions, dy (m planes OutH x OutW) first laid
    /// out transposed in dT (OutH * OutW x ldd; the channels past m stay zero from the caller's clearing).
    /// </summary>
    public readonly void WeightGrad<TG>(float* pad, float* dy, int m, float* dT, int ldd, int* off, int kPad, float* part)
        where TG : struct, IConvShiftGradTile
    {
        int hw = OutH * OutW;
        for (int co = 0; co < m; co++)
        {
            float* src = dy + ((long)co * hw);
            float* d = dT + co;
            for (int t = 0; t < hw; t++)
            {
                d[(long)t * ldd] = src[t];
            }
        }

        for (int q0 = 0; q0 < kPad; q0 += TG.MQ)
        {
            for (int c0 = 0; c0 < ldd; c0 += TG.NC)
            {
                TG.Run(OutH, OutW, Wp, pad, off + q0, dT + c0, ldd, part + ((long)q0 * ldd) + c0, ldd);
            }
        }
    }

    /// <summary>dst = the m x k rows of w in panels of mr rows, tap-major (dst[(panel * k + q) * mr + r]), zero past m.</summary>
    public static void PackRows(float* w, int m, int k, int mr, float* dst)
    {
        for (int r0 = 0; r0 < m; r0 += mr)
        {
            for (int q = 0; q < k; q++)
            {
                for (int r = 0; r < mr; r++)
                {
                    *dst++ = r0 + r < m ? w[((long)(r0 + r) * k) + q] : 0f;
                }
            }
        }
    }

    /// <summary>
    /// The input gradient's weights: row ci, tap (co, kh, kw) = w[co, ci, KH - 1 - kh, KW - 1 - kw] for w of one group
    /// (cout x cin x kh x kw), packed as <see cref="PackRows"/> does.
    /// </summary>
    public static void PackFlipped(float* w, int cout, int cin, int kh, int kw, int mr, float* dst)
    {
        for (int r0 = 0; r0 < cin; r0 += mr)
        {
            for (int co = 0; co < cout; co++)
            {
                for (int a = 0; a < kh; a++)
                {
                    for (int b = 0; b < kw; b++)
                    {
                        for (int r = 0; r < mr; r++)
                        {
                            int ci = r0 + r;
                            *dst++ = ci < cin ? w[((((long)co * cin) + ci) * kh + (kh - 1 - a)) * kw + (kw - 1 - b)] : 0f;
                        }
                    }
                }
            }
        }
    }

    private static void Store(ReadOnlySpan<float> src, Span<float> dst, float bias, float beta)
    {
        if (beta == 0f)
        {
            if (bias == 0f)
            {
                src.CopyTo(dst);
            }
            else
            {
                TensorPrimitives.Add(src, bias, dst);
            }

            return;
        }

        for (int i = 0; i < dst.Length; i++)
        {
            dst[i] = src[i] + bias + (beta * dst[i]);
        }
    }
}
