// Layer normalization over the trailing normalized_shape dimensions: validation, dispatch and the kernel path.
using System;
using Engine.Backends;
using Engine.Backends.Cpu;
using Engine.Dispatch;
using Engine.Kernels.Norm;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Ops;

/// <summary>A layer-norm forward implementation (arguments validated).</summary>
internal delegate void LayerNormForwardImpl(Tensor x, Tensor y, Tensor? gamma, Tensor? beta, Tensor saveMean, Tensor saveRstd, LayerNormConfig config);

/// <summary>A layer-norm backward implementation (arguments validated).</summary>
internal delegate void LayerNormBackwardImpl(Tensor x, Tensor dy, Tensor? gamma, Tensor saveMean, Tensor saveRstd, Tensor? dx, Tensor? dgamma, Tensor? dbeta, LayerNormConfig config, bool accumulate);

/// <summary>A layer-norm tangent (forward-mode) implementation (arguments validated; dgamma and dbeta both given or both null).</summary>
internal delegate void LayerNormTangentImpl(Tensor x, Tensor dx, Tensor dy, Tensor? gamma, Tensor? dgamma, Tensor? dbeta, Tensor saveMean, Tensor saveRstd, LayerNormConfig config);

/// <summary>
/// Layer normalization as <c>torch.nn.functional.layer_norm</c>: each row of the trailing
/// <c>normalizedShape</c> dimensions is normalized with its own mean and biased variance, then scaled by gamma and
/// shifted by beta (both of shape normalizedShape; null means 1 / 0). Variants: <c>kernel.rowgroup</c> and
/// <c>host.simd</c> for forward and backward.
/// </summary>
public static class LayerNormOp
{
    /// <summary>Forward implementations.</summary>
    internal static readonly OpRegistry<LayerNormForwardImpl> ForwardRegistry = new OpRegistry<LayerNormForwardImpl>("layer_norm")
        .Register("kernel.rowgroup", ComputePath.Kernels, KernelForward, "ILGPU: one group per row, Welford plus Chan tree in shared memory, then the affine map; one thread per row when D <= 32")
        .Register("host.simd", ComputePath.Host, CpuLayerNorm.Forward, "managed SIMD per row, two-pass variance, parallel over rows");

    /// <summary>Backward implementations.</summary>
    internal static readonly OpRegistry<LayerNormBackwardImpl> BackwardRegistry = new OpRegistry<LayerNormBackwardImpl>("layer_norm_backward")
        .Register("kernel.rowgroup", ComputePath.Kernels, KernelBackward, "ILGPU: dx with one group per row (one thread when D <= 32); dgamma/dbeta as two-stage column sums")
        .Register("host.simd", ComputePath.Host, CpuLayerNorm.Backward, "managed SIMD: dx parallel over rows, dgamma/dbeta parallel over column blocks");

    /// <summary>Tangent (forward-mode) implementations.</summary>
    internal static readonly OpRegistry<LayerNormTangentImpl> TangentRegistry = new OpRegistry<LayerNormTangentImpl>("layer_norm_tangent")
        .Register("kernel.row", ComputePath.Kernels, KernelTangent, "ILGPU: one thread per row, two passes")
        .Register("host.rows", ComputePath.Host, CpuLayerNorm.Tangent, "managed loop per row (sums in double), parallel over rows");

    /// <summary>
    /// y = (x - mean) / sqrt(var + eps) * gamma + beta over the trailing dimensions of x that equal
    /// <paramref name="normalizedShape"/>. <paramref name="saveMean"/> and <paramref name="saveRstd"/> receive one value
    /// per row (Rows = x.Length / D elements, any shape) for <see cref="Backward"/>. y may be x.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes, devices or settings do not fit; the message names them.</exception>
    public static void Forward(Tensor x, Tensor y, Tensor? gamma, Tensor? beta, Tensor saveMean, Tensor saveRstd, Shape normalizedShape, float eps = 1e-5f, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(saveMean);
        ArgumentNullException.ThrowIfNull(saveRstd);
        const string op = "layer_norm";
        var cfg = Describe(x, normalizedShape, eps, op);
        TensorChecks.SameShape(y, x.Shape, op, nameof(y), "the shape of x");
        Param(gamma, normalizedShape, x, op, nameof(gamma));
        Param(beta, normalizedShape, x, op, nameof(beta));
        Saved(saveMean, cfg, x, op, nameof(saveMean));
        Saved(saveRstd, cfg, x, op, nameof(saveRstd));
        TensorChecks.OnDevice(y, x.Device, op, nameof(y));
        ForwardRegistry.Select(x.Device, variant)(x, y, gamma, beta, saveMean, saveRstd, cfg);
    }

    /// <summary>
    /// Gradients of <see cref="Forward"/>: dx = rstd * (dy*gamma - mean(dy*gamma) - xhat * mean(dy*gamma*xhat)) per row,
    /// dgamma = sum over rows of dy * xhat, dbeta = sum over rows of dy. Any of dx, dgamma, dbeta may be null; dgamma /
    /// dbeta are added to when <paramref name="accumulate"/>. dx may be dy.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes or devices do not fit; the message names them.</exception>
    public static void Backward(Tensor x, Tensor dy, Tensor? gamma, Tensor saveMean, Tensor saveRstd, Tensor? dx, Tensor? dgamma, Tensor? dbeta,
        Shape normalizedShape, bool accumulate = false, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(dy);
        ArgumentNullException.ThrowIfNull(saveMean);
        ArgumentNullException.ThrowIfNull(saveRstd);
        const string op = "layer_norm_backward";
        var cfg = Describe(x, normalizedShape, 1e-5f, op);
        TensorChecks.SameShape(dy, x.Shape, op, nameof(dy), "the shape of x");
        if (dx is not null)
        {
            TensorChecks.SameShape(dx, x.Shape, op, nameof(dx), "the shape of x");
        }

        Param(gamma, normalizedShape, x, op, nameof(gamma));
        Param(dgamma, normalizedShape, x, op, nameof(dgamma));
        Param(dbeta, normalizedShape, x, op, nameof(dbeta));
        Saved(saveMean, cfg, x, op, nameof(saveMean));
        Saved(saveRstd, cfg, x, op, nameof(saveRstd));
        TensorChecks.OnDevice(dy, x.Device, op, nameof(dy));
        TensorChecks.OnDevice(dx, x.Device, op, nameof(dx));
        BackwardRegistry.Select(x.Device, variant)(x, dy, gamma, saveMean, saveRstd, dx, dgamma, dbeta, cfg, accumulate);
    }

    /// <summary>
    /// Forward mode: the tangent of <see cref="Forward"/> along the input tangent dx and (both or neither) the
    /// parameter tangents dgamma, dbeta: dy = gamma rstd (dx - mean(dx) - xhat mean(xhat dx)) + xhat dgamma + dbeta per
    /// row, from the statistics forward saved.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes or devices do not fit, or only one of dgamma and dbeta is given.</exception>
    public static void Tangent(Tensor x, Tensor dx, Tensor dy, Tensor? gamma, Tensor? dgamma, Tensor? dbeta, Tensor saveMean, Tensor saveRstd,
        Shape normalizedShape, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(dx);
        ArgumentNullException.ThrowIfNull(dy);
        ArgumentNullException.ThrowIfNull(saveMean);
        ArgumentNullException.ThrowIfNull(saveRstd);
        const string op = "layer_norm_tangent";
        var cfg = Describe(x, normalizedShape, 1e-5f, op);
        TensorChecks.SameShape(dx, x.Shape, op, nameof(dx), "the shape of x");
        TensorChecks.SameShape(dy, x.Shape, op, nameof(dy), "the shape of x");
        if ((dgamma is null) != (dbeta is null))
        {
            throw new ArgumentException($"{op}: give both dgamma and dbeta or neither.", dgamma is null ? nameof(dgamma) : nameof(dbeta));
        }

        Param(gamma, normalizedShape, x, op, nameof(gamma));
        Param(dgamma, normalizedShape, x, op, nameof(dgamma));
        Param(dbeta, normalizedShape, x, op, nameof(dbeta));
        Saved(saveMean, cfg, x, op, nameof(saveMean));
        Saved(saveRstd, cfg, x, op, nameof(saveRstd));
        TensorChecks.OnDevice(dx, x.Device, op, nameof(dx));
        TensorChecks.OnDevice(dy, x.Device, op, nameof(dy));
        TangentRegistry.Select(x.Device, variant)(x, dx, dy, gamma, dgamma, dbeta, saveMean, saveRstd, cfg);
    }

    private static LayerNormConfig Describe(Tensor x, Shape normalizedShape, float eps, string op)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        int k = normalizedShape.Rank;
        bool fits = k >= 1 && k <= x.Rank;
        for (int i = 0; fits && i < k; i++)
        {
            fits = x.Shape[x.Rank - k + i] == normalizedShape[i];
        }

        if (!fits)
        {
            throw new ArgumentException($"{op}: normalizedShape {normalizedShape} must be non-empty and equal the trailing dimensions of x {x.Shape}.", nameof(normalizedShape));
        }

        TensorChecks.Indexable(x, op, nameof(x));
        if (!(eps > 0f) || !float.IsFinite(eps))
        {
            throw new ArgumentOutOfRangeException(nameof(eps), eps, $"{op}: eps must be positive and finite.");
        }

        int d = (int)normalizedShape.Length;
        return new LayerNormConfig((int)(x.Length / d), d, eps);
    }

    private static void Param(Tensor? t, Shape normalizedShape, Tensor x, string op, string name)
    {
        if (t is null)
        {
            return;
        }

        TensorChecks.SameShape(t, normalizedShape, op, name, "normalizedShape");
        TensorChecks.OnDevice(t, x.Device, op, name);
    }

    private static void Saved(Tensor t, LayerNormConfig cfg, Tensor x, string op, string name)
    {
        if (t.Length != cfg.Rows)
        {
            // Only here: the message would allocate on every call of a warm training step.
            TensorChecks.Length(t, cfg.Rows, op, name, $"one value per normalized row of x {x.Shape}");
        }
        TensorChecks.OnDevice(t, x.Device, op, name);
    }

    /// <summary>Rows of at most this many elements are normalized by one thread each (no group, no barriers).</summary>
    private const int SmallRow = 32;

    private static int RowGroup(Device device, int d) => ReducePlan.Pow2Clamp(d, ReduceTuning.For(device).MaxGroup);

    private static void KernelForward(Tensor x, Tensor y, Tensor? gamma, Tensor? beta, Tensor saveMean, Tensor saveRstd, LayerNormConfig cfg)
    {
        var device = x.Device;
        var p = new LayerNormParams { Rows = cfg.Rows, D = cfg.D, Eps = cfg.Eps, HasGamma = gamma is null ? 0 : 1, HasBeta = beta is null ? 0 : 1 };
        if (cfg.D <= SmallRow)
        {
            var s = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerNormParams>>(
                "layer_norm.forward_small", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerNormParams>(LayerNormKernels.ForwardSmall));
            s(device.Stream, cfg.Rows, x.View, y.View, (gamma ?? saveMean).View, (beta ?? saveMean).View, saveMean.View, saveRstd.View, p);
            return;
        }

        var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerNormParams>>(
            "layer_norm.forward", static a => a.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerNormParams>(LayerNormKernels.Forward));
        k(device.Stream, new KernelConfig(new Index1D(cfg.Rows), new Index1D(RowGroup(device, cfg.D))), x.View, y.View, (gamma ?? saveMean).View, (beta ?? saveMean).View, saveMean.View, saveRstd.View, p);
    }

    private static void KernelTangent(Tensor x, Tensor dx, Tensor dy, Tensor? gamma, Tensor? dgamma, Tensor? dbeta, Tensor saveMean, Tensor saveRstd, LayerNormConfig cfg)
    {
        var device = x.Device;
        var p = new LayerNormParams { Rows = cfg.Rows, D = cfg.D, Eps = cfg.Eps, HasGamma = gamma is null ? 0 : 1, HasBeta = dgamma is null ? 0 : 1 };
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerNormParams>>(
            "layer_norm.tangent", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerNormParams>(LayerNormKernels.Tangent));
        k(device.Stream, cfg.Rows, x.View, dx.View, dy.View, (gamma ?? saveMean).View, (dgamma ?? saveMean).View, (dbeta ?? saveMean).View, saveMean.View, saveRstd.View, p);
    }

    private static void KernelBackward(Tensor x, Tensor dy, Tensor? gamma, Tensor saveMean, Tensor saveRstd, Tensor? dx, Tensor? dgamma, Tensor? dbeta, LayerNormConfig cfg, bool accumulate)
    {
        var device = x.Device;
        if (dx is not null)
        {
            var p = new LayerNormParams { Rows = cfg.Rows, D = cfg.D, Eps = cfg.Eps, HasGamma = gamma is null ? 0 : 1 };
            if (cfg.D <= SmallRow)
            {
                var s = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerNormParams>>(
                    "layer_norm.backward_dx_small", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerNormParams>(LayerNormKernels.BackwardDxSmall));
                s(device.Stream, cfg.Rows, x.View, dy.View, dx.View, (gamma ?? saveMean).View, saveMean.View, saveRstd.View, p);
            }
            else
            {
                var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerNormParams>>(
                    "layer_norm.backward_dx", static a => a.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerNormParams>(LayerNormKernels.BackwardDx));
                k(device.Stream, new KernelConfig(new Index1D(cfg.Rows), new Index1D(RowGroup(device, cfg.D))), x.View, dy.View, dx.View, (gamma ?? saveMean).View, saveMean.View, saveRstd.View, p);
            }
        }

        if (dgamma is null && dbeta is null)
        {
            return;
        }

        // Column sums over rows: the (Rows, D) matrix is (N = Rows, C = D, S = 1) with per-row statistics.
        var plan = ReducePlan.Create(device, cfg.Rows, cfg.D, 1, perRowStats: true, hasX: dgamma is not null);
        using var scratch = device.Allocator.Rent(plan.SumsScratch * sizeof(float));
        plan.Sums(device, dy.View, x.View, saveMean.View, saveRstd.View, scratch.View<float>(0, plan.SumsScratch), dgamma?.View, dbeta?.View, writeSums: false, accumulate);
    }
}
