// Batch normalization over (N, C, ...): validation, dispatch, and the kernel path (two-stage channel reductions).
using System;
using Engine.Backends;
using Engine.Backends.Cpu;
using Engine.Dispatch;
using Engine.Kernels.Norm;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Ops;

/// <summary>A batch-norm forward implementation (arguments validated).</summary>
internal delegate void BatchNormForwardImpl(Tensor x, Tensor y, Tensor? gamma, Tensor? beta, Tensor? runningMean, Tensor? runningVar, Tensor saveMean, Tensor saveInvStd, BatchNormConfig config);

/// <summary>A batch-norm backward implementation (arguments validated).</summary>
internal delegate void BatchNormBackwardImpl(Tensor x, Tensor dy, Tensor? gamma, Tensor? beta, Tensor? reluOutput, Tensor saveMean, Tensor saveInvStd, Tensor? dx, Tensor? dgamma, Tensor? dbeta, BatchNormConfig config, bool accumulate);

/// <summary>
/// Batch normalization as <c>torch.nn.functional.batch_norm</c> for x of shape (N, C, ...). Training normalizes
/// with the batch mean and biased variance and updates running_mean / running_var with momentum (the running
/// variance takes the unbiased batch variance); inference normalizes with the running statistics. Forward saves
/// the mean and 1 / sqrt(var + eps) per channel that backward needs. With <c>relu</c> a ReLU that follows is folded in
/// (forward writes max(0, y), backward takes dy through ReLU's derivative first): the same numbers as batch norm then
/// <c>Activations</c>' relu, with fewer sweeps over memory on the host path. Variants: <c>kernel.welford</c>,
/// <c>host.simd</c> (forward); <c>kernel.reduce</c>, <c>host.simd</c> (backward).
/// </summary>
public static class BatchNormOp
{
    /// <summary>Forward implementations.</summary>
    internal static readonly OpRegistry<BatchNormForwardImpl> ForwardRegistry = new OpRegistry<BatchNormForwardImpl>("batch_norm")
        .Register("kernel.welford", ComputePath.Kernels, KernelForward, "ILGPU: per-thread Welford, Chan merges over blocks and a per-channel finalize, then an element-wise map")
        .Register("host.simd", ComputePath.Host, CpuBatchNorm.Forward, "managed SIMD per channel, two-pass variance in double, parallel over channels");

    /// <summary>Backward implementations.</summary>
    internal static readonly OpRegistry<BatchNormBackwardImpl> BackwardRegistry = new OpRegistry<BatchNormBackwardImpl>("batch_norm_backward")
        .Register("kernel.reduce", ComputePath.Kernels, KernelBackward, "ILGPU: two-stage sums of dy and dy*xhat per channel, then an element-wise dx")
        .Register("host.simd", ComputePath.Host, CpuBatchNorm.Backward, "managed SIMD per channel, parallel over channels");

    /// <summary>
    /// y = (x - mean) / sqrt(var + eps) * gamma + beta per channel (dimension 1 of x).
    /// Training: mean and biased var of the batch (N * spatial elements per channel, at least 2); running stats, when
    /// given, become (1 - momentum) * running + momentum * batch (unbiased variance). Inference: mean and var are the
    /// running ones (required). <paramref name="saveMean"/> and <paramref name="saveInvStd"/> ([C]) receive the mean and
    /// 1 / sqrt(var + eps) used, for <see cref="Backward"/>. gamma / beta null mean 1 / 0. y may be x. With
    /// <paramref name="relu"/>, y = relu(that) (a ReLU folded in; pass the same setting and y to <see cref="Backward"/>).
    /// </summary>
    /// <exception cref="ArgumentException">Shapes, devices or settings do not fit; the message names them.</exception>
    public static void Forward(Tensor x, Tensor y, Tensor? gamma, Tensor? beta, Tensor? runningMean, Tensor? runningVar,
        Tensor saveMean, Tensor saveInvStd, bool training, float momentum = 0.1f, float eps = 1e-5f, string? variant = null, bool relu = false)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(saveMean);
        ArgumentNullException.ThrowIfNull(saveInvStd);
        const string op = "batch_norm";
        var cfg = Describe(x, training, momentum, eps);
        TensorChecks.SameShape(y, x.Shape, op, nameof(y), "the shape of x");
        ChannelVector(x, cfg.C, op, gamma, nameof(gamma));
        ChannelVector(x, cfg.C, op, beta, nameof(beta));
        ChannelVector(x, cfg.C, op, runningMean, nameof(runningMean));
        ChannelVector(x, cfg.C, op, runningVar, nameof(runningVar));
        ChannelVector(x, cfg.C, op, saveMean, nameof(saveMean));
        ChannelVector(x, cfg.C, op, saveInvStd, nameof(saveInvStd));
        TensorChecks.OnDevice(y, x.Device, op, nameof(y));
        if ((runningMean is null) != (runningVar is null))
        {
            throw new ArgumentException($"{op}: pass both runningMean and runningVar, or neither (got only {(runningMean is null ? "runningVar" : "runningMean")}).", runningMean is null ? nameof(runningMean) : nameof(runningVar));
        }

        if (!training && runningMean is null)
        {
            throw new ArgumentException($"{op}: inference (training = false) normalizes with the running statistics; runningMean and runningVar are required.", nameof(runningMean));
        }

        if (training && cfg.Count < 2)
        {
            throw new ArgumentException($"{op}: expected more than 1 value per channel when training, got input {x.Shape} ({cfg.Count} per channel).", nameof(x));
        }

        ForwardRegistry.Select(x.Device, variant)(x, y, gamma, beta, runningMean, runningVar, saveMean, saveInvStd, cfg with { Relu = relu });
    }

    /// <summary>
    /// Gradients of <see cref="Forward"/> from dy: dx (training: the batch-statistics formula
    /// gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)); inference: gamma * invstd * dy), dgamma = sum dy * xhat,
    /// dbeta = sum dy per channel. saveMean / saveInvStd are what forward saved. Any of dx, dgamma, dbeta may be null
    /// (not computed); dgamma / dbeta are added to when <paramref name="accumulate"/>. dx may be dy.
    /// <paramref name="reluOutput"/>: the y of a <see cref="Forward"/> with <c>relu</c> (the ReLU folded in); dy is then the
    /// gradient of that ReLU's output and is taken through relu' first (relu'(y) * dy). It needs the forward's
    /// <paramref name="beta"/> as well (the host path recomputes the pre-ReLU values from x instead of reading y).
    /// </summary>
    /// <exception cref="ArgumentException">Shapes or devices do not fit; the message names them.</exception>
    public static void Backward(Tensor x, Tensor dy, Tensor? gamma, Tensor saveMean, Tensor saveInvStd, Tensor? dx, Tensor? dgamma, Tensor? dbeta,
        bool training, bool accumulate = false, string? variant = null, Tensor? beta = null, Tensor? reluOutput = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(dy);
        ArgumentNullException.ThrowIfNull(saveMean);
        ArgumentNullException.ThrowIfNull(saveInvStd);
        const string op = "batch_norm_backward";
        var cfg = Describe(x, training, 0f, 1e-5f, op);
        TensorChecks.SameShape(dy, x.Shape, op, nameof(dy), "the shape of x");
        if (dx is not null)
        {
            TensorChecks.SameShape(dx, x.Shape, op, nameof(dx), "the shape of x");
        }

        ChannelVector(x, cfg.C, op, gamma, nameof(gamma));
        ChannelVector(x, cfg.C, op, saveMean, nameof(saveMean));
        ChannelVector(x, cfg.C, op, saveInvStd, nameof(saveInvStd));
        ChannelVector(x, cfg.C, op, dgamma, nameof(dgamma));
        ChannelVector(x, cfg.C, op, dbeta, nameof(dbeta));
        TensorChecks.OnDevice(dy, x.Device, op, nameof(dy));
        TensorChecks.OnDevice(dx, x.Device, op, nameof(dx));
        ChannelVector(x, cfg.C, op, beta, nameof(beta));
        if (reluOutput is not null)
        {
            TensorChecks.SameShape(reluOutput, x.Shape, op, nameof(reluOutput), "the shape of x");
            TensorChecks.OnDevice(reluOutput, x.Device, op, nameof(reluOutput));
        }

        BackwardRegistry.Select(x.Device, variant)(x, dy, gamma, beta, reluOutput, saveMean, saveInvStd, dx, dgamma, dbeta, cfg with { Relu = reluOutput is not null }, accumulate);
    }

    private static BatchNormConfig Describe(Tensor x, bool training, float momentum, float eps, string op = "batch_norm")
    {
        if (x.Rank < 2)
        {
            throw new ArgumentException($"{op}: x is {x.Shape}; expected (N, C) or (N, C, ...) with at least 2 dimensions.", nameof(x));
        }

        TensorChecks.Indexable(x, op, nameof(x));
        TensorChecks.Finite(momentum, op, nameof(momentum));
        if (!(eps > 0f) || !float.IsFinite(eps))
        {
            throw new ArgumentOutOfRangeException(nameof(eps), eps, $"{op}: eps must be positive and finite.");
        }

        return new BatchNormConfig(x.Shape[0], x.Shape[1], (int)x.Shape.Product(2, x.Rank), training, momentum, eps);
    }

    private static void ChannelVector(Tensor x, int c, string op, Tensor? t, string name)
    {
        if (t is null)
        {
            return;
        }

        if (t.Rank != 1 || t.Length != c)
        {
            throw new ArgumentException($"{op}: {name} is {t.Shape} but must be [{c}] (one value per channel of x {x.Shape}).", name);
        }

        TensorChecks.OnDevice(t, x.Device, op, name);
    }

    private static void KernelForward(Tensor x, Tensor y, Tensor? gamma, Tensor? beta, Tensor? runningMean, Tensor? runningVar, Tensor saveMean, Tensor saveInvStd, BatchNormConfig cfg)
    {
        var device = x.Device;
        var p = new BatchNormParams { C = cfg.C, S = cfg.S, Count = cfg.Count, HasGamma = gamma is null ? 0 : 1, HasBeta = beta is null ? 0 : 1, Eps = cfg.Eps };
        if (cfg.Training)
        {
            var plan = ReducePlan.Create(device, cfg.N, cfg.C, cfg.S);
            using var scratch = device.Allocator.Rent(plan.StatsScratch * sizeof(float));
            plan.Stats(device, x.View, scratch.View<float>(0, plan.StatsScratch), saveMean.View, saveInvStd.View, runningMean?.View, runningVar?.View, cfg.Eps, cfg.Momentum);
        }
        else
        {
            var s = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormParams>>(
                "batch_norm.inference_stats", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormParams>(BatchNormKernels.InferenceStats));
            s(device.Stream, cfg.C, runningMean!.View, runningVar!.View, saveMean.View, saveInvStd.View, p);
        }

        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormParams>>(
            "batch_norm.normalize", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormParams>(BatchNormKernels.Normalize));
        k(device.Stream, (int)x.Length, x.View, y.View, saveMean.View, saveInvStd.View, (gamma ?? saveMean).View, (beta ?? saveMean).View, p);
        if (cfg.Relu)
        {
            // The folded ReLU, in place: the relu op's own kernel (the host path fuses it into the normalization sweep).
            Activations.Forward(ActivationSpec.Relu, y, y);
        }
    }

    private static void KernelBackward(Tensor x, Tensor dy, Tensor? gamma, Tensor? beta, Tensor? reluOutput, Tensor saveMean, Tensor saveInvStd, Tensor? dx, Tensor? dgamma, Tensor? dbeta, BatchNormConfig cfg, bool accumulate)
    {
        if (!cfg.Relu)
        {
            KernelBackward(x, dy.View, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, cfg, accumulate);
            return;
        }

        // The folded ReLU: g = relu'(y) * dy (the relu op's own backward) into a rented buffer, so dy stays as it is; then
        // batch norm's backward of g.
        var device = x.Device;
        using var masked = device.Allocator.Rent(x.Length * sizeof(float));
        var g = masked.View<float>(0, x.Length);
        var relu = ActivationSpec.Relu;
        relu.Definition.BackwardRegistry!.Select(device, null)(device, reluOutput!.View, reluOutput.View, dy.View, g, relu.Params);
        KernelBackward(x, g, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, cfg, accumulate);
    }

    private static void KernelBackward(Tensor x, ArrayView<float> dy, Tensor? gamma, Tensor saveMean, Tensor saveInvStd, Tensor? dx, Tensor? dgamma, Tensor? dbeta, BatchNormConfig cfg, bool accumulate)
    {
        var device = x.Device;
        bool needSums = (dx is not null && cfg.Training) || dgamma is not null || dbeta is not null;
        var plan = ReducePlan.Create(device, cfg.N, cfg.C, cfg.S);
        using var scratch = device.Allocator.Rent(Math.Max(1, plan.SumsScratch) * sizeof(float));
        var sv = scratch.View<float>(0, plan.SumsScratch);
        if (needSums)
        {
            plan.Sums(device, dy, x.View, saveMean.View, saveInvStd.View, sv, dgamma?.View, dbeta?.View, writeSums: dx is not null && cfg.Training, accumulate);
        }

        if (dx is null)
        {
            return;
        }

        var p = new BatchNormParams { C = cfg.C, S = cfg.S, Count = cfg.Count, HasGamma = gamma is null ? 0 : 1, Training = cfg.Training ? 1 : 0 };
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormParams>>(
            "batch_norm.backward_dx", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormParams>(BatchNormKernels.BackwardDx));
        k(device.Stream, (int)x.Length, x.View, dy, dx.View, saveMean.View, saveInvStd.View, (gamma ?? saveMean).View, plan.SumsOf(sv), p);
    }
}
