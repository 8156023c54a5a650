// Geometry and per-unit loops of the shift convolution (ConvShift.cs): zero-padded "wide" planes, the tap offset
// table, packed weights (as they are for the output, flipped and transposed for the input gradient), the output
// product with its store that drops the wide columns, and the weight-gradient product over a transposed gradient
// (which visits the output positions only).
using System;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Engine.Kernels.Conv;

namespace Engine.Backends.Cpu;

/// <summary>
/// A convolution of <see cref="C"/> planes (H x W) into OutH x OutW outputs, seen on the padded planes split into
/// SH x SW stride phases (phase (ph, pw) row r, column j = padded input row r * SH + ph, column j * SW + pw; each
/// Hp x Wp, Wp = OutW + (KW - 1) DW / SW): wide position p = oh * Wp + ow reads tap (c, kh, kw) at
/// <c>((c * SH + kh DH % SH) * SW + kw DW % SW) * Hp * Wp + (kh DH / SH) * Wp + kw DW / SW + p</c>; positions with
/// ow &gt;= OutW are computed and dropped. Stride 1 is one phase: the zero-padded planes themselves.
/// </summary>
internal unsafe struct ShiftPlanes
{
    public int C, H, W, PadT, PadL, OutH, OutW, KH, KW, DH, DW;

    /// <summary>Stride (0 is read as 1).</summary>
    public int SH, SW;

    /// <summary>Row stride.</summary>
    public readonly int Sh => Math.Max(1, SH);

    /// <summary>Column stride.</summary>
    public readonly int Sw => Math.Max(1, SW);

    /// <summary>Padded (phase) row length.</summary>
    public readonly int Wp => OutW + ((KW - 1) * DW / Sw);

    /// <summary>Padded (phase) rows.</summary>
    public readonly int Hp => OutH + ((KH - 1) * DH / Sh);

    /// <summary>Taps (the reduction length): C * KH * KW.</summary>
    public readonly int K => C * KH * KW;

    /// <summary>Wide positions: OutH * Wp.</summary>
    public readonly int P => OutH * Wp;

    /// <summary>The forward convolution's planes: the input, its padding, the output size.</summary>
    public static ShiftPlanes OfInput(in Im2ColParams conv, int channels) => new()
    {
        C = channels, H = conv.Height, W = conv.Width, PadT = conv.PadTop, PadL = conv.PadLeft, OutH = conv.OutH, OutW = conv.OutW,
        KH = conv.KernelH, KW = conv.KernelW, DH = conv.DilationH, DW = conv.DilationW, SH = conv.StrideH, SW = conv.StrideW,
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
    public readonly long PaddedSize(int tile) => ((long)C * Sh * Sw * Hp * Wp) + (Wp - OutW) + tile;

    /// <summary>dst (<see cref="PaddedSize"/>(<paramref name="tile"/>) floats) = the C planes at <paramref name="src"/>, zero-padded.</summary>
    public readonly void Pad(float* src, float* dst, int tile)
    {
        int wp = Wp, hp = Hp;
        long plane = (long)hp * wp;
        new Span<float>(dst, checked((int)PaddedSize(tile))).Clear();
        if (Sh == 2 && Sw == 2 && KH > 1 && KW > 1 && PadT >= 0 && PadL >= 0)
        {
            PadStride2(src, C, H, W, PadT, PadL, plane, hp, wp, dst);
            return;
        }

        if (Sh > 1 || Sw > 1)
        {
            PadPhases(src, dst);
            return;
        }

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
        int wp = Wp, sh = Sh, sw = Sw, plane = checked(Hp * wp), q = 0;
        for (int c = 0; c < C; c++)
        {
            for (int kh = 0; kh < KH; kh++)
            {
                for (int kw = 0; kw < KW; kw++)
                {
                    int phase = (((c * sh) + (kh * DH % sh)) * sw) + (kw * DW % sw);
                    off[q++] = checked((phase * plane) + (kh * DH / sh * wp) + (kw * DW / sw));
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
    /// or PackFlipped (K taps per row, panels of TT.MR rows); tmp holds one MR x NR tile.
    /// </summary>
    public readonly void Product<TT>(float* pad, float* a, int m, int* off, float* bias, float* y, float beta, float* tmp)
        where TT : struct, IConvShiftTile => Product<TT>(pad, a, m, K, off, bias, y, beta, tmp);

    /// <summary>As above over the first <paramref name="k"/> taps of <paramref name="off"/> (a stride phase's sub-kernel).</summary>
    public readonly void Product<TT>(float* pad, float* a, int m, int k, int* off, float* bias, float* y, float beta, float* tmp)
        where TT : struct, IConvShiftTile
    {
        int mr = TT.MR, nr = TT.NR, p = P, wp = Wp, outW = OutW;
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
        ConvColumns.ToPositionMajor(dy, m, OutH * OutW, dT, ldd);
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
    public static void PackFlipped(float* w, int cout, int cin, int kh, int kw, int mr, float* dst) =>
        PackFlipped(w, cout, cin, kh, kw, 1, 1, 0, 0, mr, dst);

    /// <summary>
    /// The weights of stride phase (a, b) of the input gradient: the taps kh = i * sh + a, kw = j * sw + b of w, flipped
    /// (row ci, tap (co, i, j) = w[co, ci, (KHa - 1 - i) sh + a, (KWb - 1 - j) sw + b]), packed as <see cref="PackRows"/> does.
    /// </summary>
    public static void PackFlipped(float* w, int cout, int cin, int kh, int kw, int sh, int sw, int a, int b, int mr, float* dst)
    {
        int kha = PhaseTaps(kh, sh, a), kwb = PhaseTaps(kw, sw, b);
        for (int r0 = 0; r0 < cin; r0 += mr)
        {
            for (int co = 0; co < cout; co++)
            {
                for (int i = 0; i < kha; i++)
                {
                    for (int j = 0; j < kwb; j++)
                    {
                        int th = ((kha - 1 - i) * sh) + a, tw = ((kwb - 1 - j) * sw) + b;
                        for (int r = 0; r < mr; r++)
                        {
                            int ci = r0 + r;
                            *dst++ = ci < cin ? w[((((long)co * cin) + ci) * kh + th) * kw + tw] : 0f;
                        }
                    }
                }
            }
        }
    }

    /// <summary>How many of the taps 0..k-1 fall on stride phase a (t % s == a).</summary>
    public static int PhaseTaps(int k, int s, int a) => a >= k ? 0 : (k - a + s - 1) / s;

    /// <summary>
    /// The input gradient of a strided convolution, one stride phase at a time: each phase (a, b) of the padded input's
    /// gradient (Hq x Wq, Hq = ceil((H + PadTop) / SH)) is a stride-1 full correlation of the output gradient (coutG
    /// planes) with that phase's flipped sub-kernel; this is the output gradient padded for the largest sub-kernel.
    /// </summary>
    public static ShiftPlanes OfPhaseGradient(in Im2ColParams conv, int coutG)
    {
        int rh = PhaseTaps(conv.KernelH, conv.StrideH, 0), rw = PhaseTaps(conv.KernelW, conv.StrideW, 0);
        return new ShiftPlanes
        {
            C = coutG, H = conv.OutH, W = conv.OutW, PadT = rh - 1, PadL = rw - 1, KH = rh, KW = rw, DH = 1, DW = 1,
            OutH = (conv.Height + conv.PadTop + conv.StrideH - 1) / conv.StrideH, OutW = (conv.Width + conv.PadLeft + conv.StrideW - 1) / conv.StrideW,
        };
    }

    /// <summary>
    /// The offsets of a phase's sub-kernel (kha x kwb taps per channel, at most KH x KW) on planes made by
    /// <see cref="OfPhaseGradient"/>: tap (c, i, j) at c * Hp * Wp + (i + KH - kha) * Wp + j + KW - kwb.
    /// </summary>
    public readonly void PhaseOffsets(int* off, int kha, int kwb)
    {
        int wp = Wp, plane = checked(Hp * wp), q = 0;
        for (int c = 0; c < C; c++)
        {
            for (int i = 0; i < kha; i++)
            {
                for (int j = 0; j < kwb; j++)
                {
                    off[q++] = (c * plane) + ((i + KH - kha) * wp) + j + KW - kwb;
                }
            }
        }
    }

    /// <summary>
    /// The stride-2 phases of <paramref name="c"/> planes (h x w) padded by <paramref name="padT"/> rows and
    /// <paramref name="padL"/> columns of zeros: phase (a, b) of channel ci at ((2 ci + a) * 2 + b) * plane, hp x wp, row
    /// r, column j = padded row 2 r + a, column 2 j + b (what falls outside hp x wp is dropped). dst is zeroed by the
    /// caller. Rows are split into even and odd columns 16 at a time with AVX2 (Pad for stride 2; ConvWinograd).
    /// </summary>
    public static void PadStride2(float* src, int c, int h, int w, int padT, int padL, long plane, int hp, int wp, float* dst)
    {
        // x column i is padded column i + padL: even i = 2m go to phase b = padL % 2, column padL / 2 + m; odd i = 2m + 1
        // to the other phase, column (padL + 1) / 2 + m.
        int be = padL & 1, je = padL >> 1, jo = (padL + 1) >> 1;
        int ne = Math.Clamp(wp - je, 0, (w + 1) / 2), no = Math.Clamp(wp - jo, 0, w / 2);
        int vec = Avx2.IsSupported ? Math.Min(ne, no) / 8 * 8 : 0;
        for (int ci = 0; ci < c; ci++)
        {
            for (int ih = 0; ih < h; ih++)
            {
                int r = ih + padT;
                if (r >> 1 >= hp)
                {
                    break;
                }

                float* x = src + ((((long)ci * h) + ih) * w);
                float* row = dst + ((((2L * ci) + (r & 1)) * 2 * plane) + ((long)(r >> 1) * wp));
                float* even = row + (be * plane) + je, odd = row + ((1 - be) * plane) + jo;
                int m = 0;
                for (; m < vec; m += 8)
                {
                    var lo = Vector256.Load(x + (2 * m));
                    var hi = Vector256.Load(x + (2 * m) + 8);
                    Avx2.Permute4x64(Avx.Shuffle(lo, hi, 0b10_00_10_00).AsDouble(), 0b11_01_10_00).AsSingle().Store(even + m);
                    Avx2.Permute4x64(Avx.Shuffle(lo, hi, 0b11_01_11_01).AsDouble(), 0b11_01_10_00).AsSingle().Store(odd + m);
                }

                for (int i = 2 * m; i < w; i++)
                {
                    int mi = i >> 1;
                    if ((i & 1) == 0 && mi < ne)
                    {
                        even[mi] = x[i];
                    }
                    else if ((i & 1) == 1 && mi < no)
                    {
                        odd[mi] = x[i];
                    }
                }
            }
        }
    }

    /// <summary>Pad for stride &gt; 1: the stride phases of the padded planes, the phases no tap reads left zero (dilation 1).</summary>
    private readonly void PadPhases(float* src, float* dst)
    {
        int wp = Wp, hp = Hp, sh = Sh, sw = Sw;
        long plane = (long)hp * wp;
        for (int c = 0; c < C; c++)
        {
            for (int ph = 0; ph < sh && ph < KH; ph++)
            {
                for (int pw = 0; pw < sw && pw < KW; pw++)
                {
                    float* d = dst + ((((c * sh) + ph) * sw) + pw) * plane;
                    int j0 = Math.Max(0, (PadL - pw + sw - 1) / sw), j1 = Math.Min(wp, (W + PadL - pw + sw - 1) / sw);
                    for (int r = 0; r < hp; r++)
                    {
                        int ih = (r * sh) + ph - PadT;
                        if (ih < 0 || ih >= H)
                        {
                            continue;
                        }

                        float* from = src + ((((long)c * H) + ih) * W) + pw - PadL;
                        float* to = d + ((long)r * wp);
                        for (int j = j0; j < j1; j++)
                        {
                            to[j] = from[j * sw];
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
