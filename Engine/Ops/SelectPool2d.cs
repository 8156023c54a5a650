// Poolings that select one element per window and save its index, like max pooling, whose backward they share:
// median pooling (odd windows, no padding) and global max pooling (one window per plane).
using System;
using Engine.Backends.Cpu;
using Engine.Backends.Kernel;
using Engine.Dispatch;
using Engine.Kernels.Pool;

namespace Engine.Ops;

/// <summary>
/// Median pooling (NCHW, floor mode, no padding): y is the median element of each window of odd sizes (kH, kW odd, so
/// the window has one middle element), chosen as <c>torch.median</c> chooses: the element of rank (k - 1) / 2 in a
/// stable sort of the window in scan order (ties go to the earlier position; a NaN in the window gives its first NaN).
/// indices (y's shape, float32) hold its flat index h * W + w; the backward sends each dy to that element (max
/// pooling's backward). Variants: forward <c>kernel.gather</c> (rank by counting) and <c>host.planes</c> (stable
/// insertion sort per window); backward those of max_pool2d.
/// </summary>
public static class MedianPool2dOp
{
    /// <summary>Forward implementations.</summary>
    internal static readonly OpRegistry<MaxPoolForwardImpl> ForwardRegistry = new OpRegistry<MaxPoolForwardImpl>("median_pool2d")
        .Register("kernel.gather", ComputePath.Kernels, PoolLaunchers.MedianForward, "ILGPU kernel: one thread per output, the median's rank found by counting (no per-thread array)")
        .Register("host.planes", ComputePath.Host, CpuPool.MedianForward, "managed stable insertion sort per window on the stack, parallel over planes");

    /// <summary>Backward implementations (max pooling's, through the saved indices).</summary>
    internal static readonly OpRegistry<MaxPoolBackwardImpl> BackwardRegistry = new OpRegistry<MaxPoolBackwardImpl>("median_pool2d_backward")
        .Register("kernel.gather", ComputePath.Kernels, PoolLaunchers.MaxBackward, "max_pool2d's kernel: one thread per input gathers from the windows that chose it")
        .Register("host.planes", ComputePath.Host, CpuPool.MaxBackward, "max_pool2d's host scatter within each plane, parallel over planes");

    /// <summary>The output shape (N, C, Ho, Wo), Ho = floor((H - kernel) / stride) + 1.</summary>
    public static Shape OutputShape(Shape x, Pool2dOptions options) => PoolChecks.Output(x, Describe(x, options));

    /// <summary>y = the median element of each window; <paramref name="indices"/> (y's shape) receives its index for the backward.</summary>
    /// <exception cref="ArgumentException">Shapes, window or devices do not fit (even sizes, padding); nothing was launched.</exception>
    public static void Forward(Tensor x, Tensor y, Tensor indices, Pool2dOptions options, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        PoolChecks.IndexedForward("median_pool2d", ForwardRegistry, Describe(x.Shape, options), x, y, indices, options, variant);
    }

    /// <summary>dx = the sum of dy over the windows whose median is each element (overwrites dx, or adds when <paramref name="accumulate"/>).</summary>
    /// <exception cref="ArgumentException">Shapes, window or devices do not fit; nothing was launched.</exception>
    public static void Backward(Tensor dy, Tensor indices, Tensor dx, Pool2dOptions options, bool accumulate = false, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(dx);
        PoolChecks.IndexedBackward("median_pool2d", BackwardRegistry, Describe(dx.Shape, options, "dx"), dy, indices, dx, options, accumulate, variant);
    }

    internal static PoolParams Describe(Shape x, Pool2dOptions options, string xName = "x")
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Kernel.H % 2 == 0 || options.Kernel.W % 2 == 0)
        {
            throw new ArgumentException($"median_pool2d: kernel {options.Kernel} must have odd sizes (a window with one middle element).", nameof(options));
        }

        return PoolChecks.DescribeIndexed("median_pool2d", x, options, allowPadding: false, xName);
    }
}

/// <summary>
/// Global max pooling: (N, C, H, W) to one value per plane, the plane's maximum (NaN wins), with indices (float32) of
/// its first maximum in scan order; the backward sends each dy there. y and indices are (N, C, 1, 1) or (N, C). It is
/// max pooling with one window per plane, so it runs max_pool2d's implementations (variants <c>kernel.gather</c>,
/// <c>host.planes</c>).
/// </summary>
public static class GlobalMaxPool2dOp
{
    /// <summary>Forward implementations (max_pool2d's, one window per plane).</summary>
    internal static readonly OpRegistry<MaxPoolForwardImpl> ForwardRegistry = new OpRegistry<MaxPoolForwardImpl>("global_max_pool2d")
        .Register("kernel.gather", ComputePath.Kernels, PoolLaunchers.MaxForward, "max_pool2d's kernel: one thread per plane")
        .Register("host.planes", ComputePath.Host, CpuPool.MaxForward, "max_pool2d's host loop, parallel over planes");

    /// <summary>Backward implementations (max_pool2d's, through the saved indices).</summary>
    internal static readonly OpRegistry<MaxPoolBackwardImpl> BackwardRegistry = new OpRegistry<MaxPoolBackwardImpl>("global_max_pool2d_backward")
        .Register("kernel.gather", ComputePath.Kernels, PoolLaunchers.MaxBackward, "max_pool2d's kernel: one thread per input")
        .Register("host.planes", ComputePath.Host, CpuPool.MaxBackward, "max_pool2d's host scatter, parallel over planes");

    /// <summary>y = the maximum of each plane; <paramref name="indices"/> (y's shape) receives its first position.</summary>
    /// <exception cref="ArgumentException">Shapes or devices do not fit; nothing was launched.</exception>
    public static void Forward(Tensor x, Tensor y, Tensor indices, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        var p = Describe(x.Shape);
        Expect(y, x.Shape, "y", x.Device);
        Expect(indices, x.Shape, "indices", x.Device);
        ForwardRegistry.Select(x.Device, variant)(x.Device, p, x.View, y.View, indices.View);
    }

    /// <summary>dx = dy at each plane's saved maximum, zero elsewhere (overwrites dx, or adds when <paramref name="accumulate"/>).</summary>
    /// <exception cref="ArgumentException">Shapes or devices do not fit; nothing was launched.</exception>
    public static void Backward(Tensor dy, Tensor indices, Tensor dx, bool accumulate = false, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(dx);
        var p = Describe(dx.Shape, "dx");
        p.Beta = accumulate ? 1f : 0f;
        Expect(dy, dx.Shape, "dy", dx.Device);
        Expect(indices, dx.Shape, "indices", dx.Device);
        BackwardRegistry.Select(dx.Device, variant)(dx.Device, p, dy.View, indices.View, dx.View);
    }

    /// <summary>Max pooling's parameters for one window per plane of <paramref name="x"/> (N, C, H, W).</summary>
    internal static PoolParams Describe(Shape x, string xName = "x")
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 4 || x.Length > int.MaxValue || x.Length == 0)
        {
            throw new ArgumentException($"global_max_pool2d: {xName} must be a non-empty 4-D (N, C, H, W) tensor with fewer than 2^31 elements but is {x}.", xName);
        }

        if ((long)x[2] * x[3] > PoolChecks.MaxIndexedPlane)
        {
            throw new ArgumentException($"global_max_pool2d: planes of {xName} {x} exceed 2^24 elements, beyond exact float32 indices.", xName);
        }

        return new PoolParams { Planes = x[0] * x[1], Height = x[2], Width = x[3], KernelH = x[2], KernelW = x[3], StrideH = x[2], StrideW = x[3], OutH = 1, OutW = 1 };
    }

    private static void Expect(Tensor t, Shape x, string name, Device device)
    {
        ArgumentNullException.ThrowIfNull(t, name);
        var four = new Shape(x[0], x[1], 1, 1);
        PoolChecks.Expect("global_max_pool2d", t, t.Rank == 2 ? new Shape(x[0], x[1]) : four, name, device, $"(N, C, 1, 1) or (N, C) for x {x}");
    }
}
