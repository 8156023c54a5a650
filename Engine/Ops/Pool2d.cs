// 2-D pooling ops (NCHW, as PyTorch): max, average, power-average and global average, forward and backward.
using System;
using Engine.Backends.Cpu;
using Engine.Backends.Kernel;
using Engine.Dispatch;
using Engine.Kernels.Pool;

namespace Engine.Ops;

/// <summary>
/// Max pooling (torch.nn.functional.max_pool2d, floor mode): y is the window maximum over the -inf padded input
/// (NaN propagates); indices (same shape as y, float32) hold the flat index h * W + w of the first maximum in scan
/// order, and the backward sends each dy to that element. Variants <c>kernel.gather</c>, <c>host.planes</c>.
/// </summary>
public static class MaxPool2dOp
{
    /// <summary>Forward implementations.</summary>
    internal static readonly OpRegistry<MaxPoolForwardImpl> ForwardRegistry = new OpRegistry<MaxPoolForwardImpl>("max_pool2d")
        .Register("kernel.gather", ComputePath.Kernels, PoolLaunchers.MaxForward, "ILGPU kernel: one thread per output")
        .Register("host.planes", ComputePath.Host, CpuPool.MaxForward, "managed loops, parallel over planes");

    /// <summary>Backward implementations.</summary>
    internal static readonly OpRegistry<MaxPoolBackwardImpl> BackwardRegistry = new OpRegistry<MaxPoolBackwardImpl>("max_pool2d_backward")
        .Register("kernel.gather", ComputePath.Kernels, PoolLaunchers.MaxBackward, "ILGPU kernel: one thread per input gathers from its windows (no atomics)")
        .Register("host.planes", ComputePath.Host, CpuPool.MaxBackward, "managed scatter within each plane, parallel over planes");

    /// <summary>The output shape (N, C, Ho, Wo), Ho = floor((H + 2 padding - kernel) / stride) + 1.</summary>
    public static Shape OutputShape(Shape x, Pool2dOptions options) => PoolChecks.Output(x, Describe(x, options));

    /// <summary>y = max over each window; <paramref name="indices"/> (y's shape) receives the argmax the backward needs.</summary>
    /// <exception cref="ArgumentException">Shapes, window or devices do not fit; nothing was launched.</exception>
    public static void Forward(Tensor x, Tensor y, Tensor indices, Pool2dOptions options, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        PoolChecks.IndexedForward("max_pool2d", ForwardRegistry, Describe(x.Shape, options), x, y, indices, options, variant);
    }

    /// <summary>dx = the sum of dy over the windows whose saved maximum is each element (overwrites dx, or adds when <paramref name="accumulate"/>).</summary>
    /// <exception cref="ArgumentException">Shapes, window or devices do not fit; nothing was launched.</exception>
    public static void Backward(Tensor dy, Tensor indices, Tensor dx, Pool2dOptions options, bool accumulate = false, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(dx);
        PoolChecks.IndexedBackward("max_pool2d", BackwardRegistry, Describe(dx.Shape, options, "dx"), dy, indices, dx, options, accumulate, variant);
    }

    private static PoolParams Describe(Shape x, Pool2dOptions options, string xName = "x") =>
        PoolChecks.DescribeIndexed("max_pool2d", x, options, allowPadding: true, xName);
}

/// <summary>
/// Average pooling (torch.nn.functional.avg_pool2d with count_include_pad, floor mode): y = window sum / window area,
/// padding counted as zeros. Variants <c>kernel.gather</c>, <c>host.planes</c>.
/// </summary>
public static class AvgPool2dOp
{
    /// <summary>Forward implementations.</summary>
    internal static readonly OpRegistry<PoolForwardImpl> ForwardRegistry = new OpRegistry<PoolForwardImpl>("avg_pool2d")
        .Register("kernel.gather", ComputePath.Kernels, PoolLaunchers.AvgForward, "ILGPU kernel: one thread per output")
        .Register("host.planes", ComputePath.Host, CpuPool.AvgForward, "managed loops, parallel over planes");

    /// <summary>Backward implementations.</summary>
    internal static readonly OpRegistry<PoolBackwardImpl> BackwardRegistry = new OpRegistry<PoolBackwardImpl>("avg_pool2d_backward")
        .Register("kernel.gather", ComputePath.Kernels, PoolLaunchers.AvgBackward, "ILGPU kernel: one thread per input gathers from its windows")
        .Register("host.planes", ComputePath.Host, CpuPool.AvgBackward, "managed scatter within each plane, parallel over planes");

    /// <summary>The output shape (floor mode).</summary>
    public static Shape OutputShape(Shape x, Pool2dOptions options) => PoolChecks.Output(x, PoolChecks.Describe("avg_pool2d", x, options, true));

    /// <summary>y = average over each window.</summary>
    /// <exception cref="ArgumentException">Shapes, window or devices do not fit; nothing was launched.</exception>
    public static void Forward(Tensor x, Tensor y, Pool2dOptions options, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        var p = PoolChecks.Describe("avg_pool2d", x.Shape, options, true);
        PoolChecks.Expect("avg_pool2d", y, PoolChecks.Output(x.Shape, p), "y", x.Device, $"x {x.Shape}, {options}");
        ForwardRegistry.Select(x.Device, variant)(x.Device, p, x.View, y.View);
    }

    /// <summary>dx[h, w] = sum over windows containing (h, w) of dy / area (overwrites dx, or adds when <paramref name="accumulate"/>).</summary>
    /// <exception cref="ArgumentException">Shapes, window or devices do not fit; nothing was launched.</exception>
    public static void Backward(Tensor dy, Tensor dx, Pool2dOptions options, bool accumulate = false, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(dx);
        var p = PoolChecks.Describe("avg_pool2d", dx.Shape, options, true, "dx");
        p.Beta = accumulate ? 1f : 0f;
        PoolChecks.Expect("avg_pool2d", dy, PoolChecks.Output(dx.Shape, p), "dy", dx.Device, $"dx {dx.Shape}, {options}");
        BackwardRegistry.Select(dx.Device, variant)(dx.Device, p, dy.View, dx.View);
    }
}

/// <summary>
/// Power-average pooling (torch.nn.functional.lp_pool2d, no padding, floor mode): y = (sum over window of x^p)^(1/p);
/// dx = x^(p-1) * sum over windows of dy * s^(1/p - 1) with s = sum x^p, zero for windows with s = 0 (as PyTorch).
/// Variants <c>kernel.gather</c>, <c>host.planes</c>.
/// </summary>
public static class LPPool2dOp
{
    /// <summary>Forward implementations.</summary>
    internal static readonly OpRegistry<PoolForwardImpl> ForwardRegistry = new OpRegistry<PoolForwardImpl>("lp_pool2d")
        .Register("kernel.gather", ComputePath.Kernels, PoolLaunchers.LpForward, "ILGPU kernel: one thread per output")
        .Register("host.planes", ComputePath.Host, CpuPool.LpForward, "managed loops, parallel over planes");

    /// <summary>Backward implementations.</summary>
    internal static readonly OpRegistry<LpPoolBackwardImpl> BackwardRegistry = new OpRegistry<LpPoolBackwardImpl>("lp_pool2d_backward")
        .Register("kernel.gather", ComputePath.Kernels, PoolLaunchers.LpBackward, "ILGPU kernel: one thread per input, window sums recomputed")
        .Register("host.planes", ComputePath.Host, CpuPool.LpBackward, "managed scatter within each plane, parallel over planes");

    /// <summary>The output shape (floor mode, no padding).</summary>
    public static Shape OutputShape(Shape x, Pool2dOptions options) => PoolChecks.Output(x, PoolChecks.Describe("lp_pool2d", x, options, false));

    /// <summary>y = (sum over each window of x^normType)^(1 / normType).</summary>
    /// <exception cref="ArgumentException">Shapes, window, norm type or devices do not fit; nothing was launched.</exception>
    public static void Forward(Tensor x, Tensor y, double normType, Pool2dOptions options, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        var p = Describe(x.Shape, normType, options);
        PoolChecks.Expect("lp_pool2d", y, PoolChecks.Output(x.Shape, p), "y", x.Device, $"x {x.Shape}, {options}");
        ForwardRegistry.Select(x.Device, variant)(x.Device, p, x.View, y.View);
    }

    /// <summary>Gradient of <see cref="Forward"/> with respect to x (overwrites dx, or adds when <paramref name="accumulate"/>).</summary>
    /// <exception cref="ArgumentException">Shapes, window, norm type or devices do not fit; nothing was launched.</exception>
    public static void Backward(Tensor x, Tensor dy, Tensor dx, double normType, Pool2dOptions options, bool accumulate = false, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        var p = Describe(x.Shape, normType, options);
        p.Beta = accumulate ? 1f : 0f;
        PoolChecks.Expect("lp_pool2d", dy, PoolChecks.Output(x.Shape, p), "dy", x.Device, $"x {x.Shape}, {options}");
        PoolChecks.Expect("lp_pool2d", dx, x.Shape, "dx", x.Device, "same as x");
        BackwardRegistry.Select(x.Device, variant)(x.Device, p, x.View, dy.View, dx.View);
    }

    private static PoolParams Describe(Shape x, double normType, Pool2dOptions options)
    {
        if (!double.IsFinite(normType) || normType <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(normType), normType, "lp_pool2d: norm_type must be a positive finite number.");
        }

        var p = PoolChecks.Describe("lp_pool2d", x, options, false);
        p.NormType = (float)normType;
        return p;
    }
}

/// <summary>Global average pooling: (N, C, H, W) to (N, C), the mean of each plane. Variants <c>kernel.reduce</c>, <c>host.simd</c>.</summary>
public static class GlobalAvgPool2dOp
{
    /// <summary>Forward implementations.</summary>
    internal static readonly OpRegistry<PoolForwardImpl> ForwardRegistry = new OpRegistry<PoolForwardImpl>("global_avg_pool2d")
        .Register("kernel.reduce", ComputePath.Kernels, PoolLaunchers.GlobalAvgForward, "ILGPU channel-sum kernel: one group per plane, shared-memory tree")
        .Register("host.simd", ComputePath.Host, CpuPool.GlobalAvgForward, "TensorPrimitives.Sum per plane, parallel over planes");

    /// <summary>Backward implementations.</summary>
    internal static readonly OpRegistry<PoolBackwardImpl> BackwardRegistry = new OpRegistry<PoolBackwardImpl>("global_avg_pool2d_backward")
        .Register("kernel.reduce", ComputePath.Kernels, PoolLaunchers.GlobalAvgBackward, "ILGPU kernel: one thread per input")
        .Register("host.simd", ComputePath.Host, CpuPool.GlobalAvgBackward, "span fills per plane");

    /// <summary>y[n, c] = mean over (h, w) of x[n, c, h, w]. x (N, C, H, W); y (N, C).</summary>
    /// <exception cref="ArgumentException">Shapes or devices do not fit; nothing was launched.</exception>
    public static void Forward(Tensor x, Tensor y, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        var p = Describe(x.Shape);
        PoolChecks.Expect("global_avg_pool2d", y, new Shape(x.Shape[0], x.Shape[1]), "y", x.Device, $"x {x.Shape}");
        ForwardRegistry.Select(x.Device, variant)(x.Device, p, x.View, y.View);
    }

    /// <summary>dx[n, c, h, w] = dy[n, c] / (H * W) (overwrites dx, or adds when <paramref name="accumulate"/>).</summary>
    /// <exception cref="ArgumentException">Shapes or devices do not fit; nothing was launched.</exception>
    public static void Backward(Tensor dy, Tensor dx, bool accumulate = false, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(dx);
        var p = Describe(dx.Shape, "dx");
        p.Beta = accumulate ? 1f : 0f;
        PoolChecks.Expect("global_avg_pool2d", dy, new Shape(dx.Shape[0], dx.Shape[1]), "dy", dx.Device, $"dx {dx.Shape}");
        BackwardRegistry.Select(dx.Device, variant)(dx.Device, p, dy.View, dx.View);
    }

    private static PoolParams Describe(Shape x, string xName = "x")
    {
        if (x.Rank != 4 || x.Length > int.MaxValue)
        {
            throw new ArgumentException($"global_avg_pool2d: {xName} must be 4-D (N, C, H, W) with fewer than 2^31 elements but is {x}.", xName);
        }

        return new PoolParams { Planes = x[0] * x[1], Height = x[2], Width = x[3], KernelH = x[2], KernelW = x[3], StrideH = 1, StrideW = 1, OutH = 1, OutW = 1 };
    }
}
