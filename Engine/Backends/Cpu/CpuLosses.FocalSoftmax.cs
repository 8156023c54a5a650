// Host path of the softmax focal loss: rows in parallel in double (FocalSoftmaxLoss's double form), deterministic
// block sums for the forward (its own file so that the loss is one addition beside the other families).
using System;
using Engine.Kernels.Losses;

namespace Engine.Backends.Cpu;

/// <summary>Softmax focal loss on the host.</summary>
internal static unsafe partial class CpuLosses
{
    /// <summary>Softmax focal forward: Scale * sum of the row losses.</summary>
    public static void FocalSoftmaxForward(Device device, in LossViews views, in LossArgs a)
    {
        Sync(device);
        int n = a.Call.N;
        int blocks = Math.Clamp(n * a.Call.C / BlockWork, 1, Math.Min(n, MaxBlocks));
        fixed (double* s = OpScratch.For(device).HostDoubles(blocks))
        {
            var body = new FocalSoftmaxBody { Pred = Ptr(views.Pred), Target = Ptr(views.Target), Out = s, Blocks = blocks, Call = a.Call, Q = a.FocalSoftmax };
            HostParallel.For(blocks, ref body);
            double sum = 0;
            for (int b = 0; b < blocks; b++)
            {
                sum += s[b];
            }

            Ptr(views.Loss)[0] = (float)(sum * a.Call.Scale);
        }
    }

    /// <summary>Softmax focal backward, one row per index.</summary>
    public static void FocalSoftmaxBackward(Device device, in LossViews views, in LossArgs a)
    {
        Sync(device);
        var body = new FocalSoftmaxBody
        {
            Pred = Ptr(views.Pred), Target = Ptr(views.Target), DPred = Ptr(views.DPred), Backward = true, Call = a.Call, Q = a.FocalSoftmax, S = UpstreamScale(views, a.Call),
        };
        HostParallel.For(a.Call.N, ref body, Math.Max(1, BlockWork / a.Call.C));
    }

    private struct FocalSoftmaxBody : IRangeBody
    {
        public float* Pred, Target, DPred;
        public double* Out;
        public int Blocks;
        public double S;
        public bool Backward;
        public LossCall Call;
        public FocalSoftmaxParams Q;

        public readonly void Run(int start, int end)
        {
            if (Backward)
            {
                for (int r = start; r < end; r++)
                {
                    RowGrad(r);
                }

                return;
            }

            for (int b = start; b < end; b++)
            {
                int r0 = (int)((long)Call.N * b / Blocks), r1 = (int)((long)Call.N * (b + 1) / Blocks);
                double acc = 0;
                for (int r = r0; r < r1; r++)
                {
                    acc += Stats(r, out double q, out double lp) ? FocalSoftmaxLoss.Term(q, lp, Q) : double.NaN;
                }

                Out[b] = acc;
            }
        }

        // q = 1 - p_t and lp = log p_t of row r from exact logit differences; false for an invalid class number.
        private readonly bool Stats(int r, out double q, out double lp)
        {
            int c = Call.C;
            float* x = Pred + ((long)r * c);
            float yf = Target[r];
            int y = (int)yf;
            if (y != yf || y < 0 || y >= c)
            {
                q = lp = double.NaN;
                return false;
            }

            double m = x[0];
            for (int k = 1; k < c; k++)
            {
                m = Math.Max(m, x[k]);
            }

            double rest = 0;
            for (int k = 0; k < c; k++)
            {
                rest += k == y ? 0 : Math.Exp(x[k] - m);
            }

            double sum = rest + Math.Exp(x[y] - m);
            q = rest / sum;
            lp = x[y] - m - Math.Log(sum);
            return true;
        }

        private readonly void RowGrad(int r)
        {
            int c = Call.C;
            float* x = Pred + ((long)r * c);
            float* d = DPred + ((long)r * c);
            if (!Stats(r, out double q, out double lp))
            {
                new Span<float>(d, c).Fill(float.NaN);
                return;
            }

            int y = (int)Target[r];
            double f = S * FocalSoftmaxLoss.Factor(q, lp, Q);
            double lse = x[y] - lp; // m + log S
            for (int k = 0; k < c; k++)
            {
                d[k] = (float)(f * (k == y ? -q : Math.Exp(x[k] - lse)));
            }
        }
    }
}
