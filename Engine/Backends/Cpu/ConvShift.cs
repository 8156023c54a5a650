// The host convolution for conv2d without a column matrix (implicit GEMM): each thread copies one
// (image, group)'s planes once into a zero-padded buffer whose rows are as wide as the output rows plus the kernel
// reach, so every kernel tap is one constant shift of that buffer; the micro-kernels of ConvShiftKernels.cs read the
// taps in place through a table of offsets. Outputs are computed on the padded ("wide") rows and the columns past
// OutW are dropped when the tile is stored. The input gradient is the same product over the padded output gradient
// with flipped, transposed weights; the weight gradient broadcasts taps against the transposed output gradient (over
// the real output positions only) into per-thread partial sums added in a fixed order (reproducible). Strided
// convolutions split the padded planes into their stride phases (ShiftPlanes) and take dx one phase at a time. Used by CpuConvFused when Applies holds.
using System;
using System.Numerics.Tensors;
using System.Threading;
using Engine.Kernels.Conv;

namespace Engine.Backends.Cpu;

/// <summary>Stride-1 conv2d forward and backward as shifted products over zero-padded planes (see the file comment).</summary>
internal static unsafe class ConvShift
{
    private static readonly HostScratch Scratch = new();

    /// <summary>
    /// Whether the shift path runs this convolution with <paramref name="kernel"/>: 512 or 256-bit tiles, stride 1 (any
    /// dilation) or a larger stride without dilation, not pointwise with stride 1 (the plain GEMM reads x in place
    /// there) nor a strided 1x1 kernel (im2col only subsamples there; measured no faster forward, slower backward), a
    /// reduction of at least 16 taps and 8 output channels per group. Forward and Backward also run the strided 1x1 case.
    /// </summary>
    public static bool Applies(in Im2ColParams conv, int groups, int outChannels, GemmKernel kernel) =>
        kernel is GemmKernel.Vector512 or GemmKernel.Vector256 && conv.StrideH >= 1 && conv.StrideW >= 1
        && (conv.StrideH == 1 && conv.StrideW == 1 || conv.DilationH == 1 && conv.DilationW == 1 && conv.KernelH * conv.KernelW > 1)
        && !ConvColumns.IsIdentity(conv) && conv.Channels / groups * conv.KernelH * conv.KernelW >= 16
        && outChannels / groups >= 8 && conv.OutH > 0 && conv.OutW > 0;

    /// <summary>y = conv2d(x, w) + b (b may be null) over the batch of <paramref name="conv"/>.</summary>
    public static void Forward(GemmKernel kernel, in Im2ColParams conv, int groups, int outChannels, float* x, float* w, float* b, float* y)
    {
        switch (kernel)
        {
            case GemmKernel.Vector512:
                Forward<ConvShiftTile512>(conv, groups, outChannels, x, w, b, y);
                break;
            case GemmKernel.Vector256:
                Forward<ConvShiftTile256>(conv, groups, outChannels, x, w, b, y);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "the shift convolution has 512 and 256-bit tiles only");
        }
    }

    /// <summary>dx and dw (null: not wanted), overwritten or, with <paramref name="accumulate"/>, added to.</summary>
    public static void Backward(GemmKernel kernel, in Im2ColParams conv, int groups, int outChannels, float* x, float* w, float* dy,
        float* dx, float* dw, bool accumulate)
    {
        switch (kernel)
        {
            case GemmKernel.Vector512 when NarrowGradTile(outChannels / groups):
                Backward<ConvShiftTile512, ConvShiftGradTile512Narrow>(conv, groups, outChannels, x, w, dy, dx, dw, accumulate);
                break;
            case GemmKernel.Vector512:
                Backward<ConvShiftTile512, ConvShiftGradTile512>(conv, groups, outChannels, x, w, dy, dx, dw, accumulate);
                break;
            case GemmKernel.Vector256:
                Backward<ConvShiftTile256, ConvShiftGradTile256>(conv, groups, outChannels, x, w, dy, dx, dw, accumulate);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "the shift convolution has 512 and 256-bit tiles only");
        }
    }

    private static void Forward<TT>(in Im2ColParams conv, int groups, int outChannels, float* x, float* w, float* b, float* y)
        where TT : struct, IConvShiftTile
    {
        var u = Unit.Of(conv, groups, outChannels);
        var g = ShiftPlanes.OfInput(conv, u.CinG);
        int mPad = RoundUp(u.CoutG, TT.MR);
        long packed = Align((long)groups * mPad * g.K), offs = Align(g.K);
        long slot = Align(g.PaddedSize(TT.NR)) + Align(TT.MR * TT.NR);
        int slots = u.Slots;
        float* s = Scratch.Rent(packed + offs + (slots * slot), out nint token);
        try
        {
            for (int gi = 0; gi < groups; gi++)
            {
                ShiftPlanes.PackRows(w + ((long)gi * u.CoutG * g.K), u.CoutG, g.K, TT.MR, s + ((long)gi * mPad * g.K));
            }

            g.Offsets((int*)(s + packed), g.K);
            int next = 0;
            var body = new ForwardBody<TT>
            {
                U = u, G = g, X = x, B = b, Y = y, Packed = s, MPad = mPad, Off = (int*)(s + packed), Slots = s + packed + offs,
                SlotSize = slot, Next = &next,
            };
            HostParallel.For(slots, ref body);
        }
        finally
        {
            Scratch.Return(token);
        }
    }

    private static void Backward<TT, TG>(in Im2ColParams conv, int groups, int outChannels, float* x, float* w, float* dy,
        float* dx, float* dw, bool accumulate)
        where TT : struct, IConvShiftTile
        where TG : struct, IConvShiftGradTile
    {
        var u = Unit.Of(conv, groups, outChannels);
        var gx = ShiftPlanes.OfInput(conv, u.CinG);
        bool strided = conv.StrideH > 1 || conv.StrideW > 1;
        var gd = strided ? ShiftPlanes.OfPhaseGradient(conv, u.CoutG) : ShiftPlanes.OfInputGradient(conv, u.CinG, u.CoutG);
        int phases = strided ? conv.StrideH * conv.StrideW : 1;
        int cinPad = RoundUp(u.CinG, TT.MR), kPad = RoundUp(gx.K, TG.MQ), ldd = RoundUp(u.CoutG, TG.NC);
        long packed = dx == null ? 0 : Align((long)groups * cinPad * u.CoutG * conv.KernelH * conv.KernelW);
        long offsX = Align(kPad), offsD = phases * Align(gd.K);
        long part = dw == null ? 0 : Align((long)groups * kPad * ldd);
        long dT = dw == null ? 0 : Align((long)conv.OutH * conv.OutW * ldd);
        long padX = dw == null ? 0 : Align(gx.PaddedSize(0));
        long padD = dx == null ? 0 : Align(gd.PaddedSize(TT.NR));
        long phase = dx == null || !strided ? 0 : Align((long)u.CinG * gd.OutH * gd.OutW);
        long slot = part + dT + padX + padD + phase + Align(TT.MR * TT.NR);
        int slots = u.Slots;
        float* s = Scratch.Rent(packed + offsX + offsD + (slots * slot), out nint token);
        try
        {
            if (strided)
            {
                PackPhases(conv, u, cinPad, dx == null ? null : s, TT.MR, w, gd, (int*)(s + packed + offsX));
            }

            for (int gi = 0; gi < groups && dx != null && !strided; gi++)
            {
                ShiftPlanes.PackFlipped(w + ((long)gi * u.CoutG * gx.K), u.CoutG, u.CinG, conv.KernelH, conv.KernelW, TT.MR, s + ((long)gi * cinPad * gd.K));
            }

            gx.Offsets((int*)(s + packed), kPad);
            if (!strided)
            {
                gd.Offsets((int*)(s + packed + offsX), gd.K);
            }

            var body = new BackwardBody<TT, TG>
            {
                U = u, GX = gx, GD = gd, Conv = conv, Strided = strided, PhaseSize = phase, OffDStride = Align(gd.K), X = x, Dy = dy, Dx = dx, Dw = dw, Packed = s, CinPad = cinPad, KPad = kPad, Ldd = ldd,
                OffX = (int*)(s + packed), OffD = (int*)(s + packed + offsX), Slots = s + packed + offsX + offsD, SlotSize = slot,
                PartSize = part, DTSize = dT, PadXSize = padX, PadDSize = padD, Acc = accumulate ? 1f : 0f,
            };
            HostParallel.For(slots, ref body);
            if (dw != null)
            {
                ReduceWeightGrad(dw, body.Slots, slot, slots, groups, u.CoutG, gx.K, kPad, ldd, accumulate);
            }
        }
        finally
        {
            Scratch.Return(token);
        }
    }

    /// <summary>
    /// The input gradient's packed weights and tap offsets of every stride phase (a, b), phase after phase: the weights
    /// of phase p at groups * cinPad * (the taps of the phases before), its offsets at p * Align(gd.K).
    /// </summary>
    private static void PackPhases(in Im2ColParams conv, in Unit u, int cinPad, float* dst, int mr, float* w, in ShiftPlanes gd, int* off)
    {
        long at = 0, k = (long)u.CinG * conv.KernelH * conv.KernelW;
        for (int a = 0, p = 0; a < conv.StrideH; a++)
        {
            for (int b = 0; b < conv.StrideW; b++, p++)
            {
                int kha = ShiftPlanes.PhaseTaps(conv.KernelH, conv.StrideH, a), kwb = ShiftPlanes.PhaseTaps(conv.KernelW, conv.StrideW, b);
                int kab = u.CoutG * kha * kwb;
                gd.PhaseOffsets(off + (p * Align(gd.K)), kha, kwb);
                for (int gi = 0; gi < u.Groups && dst != null; gi++)
                {
                    ShiftPlanes.PackFlipped(w + (gi * u.CoutG * k), u.CoutG, u.CinG, conv.KernelH, conv.KernelW, conv.StrideH, conv.StrideW, a, b, mr,
                        dst + at + ((long)gi * cinPad * kab));
                }

                at += (long)u.Groups * cinPad * kab;
            }
        }
    }

    /// <summary>dx (channels x H x W) = ph (channels x Hq x Wq; null: zeros) at stride phase (a, b) of the padded input, plus acc * dx.</summary>
    private static void ScatterPhase(in Im2ColParams conv, int channels, int hq, int wq, int a, int b, float* ph, float* dx, bool acc)
    {
        int sh = conv.StrideH, sw = conv.StrideW, h = conv.Height, wd = conv.Width;
        int r0 = Math.Max(0, (conv.PadTop - a + sh - 1) / sh), r1 = Math.Min(hq, (h + conv.PadTop - a + sh - 1) / sh);
        int j0 = Math.Max(0, (conv.PadLeft - b + sw - 1) / sw), j1 = Math.Min(wq, (wd + conv.PadLeft - b + sw - 1) / sw);
        for (int c = 0; c < channels; c++)
        {
            for (int r = r0; r < r1; r++)
            {
                float* to = dx + ((((long)c * h) + (r * sh) + a - conv.PadTop) * wd) + b - conv.PadLeft;
                float* from = ph == null ? null : ph + ((((long)c * hq) + r) * wq);
                for (int j = j0; j < j1; j++)
                {
                    float v = from == null ? 0f : from[j];
                    to[j * sw] = acc ? to[j * sw] + v : v;
                }
            }
        }
    }

    /// <summary>dw[g][co][q] = (accumulate ? dw : 0) + the slots' partials [g][q][co], summed in slot order.</summary>
    private static void ReduceWeightGrad(float* dw, float* slots, long slotSize, int count, int groups, int coutG, int k, int kPad, int ldd, bool accumulate)
    {
        for (int gi = 0; gi < groups; gi++)
        {
            for (int co = 0; co < coutG; co++)
            {
                float* d = dw + ((((long)gi * coutG) + co) * k);
                for (int q = 0; q < k; q++)
                {
                    float sum = accumulate ? d[q] : 0f;
                    for (int s = 0; s < count; s++)
                    {
                        sum += slots[(s * slotSize) + ((((long)gi * kPad) + q) * ldd) + co];
                    }

                    d[q] = sum;
                }
            }
        }
    }

    /// <summary>
    /// Whether the 512-bit weight gradient of <paramref name="coutG"/> output channels per group takes the 16-lane
    /// tiles (ConvShiftGradTile512Narrow): when 32-lane tiles would pad the channels further than 16-lane ones.
    /// </summary>
    internal static bool NarrowGradTile(int coutG) => RoundUp(coutG, 16) < RoundUp(coutG, 32);

    /// <summary>n rounded up to a multiple of m.</summary>
    internal static int RoundUp(int n, int m) => (n + m - 1) / m * m;

    /// <summary>n rounded up to a multiple of 16 floats (64 bytes), for the offsets inside one scratch block.</summary>
    internal static long Align(long n) => (n + 15) & ~15L;

    /// <summary>The (image, group) units of a batch and how many threads share them.</summary>
    private struct Unit
    {
        public int Count, Groups, CinG, CoutG, Slots;
        public long XImage, YImage, XGroup, YGroup;

        public static Unit Of(in Im2ColParams conv, int groups, int outChannels)
        {
            var u = new Unit
            {
                Count = checked(conv.Images * groups), Groups = groups, CinG = conv.Channels / groups, CoutG = outChannels / groups,
                XImage = (long)conv.Channels * conv.Height * conv.Width, YImage = (long)outChannels * conv.OutH * conv.OutW,
            };
            u.XGroup = (long)u.CinG * conv.Height * conv.Width;
            u.YGroup = (long)u.CoutG * conv.OutH * conv.OutW;
            u.Slots = Math.Max(1, Math.Min(HostParallel.Degree, u.Count));
            return u;
        }
    }

    private struct ForwardBody<TT> : IRangeBody
        where TT : struct, IConvShiftTile
    {
        public Unit U;
        public ShiftPlanes G;
        public float* X, B, Y, Packed, Slots;
        public int* Off, Next;
        public int MPad;
        public long SlotSize;

        public readonly void Run(int start, int end)
        {
            var u = U;
            var g = G;
            float* pad = Slots + (start * SlotSize);
            float* tmp = pad + Align(g.PaddedSize(TT.NR));
            for (int t = Interlocked.Increment(ref *Next) - 1; t < u.Count; t = Interlocked.Increment(ref *Next) - 1)
            {
                int i = t / u.Groups, gi = t - (i * u.Groups);
                g.Pad(X + (i * u.XImage) + (gi * u.XGroup), pad, TT.NR);
                float* bg = B == null ? null : B + ((long)gi * u.CoutG);
                g.Product<TT>(pad, Packed + ((long)gi * MPad * g.K), u.CoutG, Off, bg, Y + (i * u.YImage) + (gi * u.YGroup), 0f, tmp);
            }
        }
    }

    private struct BackwardBody<TT, TG> : IRangeBody
        where TT : struct, IConvShiftTile
        where TG : struct, IConvShiftGradTile
    {
        public Unit U;
        public ShiftPlanes GX, GD;
        public Im2ColParams Conv;
        public bool Strided;
        public float* X, Dy, Dx, Dw, Packed, Slots;
        public int* OffX, OffD;
        public int CinPad, KPad, Ldd;
        public long SlotSize, PartSize, DTSize, PadXSize, PadDSize, PhaseSize, OffDStride;
        public float Acc;

        public readonly void Run(int start, int end)
        {
            for (int slot = start; slot < end; slot++)
            {
                RunSlot(slot);
            }
        }

        private readonly void RunSlot(int slot)
        {
            var u = U;
            var gx = GX;
            var gd = GD;
            float* part = Slots + (slot * SlotSize), dT = part + PartSize, padX = dT + DTSize, padD = padX + PadXSize, phase = padD + PadDSize;
            float* tmp = phase + PhaseSize;
            if (Dw != null)
            {
                new Span<float>(part, checked((int)(PartSize + DTSize))).Clear();
            }

            // A fixed, contiguous range of units per slot: every partial sums the same images in the same order.
            int first = (int)((long)slot * u.Count / u.Slots), last = (int)((long)(slot + 1) * u.Count / u.Slots);
            for (int t = first; t < last; t++)
            {
                int i = t / u.Groups, gi = t - (i * u.Groups);
                float* dyg = Dy + (i * u.YImage) + (gi * u.YGroup);
                if (Dw != null)
                {
                    gx.Pad(X + (i * u.XImage) + (gi * u.XGroup), padX, 0);
                    gx.WeightGrad<TG>(padX, dyg, u.CoutG, dT, Ldd, OffX, KPad, part + ((long)gi * KPad * Ldd));
                }

                if (Dx != null && Strided)
                {
                    gd.Pad(dyg, padD, TT.NR);
                    PhaseInputGrad(gd, gi, padD, phase, tmp, Dx + (i * u.XImage) + (gi * u.XGroup));
                }
                else if (Dx != null)
                {
                    gd.Pad(dyg, padD, TT.NR);
                    gd.Product<TT>(padD, Packed + ((long)gi * CinPad * gd.K), u.CinG, OffD, null, Dx + (i * u.XImage) + (gi * u.XGroup), Acc, tmp);
                }
            }
        }

        /// <summary>dx of one unit (group gi), stride phase by phase: each phase's product into <paramref name="phase"/>, then scattered.</summary>
        private readonly void PhaseInputGrad(in ShiftPlanes gd, int gi, float* padD, float* phase, float* tmp, float* dxg)
        {
            var u = U;
            var conv = Conv;
            float* pk = Packed;
            for (int a = 0, p = 0; a < conv.StrideH; a++)
            {
                for (int b = 0; b < conv.StrideW; b++, p++)
                {
                    int k = u.CoutG * ShiftPlanes.PhaseTaps(conv.KernelH, conv.StrideH, a) * ShiftPlanes.PhaseTaps(conv.KernelW, conv.StrideW, b);
                    if (k > 0)
                    {
                        gd.Product<TT>(padD, pk + ((long)gi * CinPad * k), u.CinG, k, OffD + (p * OffDStride), null, phase, 0f, tmp);
                    }

                    ScatterPhase(conv, u.CinG, gd.OutH, gd.OutW, a, b, k > 0 ? phase : null, dxg, Acc != 0f);
                    pk += (long)u.Groups * CinPad * k;
                }
            }
        }
    }
}
