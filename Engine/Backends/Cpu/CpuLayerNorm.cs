// Host layer norm for the CPU device: rows in parallel for y and dx, column blocks in parallel for dgamma / dbeta.
using System;
using System.Numerics.Tensors;

namespace Engine.Backends.Cpu;

/// <summary>Managed implementations of the layer_norm op (<c>Ops.LayerNorm</c>) over CPU-accelerator buffers.</summary>
internal static unsafe class CpuLayerNorm
{
    private const int ColumnBlock = 256;

    /// <summary>Forward, as <c>Ops.LayerNorm.Forward</c>.</summary>
    public static void Forward(Tensor x, Tensor y, Tensor? gamma, Tensor? beta, Tensor saveMean, Tensor saveRstd, LayerNormConfig cfg)
    {
        x.Device.Synchronize();
        var body = new ForwardBody
        {
            X = HostSimd.Ptr(x), Y = HostSimd.Ptr(y), Gamma = HostSimd.PtrOrNull(gamma), Beta = HostSimd.PtrOrNull(beta),
            Mean = HostSimd.Ptr(saveMean), Rstd = HostSimd.Ptr(saveRstd), Cfg = cfg,
        };
        HostParallel.For(cfg.Rows, ref body, Math.Max(1, 4096 / cfg.D));
    }

    /// <summary>Backward, as <c>Ops.LayerNorm.Backward</c>.</summary>
    public static void Backward(Tensor x, Tensor dy, Tensor? gamma, Tensor saveMean, Tensor saveRstd, Tensor? dx, Tensor? dgamma, Tensor? dbeta, LayerNormConfig cfg, bool accumulate)
    {
        x.Device.Synchronize();
        if (dx is not null)
        {
            var body = new DxBody
            {
                X = HostSimd.Ptr(x), Dy = HostSimd.Ptr(dy), Dx = HostSimd.Ptr(dx), Gamma = HostSimd.PtrOrNull(gamma),
                Mean = HostSimd.Ptr(saveMean), Rstd = HostSimd.Ptr(saveRstd), Cfg = cfg,
            };
            HostParallel.For(cfg.Rows, ref body, Math.Max(1, 4096 / cfg.D));
        }

        if (dgamma is not null || dbeta is not null)
        {
            var body = new ParamBody
            {
                X = HostSimd.Ptr(x), Dy = HostSimd.Ptr(dy), Mean = HostSimd.Ptr(saveMean), Rstd = HostSimd.Ptr(saveRstd),
                DGamma = HostSimd.PtrOrNull(dgamma), DBeta = HostSimd.PtrOrNull(dbeta), Cfg = cfg, Accumulate = accumulate,
            };
            HostParallel.For((cfg.D + ColumnBlock - 1) / ColumnBlock, ref body);
        }
    }

    /// <summary>Tangent (forward mode), as <c>Ops.LayerNorm.Tangent</c>: one row per iteration, in double.</summary>
    public static void Tangent(Tensor x, Tensor dx, Tensor dy, Tensor? gamma, Tensor? dgamma, Tensor? dbeta, Tensor saveMean, Tensor saveRstd, LayerNormConfig cfg)
    {
        x.Device.Synchronize();
        var body = new TangentBody
        {
            X = HostSimd.Ptr(x), Dx = HostSimd.Ptr(dx), Dy = HostSimd.Ptr(dy), Gamma = HostSimd.PtrOrNull(gamma), DGamma = HostSimd.PtrOrNull(dgamma),
            DBeta = HostSimd.PtrOrNull(dbeta), Mean = HostSimd.Ptr(saveMean), Rstd = HostSimd.Ptr(saveRstd), Cfg = cfg,
        };
        HostParallel.For(cfg.Rows, ref body, Math.Max(1, 4096 / cfg.D));
    }

    private struct TangentBody : IRangeBody
    {
        public float* X, Dx, Dy, Gamma, DGamma, DBeta, Mean, Rstd;
        public LayerNormConfig Cfg;

        public readonly void Run(int start, int end)
        {
            int d = Cfg.D;
            for (int r = start; r < end; r++)
            {
                long b = (long)r * d;
                float mu = Mean[r], rs = Rstd[r];
                double a0 = 0, a1 = 0;
                for (int j = 0; j < d; j++)
                {
                    a0 += Dx[b + j];
                    a1 += Dx[b + j] * (double)((X[b + j] - mu) * rs);
                }

                float meanT = (float)(a0 / d), meanTx = (float)(a1 / d);
                for (int j = 0; j < d; j++)
                {
                    float xhat = (X[b + j] - mu) * rs;
                    float v = rs * (Dx[b + j] - meanT - (xhat * meanTx));
                    if (Gamma != null)
                    {
                        v *= Gamma[j];
                    }

                    if (DGamma != null)
                    {
                        v += (xhat * DGamma[j]) + DBeta[j];
                    }

                    Dy[b + j] = v;
                }
            }
        }
    }

    private struct ForwardBody : IRangeBody
    {
        public float* X, Y, Gamma, Beta, Mean, Rstd;
        public LayerNormConfig Cfg;

        public readonly void Run(int start, int end)
        {
            int d = Cfg.D;
            for (int r = start; r < end; r++)
            {
                var x = new ReadOnlySpan<float>(X + ((long)r * d), d);
                var y = new Span<float>(Y + ((long)r * d), d);
                double mu = (double)TensorPrimitives.Sum(x) / d;
                float muF = (float)mu;
                double sq = Math.Max(0, HostSimd.SumSquaredDiff(x, muF) - (d * (mu - muF) * (mu - muF)));
                float rs = (float)(1.0 / Math.Sqrt((sq / d) + Cfg.Eps));
                Mean[r] = muF;
                Rstd[r] = rs;
                HostSimd.AffineDiff(x, muF, rs, 0f, y);
                if (Gamma != null && Beta != null)
                {
                    TensorPrimitives.MultiplyAdd(y, new ReadOnlySpan<float>(Gamma, d), new ReadOnlySpan<float>(Beta, d), y);
                }
                else if (Gamma != null)
                {
                    TensorPrimitives.Multiply(y, new ReadOnlySpan<float>(Gamma, d), y);
                }
                else if (Beta != null)
                {
                    TensorPrimitives.Add(y, new ReadOnlySpan<float>(Beta, d), y);
                }
            }
        }
    }

    private struct DxBody : IRangeBody
    {
        public float* X, Dy, Dx, Gamma, Mean, Rstd;
        public LayerNormConfig Cfg;

        public readonly void Run(int start, int end)
        {
            int d = Cfg.D;
            for (int r = start; r < end; r++)
            {
                var x = new ReadOnlySpan<float>(X + ((long)r * d), d);
                var dx = new Span<float>(Dx + ((long)r * d), d);
                var dy = new ReadOnlySpan<float>(Dy + ((long)r * d), d);

                // g = dy * gamma, staged in dx (dx may be dy; nothing else reads dy afterwards).
                if (Gamma != null)
                {
                    TensorPrimitives.Multiply(dy, new ReadOnlySpan<float>(Gamma, d), dx);
                }
                else if (Dx != Dy)
                {
                    dy.CopyTo(dx);
                }

                float mu = Mean[r], rs = Rstd[r];
                double sumG = TensorPrimitives.Sum(dx);
                double sumGXhat = HostSimd.DotDiff(dx, x, mu) * rs;
                HostSimd.NormBackward(dx, x, mu, rs, (float)(sumG / d), (float)(sumGXhat * rs / d), dx);
            }
        }
    }

    private struct ParamBody : IRangeBody
    {
        public float* X, Dy, Mean, Rstd, DGamma, DBeta;
        public LayerNormConfig Cfg;
        public bool Accumulate;

        public readonly void Run(int start, int end)
        {
            int d = Cfg.D;
            for (int blk = start; blk < end; blk++)
            {
                int c0 = blk * ColumnBlock;
                int w = Math.Min(ColumnBlock, d - c0);
                var dg = DGamma == null ? Span<float>.Empty : new Span<float>(DGamma + c0, w);
                var db = DBeta == null ? Span<float>.Empty : new Span<float>(DBeta + c0, w);
                if (!Accumulate)
                {
                    dg.Clear();
                    db.Clear();
                }

                for (int r = 0; r < Cfg.Rows; r++)
                {
                    long o = ((long)r * d) + c0;
                    var dy = new ReadOnlySpan<float>(Dy + o, w);
                    if (DBeta != null)
                    {
                        TensorPrimitives.Add(db, dy, db);
                    }

                    if (DGamma != null)
                    {
                        HostSimd.AccumulateScaledDiff(dy, new ReadOnlySpan<float>(X + o, w), Mean[r], Rstd[r], dg);
                    }
                }
            }
        }
    }
}
