// Host convolution for the CPU device, one (image, group) unit per thread at a time: the thread lays out the unit's
// columns in its own workspace slot (so they stay in its cache) and multiplies them on its own core; weight
// gradients go to per-thread partial sums that are added at the end. Thin products (depthwise, 1-channel layers)
// use direct SIMD loops instead of GEMMs. The conv2d op calls it when it applies (see Applies) and runs the
// im2col algorithm otherwise (transposed convolutions, fewer units than threads). Convolutions with enough taps and
// channels (stride 1, or strided without dilation and not 1x1) go to ConvShift (no column matrix) on AVX-512 and AVX2 machines,
// 3x3 stride-1 padding-1 ones with at least 8 channels in and out to ConvWinograd.
using System;
using System.Threading;
using Engine.Kernels.Conv;
using ILGPU;

namespace Engine.Backends.Cpu;

/// <summary>
/// The <c>host.fused</c> conv2d forward and backward (same layouts and results as <c>host.im2col</c>). A convolution
/// is described by the im2col parameters of its whole batch (<see cref="Im2ColParams.Images"/> = N,
/// <see cref="Im2ColParams.Channels"/> = Cin, the input's rows and columns, the output's in OutH and OutW), its groups
/// and its output channels.
/// </summary>
internal static unsafe class CpuConvFused
{
    // Products with at most this many output channels per group use ConvSmallK (forward, input gradient).
    private const int SmallRows = 4;

    // Weight gradients whose reduction runs over at most this many columns (Cin/G * kH * kW) use dot products.
    private const int SmallWeightK = 32;

    /// <summary>Whether the unit-per-thread path applies to a conv2d: at least one (image, group) unit per thread.</summary>
    public static bool Applies(int batch, int groups) => (long)batch * groups >= HostParallel.Degree;

    /// <summary>Forward: y = conv2d(x, w) + b.</summary>
    public static void Forward(Device device, Im2ColParams conv, int groups, int outChannels, ArrayView<float> x, ArrayView<float> w, ArrayView<float> b,
        ArrayView<float> y, ArrayView<float> ws)
    {
        device.Synchronize();
        var u = Units.Of(conv, groups, outChannels, ws.Length);
        int next = 0;
        fixed (float* px = HostViews.Span(x), pw = HostViews.Span(w), pb = HostViews.Span(b), py = HostViews.Span(y), pws = HostViews.Span(ws))
        {
            if (ConvWinograd.Applies(conv, groups, outChannels, CpuGemm.BestKernel))
            {
                ConvWinograd.Forward(CpuGemm.BestKernel, conv, outChannels, px, pw, pb, py);
                return;
            }

            if (ConvShift.Applies(conv, groups, outChannels, CpuGemm.BestKernel))
            {
                ConvShift.Forward(CpuGemm.BestKernel, conv, groups, outChannels, px, pw, pb, py);
                return;
            }

            var body = new ForwardBody { U = u, X = px, W = pw, B = pb, Y = py, Ws = pws, Next = &next };
            HostParallel.For(u.Slots, ref body);
        }
    }

    /// <summary>Backward: dx, dw, db (empty views are not wanted), overwritten or accumulated.</summary>
    public static void Backward(Device device, Im2ColParams conv, int groups, int outChannels, ArrayView<float> x, ArrayView<float> w, ArrayView<float> dy,
        ArrayView<float> dx, ArrayView<float> dw, ArrayView<float> db, ArrayView<float> ws, bool accumulate)
    {
        bool wantDx = dx.Length > 0, wantDw = dw.Length > 0;
        device.Synchronize();
        if ((wantDx || wantDw) && ConvShift.Applies(conv, groups, outChannels, CpuGemm.BestKernel))
        {
            fixed (float* px = HostViews.Span(x), pw = HostViews.Span(w), pdy = HostViews.Span(dy), pdx = HostViews.Span(dx), pdw = HostViews.Span(dw))
            {
                if (ConvWinograd.Applies(conv, groups, outChannels, CpuGemm.BestKernel))
                {
                    if (wantDx)
                    {
                        ConvWinograd.InputGrad(CpuGemm.BestKernel, conv, outChannels, pw, pdy, pdx, accumulate);
                    }

                    if (wantDw)
                    {
                        ConvWinograd.WeightGrad(CpuGemm.BestKernel, conv, outChannels, px, pdy, pdw, accumulate);
                    }
                }
                else
                {
                    ConvShift.Backward(CpuGemm.BestKernel, conv, groups, outChannels, px, pw, pdy, wantDx ? pdx : null, wantDw ? pdw : null, accumulate);
                }
            }
        }
        else if (wantDx || wantDw)
        {
            var u = Units.Of(conv, groups, outChannels, ws.Length);
            long wElems = dw.Length, wPad = ConvShift.Align(wElems);
            nint token = 0;
            float* partials = wantDw && u.Slots > 1 ? HostScratch.Conv.Rent((u.Slots - 1) * wPad, out token) : null;
            try
            {
                fixed (float* px = HostViews.Span(x), pw = HostViews.Span(w), pdy = HostViews.Span(dy), pdx = HostViews.Span(dx),
                       pdw = HostViews.Span(dw), pws = HostViews.Span(ws))
                {
                    int* used = stackalloc int[u.Slots];
                    new Span<int>(used, u.Slots).Clear();
                    if (wantDw && !accumulate)
                    {
                        new Span<float>(pdw, checked((int)wElems)).Clear();
                    }

                    var body = new BackwardBody
                    {
                        U = u, X = px, W = pw, Dy = pdy, Dx = wantDx ? pdx : null, Dw = wantDw ? pdw : null, Ws = pws,
                        Partials = partials, PartialStride = wPad, WElems = wElems, Used = used, Acc = accumulate ? 1f : 0f,
                    };
                    HostParallel.For(u.Slots, ref body);
                    for (int s = 1; s < u.Slots && wantDw; s++)
                    {
                        if (used[s] != 0)
                        {
                            var d = new Span<float>(pdw, (int)wElems);
                            System.Numerics.Tensors.TensorPrimitives.Add(d, new ReadOnlySpan<float>(partials + ((s - 1) * wPad), (int)wElems), d);
                        }
                    }
                }
            }
            finally
            {
                if (partials != null)
                {
                    HostScratch.Conv.Return(token);
                }
            }
        }

        if (db.Length > 0)
        {
            CpuConv.ChannelSum(device, dy, db, new ChannelSumParams { Outer = conv.Images, Channels = outChannels, Inner = conv.OutH * conv.OutW, Scale = 1f, Beta = accumulate ? 1f : 0f });
        }
    }

    /// <summary>Sizes of the (image, group) units of a convolution and how many workspace slots run at once.</summary>
    private struct Units
    {
        public int Count, Groups, CinG, CoutG, K, Hw, Slots;
        public long XImage, YImage, XGroup, YGroup, SlotSize;
        public bool Pointwise;
        public Im2ColParams P;

        public static Units Of(in Im2ColParams conv, int groups, int outChannels, long workspace)
        {
            var u = new Units
            {
                Count = checked(conv.Images * groups),
                Groups = groups,
                CinG = conv.Channels / groups,
                CoutG = outChannels / groups,
                Hw = conv.OutH * conv.OutW,
                XImage = (long)conv.Channels * conv.Height * conv.Width,
                YImage = (long)outChannels * conv.OutH * conv.OutW,
                Pointwise = ConvColumns.IsIdentity(conv),
            };
            u.K = u.CinG * conv.KernelH * conv.KernelW;
            u.XGroup = (long)u.CinG * conv.Height * conv.Width;
            u.YGroup = (long)u.CoutG * u.Hw;
            u.SlotSize = u.Pointwise ? 0 : (long)u.K * u.Hw;
            u.P = conv with { Images = 1, Channels = u.CinG, Beta = 0f };
            long fit = u.Pointwise ? int.MaxValue : Math.Max(1, workspace / u.SlotSize);
            u.Slots = (int)Math.Min(Math.Min(HostParallel.Degree, u.Count), fit);
            return u;
        }
    }

    private struct ForwardBody : IRangeBody
    {
        public Units U;
        public float* X, W, B, Y, Ws;
        public int* Next;

        public readonly void Run(int start, int end)
        {
            var u = U;
            float* col = Ws + (start * u.SlotSize);
            for (int t = Interlocked.Increment(ref *Next) - 1; t < u.Count; t = Interlocked.Increment(ref *Next) - 1)
            {
                int i = t / u.Groups, gi = t - (i * u.Groups);
                float* xg = X + (i * u.XImage) + (gi * u.XGroup);
                float* yg = Y + (i * u.YImage) + (gi * u.YGroup);
                float* wg = W + ((long)gi * u.CoutG * u.K);
                float* bg = B == null ? null : B + ((long)gi * u.CoutG);
                float* cp = xg;
                if (!u.Pointwise)
                {
                    ConvColumns.Im2Col(xg, col, u.P);
                    cp = col;
                }

                if (u.CoutG <= SmallRows)
                {
                    ConvSmallK.Forward(wg, u.CoutG, u.K, cp, u.Hw, yg, bg);
                    continue;
                }

                float beta = 0f;
                if (bg != null)
                {
                    for (int r = 0; r < u.CoutG; r++)
                    {
                        new Span<float>(yg + ((long)r * u.Hw), u.Hw).Fill(bg[r]);
                    }

                    beta = 1f;
                }

                GemmSerial.Direct(wg, u.K, false, cp, u.Hw, yg, u.Hw, u.CoutG, u.Hw, u.K, beta);
            }
        }
    }

    private struct BackwardBody : IRangeBody
    {
        public Units U;
        public float* X, W, Dy, Dx, Dw, Ws, Partials;
        public long PartialStride, WElems;
        public int* Used;
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
            float* col = Ws + (slot * u.SlotSize);
            float* dwTarget = slot == 0 ? Dw : Partials + ((slot - 1) * PartialStride);

            // Each slot takes a fixed, contiguous range of units (not the next one from a shared counter), so every
            // partial weight gradient sums the same images in the same order on every run: results are reproducible.
            int first = (int)((long)slot * u.Count / u.Slots), last = (int)((long)(slot + 1) * u.Count / u.Slots);
            for (int t = first; t < last; t++)
            {
                int i = t / u.Groups, gi = t - (i * u.Groups);
                float* xg = X + (i * u.XImage) + (gi * u.XGroup);
                float* dyg = Dy + (i * u.YImage) + (gi * u.YGroup);
                float* wg = W + ((long)gi * u.CoutG * u.K);
                if (Dw != null)
                {
                    if (Used[slot] == 0 && slot > 0)
                    {
                        new Span<float>(dwTarget, (int)WElems).Clear();
                    }

                    Used[slot] = 1;
                    float* cp = xg;
                    if (!u.Pointwise)
                    {
                        ConvColumns.Im2Col(xg, col, u.P);
                        cp = col;
                    }

                    // dW_g (CoutG x K) += dY_g (CoutG x Hw) * col^T
                    float* dwg = dwTarget + ((long)gi * u.CoutG * u.K);
                    if (u.K <= SmallWeightK)
                    {
                        ConvSmallK.WeightGrad(dyg, u.CoutG, u.Hw, cp, u.K, dwg);
                    }
                    else
                    {
                        GemmSerial.Packed(dyg, cp, dwg, u.CoutG, u.K, u.Hw, u.Hw, u.Hw, u.K, false, true, 1f);
                    }
                }

                if (Dx != null)
                {
                    // dcol (K x Hw) = W_g^T * dY_g, then col2im; pointwise: dx_g = W_g^T * dY_g (+ dx_g) directly.
                    float* dxg = Dx + (i * u.XImage) + (gi * u.XGroup);
                    float* target = u.Pointwise ? dxg : col;
                    float beta = u.Pointwise ? Acc : 0f;
                    if (u.CoutG <= SmallRows)
                    {
                        ConvSmallK.InputGrad(wg, u.CoutG, u.K, dyg, u.Hw, target, beta);
                    }
                    else
                    {
                        GemmSerial.Direct(wg, u.K, true, dyg, u.Hw, target, u.Hw, u.K, u.Hw, u.CoutG, beta);
                    }

                    if (!u.Pointwise)
                    {
                        ConvColumns.Col2Im(col, dxg, u.P with { Beta = Acc });
                    }
                }
            }
        }
    }
}
