// Host batch norm for the CPU device: per-channel two-pass statistics in double over SIMD segments, parallel over channels;
// with a ReLU folded in (cfg.Relu) forward writes relu(bn(x)) and backward recomputes the pre-ReLU values from x to mask dy.
using System;
using System.Numerics.Tensors;

namespace Engine.Backends.Cpu;

/// <summary>Managed implementations of the batch_norm op (<c>Ops.BatchNorm</c>) over CPU-accelerator buffers.</summary>
internal static unsafe class CpuBatchNorm
{
    /// <summary>Forward, as <c>Ops.BatchNorm.Forward</c>.</summary>
    public static void Forward(Tensor x, Tensor y, Tensor? gamma, Tensor? beta, Tensor? runningMean, Tensor? runningVar, Tensor saveMean, Tensor saveInvStd, BatchNormConfig cfg)
    {
        x.Device.Synchronize();
        var body = new ForwardBody
        {
            X = HostSimd.Ptr(x), Y = HostSimd.Ptr(y), Gamma = HostSimd.PtrOrNull(gamma), Beta = HostSimd.PtrOrNull(beta),
            RunningMean = HostSimd.PtrOrNull(runningMean), RunningVar = HostSimd.PtrOrNull(runningVar),
            SaveMean = HostSimd.Ptr(saveMean), SaveInvStd = HostSimd.Ptr(saveInvStd), Cfg = cfg,
        };
        HostParallel.For(cfg.C, ref body);
    }

    /// <summary>Backward, as <c>Ops.BatchNorm.Backward</c>.</summary>
    public static void Backward(Tensor x, Tensor dy, Tensor? gamma, Tensor? beta, Tensor? reluOutput, Tensor saveMean, Tensor saveInvStd, Tensor? dx, Tensor? dgamma, Tensor? dbeta, BatchNormConfig cfg, bool accumulate)
    {
        // With the ReLU folded in, the pre-ReLU values are recomputed from x (gamma, beta and the saved statistics), so
        // the ReLU output (reluOutput) is not read here.
        _ = reluOutput;
        x.Device.Synchronize();
        var body = new BackwardBody
        {
            X = HostSimd.Ptr(x), Dy = HostSimd.Ptr(dy), Gamma = HostSimd.PtrOrNull(gamma), Beta = HostSimd.PtrOrNull(beta), Mean = HostSimd.Ptr(saveMean), InvStd = HostSimd.Ptr(saveInvStd),
            Dx = HostSimd.PtrOrNull(dx), DGamma = HostSimd.PtrOrNull(dgamma), DBeta = HostSimd.PtrOrNull(dbeta), Cfg = cfg, Accumulate = accumulate,
        };
        HostParallel.For(cfg.C, ref body);
    }

    private struct ForwardBody : IRangeBody
    {
        public float* X, Y, Gamma, Beta, RunningMean, RunningVar, SaveMean, SaveInvStd;
        public BatchNormConfig Cfg;

        public readonly void Run(int start, int end)
        {
            int n = Cfg.N, cc = Cfg.C, s = Cfg.S, m = Cfg.Count;
            for (int c = start; c < end; c++)
            {
                float mean, invStd;
                if (Cfg.Training)
                {
                    double sum = 0;
                    for (int i = 0; i < n; i++)
                    {
                        sum += TensorPrimitives.Sum(new ReadOnlySpan<float>(X + (((long)i * cc) + c) * s, s));
                    }

                    double mu = sum / m;
                    float muF = (float)mu;
                    double sq = 0;
                    for (int i = 0; i < n; i++)
                    {
                        sq += HostSimd.SumSquaredDiff(new ReadOnlySpan<float>(X + (((long)i * cc) + c) * s, s), muF);
                    }

                    // Sum (x - muF)^2 = Sum (x - mu)^2 + m * (mu - muF)^2.
                    sq = Math.Max(0, sq - (m * (mu - muF) * (mu - muF)));
                    mean = muF;
                    invStd = (float)(1.0 / Math.Sqrt((sq / m) + Cfg.Eps));
                    if (RunningMean != null)
                    {
                        double mom = Cfg.Momentum;
                        RunningMean[c] = (float)(((1 - mom) * RunningMean[c]) + (mom * mu));
                        RunningVar[c] = (float)(((1 - mom) * RunningVar[c]) + (mom * sq / (m - 1)));
                    }
                }
                else
                {
                    mean = RunningMean[c];
                    invStd = (float)(1.0 / Math.Sqrt((double)RunningVar[c] + Cfg.Eps));
                }

                SaveMean[c] = mean;
                SaveInvStd[c] = invStd;
                float a = Gamma == null ? invStd : Gamma[c] * invStd;
                float b = Beta == null ? 0f : Beta[c];
                for (int i = 0; i < n; i++)
                {
                    long o = (((long)i * cc) + c) * s;
                    if (Cfg.Relu)
                    {
                        HostSimd.AffineDiffRelu(new ReadOnlySpan<float>(X + o, s), mean, a, b, new Span<float>(Y + o, s));
                    }
                    else
                    {
                        HostSimd.AffineDiff(new ReadOnlySpan<float>(X + o, s), mean, a, b, new Span<float>(Y + o, s));
                    }
                }
            }
        }
    }

    private struct BackwardBody : IRangeBody
    {
        public float* X, Dy, Gamma, Beta, Mean, InvStd, Dx, DGamma, DBeta;
        public BatchNormConfig Cfg;
        public bool Accumulate;

        public readonly void Run(int start, int end)
        {
            int n = Cfg.N, cc = Cfg.C, s = Cfg.S, m = Cfg.Count;
            // With the ReLU folded in, the sums' sweep also writes g = relu'(y) * dy for the dx sweep.
            bool needSums = (Dx != null && (Cfg.Training || Cfg.Relu)) || DGamma != null || DBeta != null;
            for (int c = start; c < end; c++)
            {
                float mean = Mean[c], invStd = InvStd[c];

                // The forward's affine map (a, b), for the pre-ReLU values when the ReLU is folded in.
                float fa = Gamma == null ? invStd : Gamma[c] * invStd;
                float fb = Beta == null ? 0f : Beta[c];
                double sumDy = 0, sumDyXm = 0;
                if (needSums)
                {
                    for (int i = 0; i < n; i++)
                    {
                        long o = (((long)i * cc) + c) * s;
                        var dyPlane = new ReadOnlySpan<float>(Dy + o, s);
                        var xPlane = new ReadOnlySpan<float>(X + o, s);
                        double planeSumDy;
                        sumDyXm += Cfg.Relu
                            ? HostSimd.SumAndDotDiffRelu(dyPlane, xPlane, mean, fa, fb, Dx == null ? default : new Span<float>(Dx + o, s), out planeSumDy)
                            : HostSimd.SumAndDotDiff(dyPlane, xPlane, mean, out planeSumDy);
                        sumDy += planeSumDy;
                    }
                }

                double sumDyXhat = sumDyXm * invStd;
                if (DGamma != null)
                {
                    DGamma[c] = (float)((Accumulate ? DGamma[c] : 0) + sumDyXhat);
                }

                if (DBeta != null)
                {
                    DBeta[c] = (float)((Accumulate ? DBeta[c] : 0) + sumDy);
                }

                if (Dx == null)
                {
                    continue;
                }

                float k = fa;
                float c0 = Cfg.Training ? (float)(sumDy / m) : 0f;
                float c1 = Cfg.Training ? (float)(sumDyXhat * invStd / m) : 0f;
                for (int i = 0; i < n; i++)
                {
                    long o = (((long)i * cc) + c) * s;
                    // With the ReLU folded in, the sums' sweep left g = relu'(y) * dy in dx (still in cache): dx = f(g) in place.
                    var g = Cfg.Relu ? Dx + o : Dy + o;
                    HostSimd.NormBackward(new ReadOnlySpan<float>(g, s), new ReadOnlySpan<float>(X + o, s), mean, k, c0, c1, new Span<float>(Dx + o, s));
                }
            }
        }
    }
}
