// Synchronized batch norm for data-parallel training: in training mode the batch statistics are those of the ranks'
// batches together (as torch.nn.SyncBatchNorm), so R ranks with batch B/R normalize exactly as one process with batch B.
// Built from the batch-norm op: a local pass gives each rank's mean and variance, the ranks exchange them (all-gather,
// combined in rank order in double, so every rank gets the same bits), and an inference-mode pass normalizes with the
// combined ones; backward exchanges the per-channel sums of dy and dy * xhat the same way and adds the cross-rank terms.
using System;
using Engine.Distributed;
using Engine.Ops;

namespace Engine.Nn;

/// <summary>One batch-norm node's host and device scratch for synchronized statistics, made on its first synchronized step.</summary>
internal sealed class BatchNormSync : IDisposable
{
    private readonly int c;
    private readonly float[] mean;      // [C] from the device: a local mean, then the combined one
    private readonly float[] invStd;    // [C] from the device: 1 / sqrt(var + eps), local, then combined
    private readonly float[] scratch;   // [C] host values for the device tensors below
    private readonly float[] mine;      // [1 + 2C] this rank's count, means and var + eps; backward: [2C] sums
    private readonly float[] all;       // [R * (1 + 2C)]
    private readonly Tensor combinedMean;
    private readonly Tensor combinedVar;
    private readonly Tensor sumDy;
    private readonly Tensor sumDyXhat;
    private readonly Tensor zeros;
    private readonly Tensor ones;
    private readonly Tensor slope;
    private readonly Tensor offset;
    private readonly Tensor saveA;
    private readonly Tensor saveB;
    private Tensor? correction;
    private double total;

    private BatchNormSync(Device device, int channels, int ranks, float eps)
    {
        c = channels;
        mean = new float[c];
        invStd = new float[c];
        scratch = new float[c];
        mine = new float[1 + (2 * c)];
        all = new float[ranks * (1 + (2 * c))];
        var shape = new Shape(c);
        combinedMean = Tensor.Empty(device, shape);
        combinedVar = Tensor.Empty(device, shape);
        sumDy = Tensor.Empty(device, shape);
        sumDyXhat = Tensor.Empty(device, shape);
        zeros = Tensor.Zeros(device, shape);
        ones = Tensor.Empty(device, shape);
        ones.Fill(1f - eps);   // an inference-mode pass with mean 0 and var 1 - eps is the affine map gamma * x + beta
        slope = Tensor.Empty(device, shape);
        offset = Tensor.Empty(device, shape);
        saveA = Tensor.Empty(device, shape);
        saveB = Tensor.Empty(device, shape);
    }

    /// <summary>Training-mode forward with the statistics of every rank's batch.</summary>
    public static void Forward(BatchNorm layer, NodeContext ctx, ProcessGroup group)
    {
        var x = ctx.Input();
        var s = Of(layer, ctx, group);
        var saveMean = ctx.Saved(0);
        var saveInvStd = ctx.Saved(1);

        // This rank's mean and variance (the output is overwritten below).
        Ops.BatchNormOp.Forward(x, ctx.Output(), null, null, null, null, saveMean, saveInvStd, training: true, layer.Momentum, layer.Eps);
        saveMean.CopyTo(s.mean);
        saveInvStd.CopyTo(s.invStd);
        int n = (int)(x.Length / s.c);
        s.mine[0] = n;
        for (int j = 0; j < s.c; j++)
        {
            double inv = s.invStd[j];
            s.mine[1 + j] = s.mean[j];
            s.mine[1 + s.c + j] = (float)(1.0 / (inv * inv));   // var + eps
        }

        group.AllGather(s.mine, s.all);

        // Combine in rank order: mean = sum n_r m_r / N, var + eps = sum n_r ((var_r + eps) + (m_r - mean)^2) / N.
        int stride = 1 + (2 * s.c);
        double total = 0;
        for (int r = 0; r < group.Size; r++)
        {
            total += s.all[r * stride];
        }

        s.total = total;
        for (int j = 0; j < s.c; j++)
        {
            double m = 0;
            for (int r = 0; r < group.Size; r++)
            {
                m += s.all[r * stride] * (double)s.all[(r * stride) + 1 + j];
            }

            m /= total;
            double q = 0;
            for (int r = 0; r < group.Size; r++)
            {
                double d = s.all[(r * stride) + 1 + j] - m;
                q += s.all[r * stride] * (s.all[(r * stride) + 1 + s.c + j] + (d * d));
            }

            s.mean[j] = (float)m;
            s.invStd[j] = (float)Math.Max(0, (q / total) - layer.Eps);   // the biased variance, for now
        }

        s.combinedMean.CopyFrom(s.mean);
        s.combinedVar.CopyFrom(s.invStd);
        Ops.BatchNormOp.Forward(x, ctx.Output(), layer.Affine ? ctx.Param(0) : null, layer.Affine ? ctx.Param(1) : null,
            s.combinedMean, s.combinedVar, saveMean, saveInvStd, training: false, layer.Momentum, layer.Eps, relu: ctx.FoldsRelu);

        // Running statistics as one process with the whole batch updates them (the variance unbiased over all N values).
        double mom = layer.Momentum;
        ctx.Buffer(0).CopyTo(s.scratch);
        for (int j = 0; j < s.c; j++)
        {
            s.scratch[j] = (float)(((1 - mom) * s.scratch[j]) + (mom * s.mean[j]));
        }

        ctx.Buffer(0).CopyFrom(s.scratch);
        ctx.Buffer(1).CopyTo(s.scratch);
        for (int j = 0; j < s.c; j++)
        {
            s.scratch[j] = (float)(((1 - mom) * s.scratch[j]) + (mom * s.invStd[j] * total / Math.Max(1, total - 1)));
        }

        ctx.Buffer(1).CopyFrom(s.scratch);
        saveMean.CopyTo(s.mean);
        saveInvStd.CopyTo(s.invStd);
    }

    /// <summary>
    /// Backward of <see cref="Forward"/>: dx = gamma * invstd * (dy - Sdy / N - xhat * Sdyxhat / N) with the sums over
    /// every rank's batch; dgamma and dbeta are this rank's sums (data parallelism averages them with the other gradients).
    /// </summary>
    public static void Backward(BatchNorm layer, NodeContext ctx, ProcessGroup group)
    {
        var x = ctx.Input();
        var dy = ctx.OutputGrad();
        var dx = ctx.InputGrad();
        var s = Of(layer, ctx, group);
        var gamma = layer.Affine ? ctx.Param(0) : null;

        // Inference-mode backward: dx = gamma * invstd * dy, and this rank's per-channel sums.
        // (A folded ReLU is taken through here: everything below works on relu'(y) * dy.)
        Ops.BatchNormOp.Backward(x, dy, gamma, ctx.Saved(0), ctx.Saved(1), dx, s.sumDyXhat, s.sumDy, training: false,
            beta: layer.Affine ? ctx.Param(1) : null, reluOutput: ctx.FoldsRelu ? ctx.Output() : null);
        if (layer.Affine)
        {
            AddOrCopy(s.sumDyXhat, ctx.ParamGrad(0), ctx.ParamGrad(0) is not null && ctx.AccumulateParamGrad(0));
            AddOrCopy(s.sumDy, ctx.ParamGrad(1), ctx.ParamGrad(1) is not null && ctx.AccumulateParamGrad(1));
        }

        if (dx is null)
        {
            return;
        }

        var sums = s.mine.AsSpan(0, 2 * s.c);
        var allSums = s.all.AsSpan(0, group.Size * 2 * s.c);
        s.sumDy.CopyTo(sums[..s.c]);
        s.sumDyXhat.CopyTo(sums[s.c..]);
        group.AllGather(sums, allSums);
        if (gamma is not null)
        {
            gamma.CopyTo(s.scratch);
        }
        else
        {
            s.scratch.AsSpan().Fill(1f);
        }

        // The cross-rank terms are an affine map of x per channel: dx += a * x + b with k = gamma * invstd,
        // a = -k * invstd * Sdyxhat / N and b = -k * Sdy / N - a * mean.
        var a = s.mine.AsSpan(0, s.c);
        var b = s.mine.AsSpan(s.c, s.c);
        for (int j = 0; j < s.c; j++)
        {
            double sdy = 0, sdx = 0;
            for (int r = 0; r < group.Size; r++)
            {
                sdy += allSums[(r * 2 * s.c) + j];
                sdx += allSums[(r * 2 * s.c) + s.c + j];
            }

            double k = s.scratch[j] * (double)s.invStd[j];
            double slope = -k * s.invStd[j] * sdx / s.total;
            a[j] = (float)slope;
            b[j] = (float)((-k * sdy / s.total) - (slope * s.mean[j]));
        }

        s.slope.CopyFrom(a);
        s.offset.CopyFrom(b);
        s.correction ??= Tensor.Empty(x.Device, x.Shape);
        Ops.BatchNormOp.Forward(x, s.correction, s.slope, s.offset, s.zeros, s.ones, s.saveA, s.saveB, training: false, layer.Momentum, layer.Eps);
        Elementwise.Accumulate(dx, s.correction);
    }

    public void Dispose()
    {
        foreach (var t in new[] { combinedMean, combinedVar, sumDy, sumDyXhat, zeros, ones, slope, offset, saveA, saveB, correction })
        {
            t?.Dispose();
        }
    }

    private static BatchNormSync Of(BatchNorm layer, NodeContext ctx, ProcessGroup group)
    {
        if (ctx.State is BatchNormSync s && s.all.Length == group.Size * (1 + (2 * s.c)))
        {
            return s;
        }

        (ctx.State as IDisposable)?.Dispose();
        s = new BatchNormSync(ctx.Device, layer.NumFeatures, group.Size, layer.Eps);
        ctx.State = s;
        return s;
    }

    private static void AddOrCopy(Tensor src, Tensor? dst, bool accumulate)
    {
        if (dst is null)
        {
            return;
        }

        if (accumulate)
        {
            Elementwise.Accumulate(dst, src);
        }
        else
        {
            Elementwise.Copy(src, dst);
        }
    }
}
