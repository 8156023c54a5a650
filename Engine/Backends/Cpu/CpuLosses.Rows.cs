// Host path of the row losses (cross-entropy over C logits per row, triplet over D-wide embeddings): rows in
// parallel, double math from HostLossMath, deterministic block sums for the forward.
using System;
using Engine.Kernels.Losses;

namespace Engine.Backends.Cpu;

/// <summary>Cross-entropy and triplet on the host.</summary>
internal static unsafe partial class CpuLosses
{
    /// <summary>Cross-entropy forward: sum(num) / sum(den) for the weighted mean, else Scale * sum(num).</summary>
    public static void CrossEntropyForward(Device device, in LossViews views, in LossArgs a)
    {
        Sync(device);
        int n = a.Call.N;
        int blocks = Math.Clamp(n * a.Call.C / BlockWork, 1, Math.Min(n, MaxBlocks));
        fixed (double* s = OpScratch.For(device).HostDoubles(blocks * 2))
        {
            var body = new RowBody
            {
                Pred = Ptr(views.Pred), Target = Ptr(views.Target), Weight = Ptr(views.Weight), Out = s, Blocks = blocks, Call = a.Call, CrossEntropy = a.CrossEntropy, IsCrossEntropy = true,
            };
            HostParallel.For(blocks, ref body);
            double num = 0, den = 0;
            for (int b = 0; b < blocks; b++)
            {
                num += s[2 * b];
                den += s[(2 * b) + 1];
            }

            Ptr(views.Loss)[0] = (float)(a.CrossEntropy.WeightedMean != 0 ? num / den : num * a.Call.Scale);
        }
    }

    /// <summary>Cross-entropy backward, one row per index (the weighted-mean denominator summed first).</summary>
    public static void CrossEntropyBackward(Device device, in LossViews views, in LossArgs a)
    {
        Sync(device);
        var body = new RowBody
        {
            Pred = Ptr(views.Pred), Target = Ptr(views.Target), Weight = Ptr(views.Weight), DPred = Ptr(views.DPred), Backward = true,
            Call = a.Call, CrossEntropy = a.CrossEntropy, IsCrossEntropy = true, S = UpstreamScale(views, a.Call),
        };
        if (a.CrossEntropy.WeightedMean != 0)
        {
            double den = 0;
            for (int i = 0; i < a.Call.N; i++)
            {
                den += body.Weight[(int)body.Target[i]];
            }

            body.S /= den;
        }

        HostParallel.For(a.Call.N, ref body, Math.Max(1, BlockWork / a.Call.C));
    }

    /// <summary>Triplet forward: Scale * sum of max(d(a, p) - d(a, n) + margin, 0).</summary>
    public static void TripletForward(Device device, in LossViews views, in LossArgs a)
    {
        Sync(device);
        int n = a.Call.N;
        int blocks = Math.Clamp(n * a.Call.C / BlockWork, 1, Math.Min(n, MaxBlocks));
        fixed (double* s = OpScratch.For(device).HostDoubles(blocks * 2))
        {
            var body = new RowBody { Pred = Ptr(views.Pred), Target = Ptr(views.Target), Negative = Ptr(views.Negative), Out = s, Blocks = blocks, Call = a.Call, Triplet = a.Triplet };
            HostParallel.For(blocks, ref body);
            double num = 0;
            for (int b = 0; b < blocks; b++)
            {
                num += s[2 * b];
            }

            Ptr(views.Loss)[0] = (float)(num * a.Call.Scale);
        }
    }

    /// <summary>Triplet backward: the anchor, positive and negative gradients of each row.</summary>
    public static void TripletBackward(Device device, in LossViews views, in LossArgs a)
    {
        Sync(device);
        var body = new RowBody
        {
            Pred = Ptr(views.Pred), Target = Ptr(views.Target), Negative = Ptr(views.Negative), DPred = Ptr(views.DPred), DTarget = Ptr(views.DTarget),
            DNegative = Ptr(views.DNegative), Backward = true, Call = a.Call, Triplet = a.Triplet, S = UpstreamScale(views, a.Call),
        };
        HostParallel.For(a.Call.N, ref body, Math.Max(1, BlockWork / a.Call.C));
    }

    private struct RowBody : IRangeBody
    {
        public float* Pred, Target, Weight, Negative, DPred, DTarget, DNegative;
        public double* Out;
        public int Blocks;
        public double S;
        public bool Backward, IsCrossEntropy;
        public LossCall Call;
        public CrossEntropyParams CrossEntropy;
        public TripletParams Triplet;

        public readonly void Run(int start, int end)
        {
            if (Backward)
            {
                for (int i = start; i < end; i++)
                {
                    if (IsCrossEntropy)
                    {
                        HostLossMath.CrossEntropyRowGrad(Pred, Target, Weight, DPred, i, Call.C, CrossEntropy, S);
                    }
                    else
                    {
                        TripletRowGrad(i);
                    }
                }

                return;
            }

            for (int b = start; b < end; b++)
            {
                int r0 = (int)((long)Call.N * b / Blocks), r1 = (int)((long)Call.N * (b + 1) / Blocks);
                double num = 0, den = 0;
                for (int r = r0; r < r1; r++)
                {
                    if (IsCrossEntropy)
                    {
                        CrossEntropyRow(r, out double nr, out double dr);
                        num += nr;
                        den += dr;
                    }
                    else
                    {
                        long rb = (long)r * Call.C;
                        num += Math.Max(Distance(Pred + rb, Target + rb) - Distance(Pred + rb, Negative + rb) + Triplet.Margin, 0.0);
                    }
                }

                Out[2 * b] = num;
                Out[(2 * b) + 1] = den;
            }
        }

        private readonly double Distance(float* a, float* x) => HostLossMath.Distance(a, x, Call.C, Triplet.NormDegree);

        private readonly void CrossEntropyRow(int r, out double num, out double den)
        {
            int c = Call.C;
            float* x = Pred + ((long)r * c);
            var (m, ls) = HostLossMath.LogSumExp(x, c);
            double e = CrossEntropy.LabelSmoothing;
            bool hasW = CrossEntropy.HasWeight != 0;
            if (CrossEntropy.TargetIsProbabilities != 0)
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

        private readonly void TripletRowGrad(int i)
        {
            long rb = (long)i * Call.C;
            double p = Triplet.NormDegree;
            double dp = Distance(Pred + rb, Target + rb), dn = Distance(Pred + rb, Negative + rb);
            bool active = dp - dn + Triplet.Margin >= 0;
            for (int k = 0; k < Call.C; k++)
            {
                double gp = 0, gn = 0;
                if (active)
                {
                    gp = S * HostLossMath.NormGrad((double)Pred[rb + k] - Target[rb + k] + TripletKernels.DistanceEps, dp, p);
                    gn = S * HostLossMath.NormGrad((double)Pred[rb + k] - Negative[rb + k] + TripletKernels.DistanceEps, dn, p);
                }

                DPred[rb + k] = (float)(gp - gn);
                DTarget[rb + k] = (float)-gp;
                DNegative[rb + k] = (float)gn;
            }
        }
    }
}
