// Host path of the losses: double-precision terms and accumulators, deterministic block partial sums spread over
// cores by HostParallel, scratch from the device's OpScratch (no allocation once warm).
using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Engine.Kernels.Losses;
using Engine.Ops;
using ILGPU;

namespace Engine.Backends.Cpu;

/// <summary>Managed loss forward and backward over CPU-accelerator buffers (the <c>host.parallel</c> variants).</summary>
public static unsafe class CpuLosses
{
    private const int BlockWork = 4096;
    private const int MaxBlocks = 256;

    /// <summary>Writes the loss into views.Loss[0].</summary>
    public static void Forward(Device device, in LossViews views, LossParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
        var body = Body.From(views, p);
        int work = p.Kind is LossCodes.Dice or LossCodes.Iou or LossCodes.Tversky or LossCodes.CrossEntropy or LossCodes.Triplet ? p.N * p.C : p.N;
        int blocks = p.Kind is LossCodes.Dice or LossCodes.Iou or LossCodes.Tversky
            ? Math.Clamp(work / BlockWork, 1, Math.Max(1, Math.Min(p.N, 64)))
            : Math.Clamp(work / BlockWork, 1, Math.Min(p.N, MaxBlocks));
        int width = p.Kind is LossCodes.Dice or LossCodes.Iou or LossCodes.Tversky ? 3 * p.C : 2;
        var scratch = OpScratch.For(device).HostDoubles(blocks * width);
        fixed (double* s = scratch)
        {
            body.Out = s;
            body.Blocks = blocks;
            body.Width = width;
            HostParallel.For(blocks, ref body);
            double loss;
            if (width == 2)
            {
                double num = 0, den = 0;
                for (int b = 0; b < blocks; b++)
                {
                    num += s[2 * b];
                    den += s[(2 * b) + 1];
                }

                loss = p.Kind == LossCodes.CrossEntropy && p.DenFromBuffer != 0 ? num / den : num * p.Scale;
            }
            else
            {
                FoldStats(s, blocks, p.C);
                double acc = 0;
                for (int c = 0; c < p.C; c++)
                {
                    acc += Ratio(s[3 * c], s[(3 * c) + 1], s[(3 * c) + 2], p);
                }

                loss = 1.0 - (acc / p.C);
            }

            body.Loss[0] = (float)loss;
        }
    }

    /// <summary>Writes the gradients (views.DPred, and for triplet DTarget and DNegative).</summary>
    public static void Backward(Device device, in LossViews views, LossParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
        var body = Body.From(views, p);
        body.Backward = true;
        double s = p.Scale * (p.HasUpstream != 0 ? body.Upstream[0] : 1f);
        switch (p.Kind)
        {
            case LossCodes.CrossEntropy:
                if (p.DenFromBuffer != 0)
                {
                    double den = 0;
                    for (int i = 0; i < p.N; i++)
                    {
                        den += body.Weight[(int)body.Target[i]];
                    }

                    s /= den;
                }

                body.S = s;
                HostParallel.For(p.N, ref body, Math.Max(1, BlockWork / p.C));
                return;
            case LossCodes.Triplet:
                body.S = s;
                HostParallel.For(p.N, ref body, Math.Max(1, BlockWork / p.C));
                return;
            case LossCodes.Dice or LossCodes.Iou or LossCodes.Tversky:
                {
                    int blocks = Math.Clamp(p.N * p.C / BlockWork, 1, Math.Max(1, Math.Min(p.N, 64)));
                    var scratch = OpScratch.For(device).HostDoubles(blocks * 3 * p.C);
                    fixed (double* st = scratch)
                    {
                        var stats = body;
                        stats.Backward = false;
                        stats.Out = st;
                        stats.Blocks = blocks;
                        stats.Width = 3 * p.C;
                        HostParallel.For(blocks, ref stats);
                        FoldStats(st, blocks, p.C);
                        body.Out = st;
                        body.S = s;
                        HostParallel.For(p.N * p.C, ref body, BlockWork);
                    }

                    return;
                }

            default:
                body.S = s;
                HostParallel.For(p.N, ref body, BlockWork);
                return;
        }
    }

    private static float* Ptr(ArrayView<float> v) =>

        // CPU-accelerator buffers live in native memory, so their addresses are stable without pinning.
        (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(HostViews.Span(v)));

    private static void FoldStats(double* s, int blocks, int c)
    {
        for (int b = 1; b < blocks; b++)
        {
            for (int k = 0; k < 3 * c; k++)
            {
                s[k] += s[(b * 3 * c) + k];
            }
        }
    }

    private static double Ratio(double i, double ps, double ys, LossParams q)
    {
        double eps = q.Eps;
        return q.Kind switch
        {
            LossCodes.Dice => ((2 * i) + eps) / (ps + ys + eps),
            LossCodes.Iou => (i + eps) / (ps + ys - i + eps),
            _ => (i + eps) / (i + (q.A * (ps - i)) + (q.B * (ys - i)) + eps),
        };
    }

    private struct Body : IRangeBody
    {
        public float* Pred;
        public float* Target;
        public float* Weight;
        public float* Negative;
        public float* Loss;
        public float* Upstream;
        public float* DPred;
        public float* DTarget;
        public float* DNegative;
        public double* Out;
        public int Blocks;
        public int Width;
        public double S;
        public bool Backward;
        public LossParams Q;

        public static Body From(in LossViews v, LossParams p) => new()
        {
            Pred = Ptr(v.Pred), Target = Ptr(v.Target), Weight = Ptr(v.Weight), Negative = Ptr(v.Negative), Loss = Ptr(v.Loss),
            Upstream = Ptr(v.Upstream), DPred = Ptr(v.DPred), DTarget = Ptr(v.DTarget), DNegative = Ptr(v.DNegative), Q = p,
        };

        public readonly void Run(int start, int end)
        {
            if (Backward)
            {
                for (int i = start; i < end; i++)
                {
                    BackwardAt(i);
                }

                return;
            }

            for (int b = start; b < end; b++)
            {
                int r0 = (int)((long)Q.N * b / Blocks), r1 = (int)((long)Q.N * (b + 1) / Blocks);
                double* o = Out + ((long)b * Width);
                if (Q.Kind is LossCodes.Dice or LossCodes.Iou or LossCodes.Tversky)
                {
                    new Span<double>(o, Width).Clear();
                    for (int r = r0; r < r1; r++)
                    {
                        for (int c = 0; c < Q.C; c++)
                        {
                            double pv = Pred[((long)r * Q.C) + c], yv = Target[((long)r * Q.C) + c];
                            o[3 * c] += pv * yv;
                            o[(3 * c) + 1] += pv;
                            o[(3 * c) + 2] += yv;
                        }
                    }

                    continue;
                }

                double num = 0, den = 0;
                for (int r = r0; r < r1; r++)
                {
                    if (Q.Kind == LossCodes.CrossEntropy)
                    {
                        CrossEntropyRow(r, out double n, out double d);
                        num += n;
                        den += d;
                    }
                    else if (Q.Kind == LossCodes.Triplet)
                    {
                        long rb = (long)r * Q.C;
                        num += Math.Max(Distance(Pred + rb, Target + rb, Q.C, Q.B) - Distance(Pred + rb, Negative + rb, Q.C, Q.B) + Q.A, 0.0);
                    }
                    else
                    {
                        num += HostLossMath.Term(Pred[r], Target[r], Q);
                    }
                }

                o[0] = num;
                o[1] = den;
            }
        }

        private readonly void CrossEntropyRow(int r, out double num, out double den)
        {
            int c = Q.C;
            float* x = Pred + ((long)r * c);
            var (m, ls) = HostLossMath.LogSumExp(x, c);
            double e = Q.Eps;
            bool hasW = Q.HasWeight != 0;
            if (Q.TargetProbs != 0)
            {
                double acc = 0;
                for (int k = 0; k < c; k++)
                {
                    acc += (hasW ? Weight[k] : 1.0) * (((1 - e) * Target[((long)r * c) + k]) + (e / c)) * (m - x[k] + ls);
                }

                num = acc;
                den = 1;
                return;
            }

            int y = (int)Target[r];
            double wy = hasW ? Weight[y] : 1.0, smooth = 0;
            for (int k = 0; e != 0 && k < c; k++)
            {
                smooth += (hasW ? Weight[k] : 1.0) * (m - x[k] + ls);
            }

            num = ((1 - e) * wy * (m - x[y] + ls)) + (e / c * smooth);
            den = wy;
        }

        private readonly void BackwardAt(int i)
        {
            switch (Q.Kind)
            {
                case LossCodes.CrossEntropy:
                    HostLossMath.CrossEntropyRowGrad(Pred, Target, Weight, DPred, i, Q, S);
                    return;
                case LossCodes.Triplet:
                    {
                        long rb = (long)i * Q.C;
                        double dp = Distance(Pred + rb, Target + rb, Q.C, Q.B), dn = Distance(Pred + rb, Negative + rb, Q.C, Q.B);
                        bool active = dp - dn + Q.A >= 0;
                        for (int k = 0; k < Q.C; k++)
                        {
                            double gp = 0, gn = 0;
                            if (active)
                            {
                                gp = S * HostLossMath.NormGrad((double)Pred[rb + k] - Target[rb + k] + TripletKernels.DistanceEps, dp, Q.B);
                                gn = S * HostLossMath.NormGrad((double)Pred[rb + k] - Negative[rb + k] + TripletKernels.DistanceEps, dn, Q.B);
                            }

                            DPred[rb + k] = (float)(gp - gn);
                            DTarget[rb + k] = (float)-gp;
                            DNegative[rb + k] = (float)gn;
                        }

                        return;
                    }

                case LossCodes.Dice or LossCodes.Iou or LossCodes.Tversky:
                    {
                        int c = i % Q.C;
                        DPred[i] = (float)(-S * HostLossMath.RatioGrad(Target[i], Out[3 * c], Out[(3 * c) + 1], Out[(3 * c) + 2], Q) / Q.C);
                        return;
                    }

                default:
                    DPred[i] = (float)(S * HostLossMath.Derivative(Pred[i], Target[i], Q));
                    return;
            }
        }

        private static double Distance(float* a, float* x, int d, double p) => HostLossMath.Distance(a, x, d, p);
    }
}
