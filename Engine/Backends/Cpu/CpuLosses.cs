// Host path of the losses, one entry pair per loss family (pointwise and region ones generic over the loss operator
// struct's double form): double accumulators, deterministic block partial sums spread over cores by HostParallel,
// scratch from the device's OpScratch (no allocation once warm).
using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Engine.Kernels.Losses;
using ILGPU;

namespace Engine.Backends.Cpu;

/// <summary>Managed loss forward and backward over CPU-accelerator buffers (the <c>host.parallel</c> variants).</summary>
internal static unsafe partial class CpuLosses
{
    private const int BlockWork = 4096;
    private const int MaxBlocks = 256;

    /// <summary>Pointwise forward: loss[0] = Scale * sum of the terms (blocks in parallel, folded in block order).</summary>
    public static void PointwiseForward<TOp>(Device device, in LossViews views, in LossArgs a)
        where TOp : struct, IPointwiseLoss
    {
        Sync(device);
        int n = a.Call.N;
        int blocks = Math.Clamp(n / BlockWork, 1, Math.Min(n, MaxBlocks));
        fixed (double* s = OpScratch.For(device).HostDoubles(blocks))
        {
            var body = new PointwiseBody<TOp> { Pred = Ptr(views.Pred), Target = Ptr(views.Target), Out = s, Blocks = blocks, N = n, Q = a.Pointwise };
            HostParallel.For(blocks, ref body);
            double sum = 0;
            for (int b = 0; b < blocks; b++)
            {
                sum += s[b];
            }

            Ptr(views.Loss)[0] = (float)(sum * a.Call.Scale);
        }
    }

    /// <summary>Pointwise backward: dpred = Scale * upstream * dl/dp, elementwise.</summary>
    public static void PointwiseBackward<TOp>(Device device, in LossViews views, in LossArgs a)
        where TOp : struct, IPointwiseLoss
    {
        Sync(device);
        var body = new PointwiseBody<TOp>
        {
            Pred = Ptr(views.Pred), Target = Ptr(views.Target), DPred = Ptr(views.DPred), Backward = true, S = UpstreamScale(views, a.Call), Q = a.Pointwise,
        };
        HostParallel.For(a.Call.N, ref body, BlockWork);
    }

    /// <summary>Region forward: per-class sums I, P, Y, then 1 - mean over classes of the ratio.</summary>
    public static void RegionForward<TOp>(Device device, in LossViews views, in LossArgs a)
        where TOp : struct, IRegionLoss
    {
        Sync(device);
        var op = default(TOp);
        int c = a.Call.C;
        int blocks = RegionBlocks(a.Call);
        fixed (double* st = OpScratch.For(device).HostDoubles(blocks * 3 * c))
        {
            RegionStats(views, a.Call, st, blocks);
            double acc = 0;
            for (int k = 0; k < c; k++)
            {
                acc += op.Ratio(st[3 * k], st[(3 * k) + 1], st[(3 * k) + 2], a.Region);
            }

            Ptr(views.Loss)[0] = (float)(1.0 - (acc / c));
        }
    }

    /// <summary>Region backward: per-class sums, then dpred = -s / C * dr/dp elementwise.</summary>
    public static void RegionBackward<TOp>(Device device, in LossViews views, in LossArgs a)
        where TOp : struct, IRegionLoss
    {
        Sync(device);
        int blocks = RegionBlocks(a.Call);
        fixed (double* st = OpScratch.For(device).HostDoubles(blocks * 3 * a.Call.C))
        {
            RegionStats(views, a.Call, st, blocks);
            var body = new RegionGradBody<TOp> { Target = Ptr(views.Target), DPred = Ptr(views.DPred), Stats = st, C = a.Call.C, S = UpstreamScale(views, a.Call), Q = a.Region };
            HostParallel.For(a.Call.N * a.Call.C, ref body, BlockWork);
        }
    }

    private static void Sync(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
    }

    private static double UpstreamScale(in LossViews views, LossCall call) => call.Scale * (call.HasUpstream != 0 ? Ptr(views.Upstream)[0] : 1f);

    private static int RegionBlocks(LossCall call) => Math.Clamp(call.N * call.C / BlockWork, 1, Math.Max(1, Math.Min(call.N, 64)));

    // Per-class sums of p y, p and y over row blocks in parallel, folded in block order into st[0, 3 C).
    private static void RegionStats(in LossViews views, LossCall call, double* st, int blocks)
    {
        var body = new RegionStatsBody { Pred = Ptr(views.Pred), Target = Ptr(views.Target), Out = st, Blocks = blocks, N = call.N, C = call.C };
        HostParallel.For(blocks, ref body);
        int width = 3 * call.C;
        for (int b = 1; b < blocks; b++)
        {
            for (int k = 0; k < width; k++)
            {
                st[k] += st[(b * width) + k];
            }
        }
    }

    private static float* Ptr(ArrayView<float> v) =>

        // CPU-accelerator buffers live in native memory, so their addresses are stable without pinning.
        (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(HostViews.Span(v)));

    private struct PointwiseBody<TOp> : IRangeBody
        where TOp : struct, IPointwiseLoss
    {
        public float* Pred, Target, DPred;
        public double* Out;
        public int Blocks, N;
        public double S;
        public bool Backward;
        public PointwiseLossParams Q;

        public readonly void Run(int start, int end)
        {
            var op = default(TOp);
            if (Backward)
            {
                for (int i = start; i < end; i++)
                {
                    DPred[i] = (float)(S * op.Derivative(Pred[i], Target[i], Q));
                }

                return;
            }

            for (int b = start; b < end; b++)
            {
                int r0 = (int)((long)N * b / Blocks), r1 = (int)((long)N * (b + 1) / Blocks);
                double num = 0;
                for (int r = r0; r < r1; r++)
                {
                    num += op.Term(Pred[r], Target[r], Q);
                }

                Out[b] = num;
            }
        }
    }

    private struct RegionStatsBody : IRangeBody
    {
        public float* Pred, Target;
        public double* Out;
        public int Blocks, N, C;

        public readonly void Run(int start, int end)
        {
            for (int b = start; b < end; b++)
            {
                int r0 = (int)((long)N * b / Blocks), r1 = (int)((long)N * (b + 1) / Blocks);
                double* o = Out + ((long)b * 3 * C);
                new Span<double>(o, 3 * C).Clear();
                for (int r = r0; r < r1; r++)
                {
                    for (int c = 0; c < C; c++)
                    {
                        double pv = Pred[((long)r * C) + c], yv = Target[((long)r * C) + c];
                        o[3 * c] += pv * yv;
                        o[(3 * c) + 1] += pv;
                        o[(3 * c) + 2] += yv;
                    }
                }
            }
        }
    }

    private struct RegionGradBody<TOp> : IRangeBody
        where TOp : struct, IRegionLoss
    {
        public float* Target, DPred;
        public double* Stats;
        public int C;
        public double S;
        public RegionLossParams Q;

        public readonly void Run(int start, int end)
        {
            var op = default(TOp);
            for (int i = start; i < end; i++)
            {
                int c = i % C;
                DPred[i] = (float)(-S * op.RatioGrad(Target[i], Stats[3 * c], Stats[(3 * c) + 1], Stats[(3 * c) + 2], Q) / C);
            }
        }
    }
}
