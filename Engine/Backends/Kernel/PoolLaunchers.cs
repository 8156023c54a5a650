// Launchers for the pooling kernels, loaded once per device through the kernel cache.
using System;
using Engine.Kernels.Conv;
using Engine.Kernels.Pool;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Backends.Kernel;

/// <summary>Launches <see cref="PoolKernels"/> (and the channel-sum kernel for global average pooling).</summary>
internal static class PoolLaunchers
{
    /// <summary>Launches <see cref="PoolKernels.MaxForward"/> over the outputs.</summary>
    public static void MaxForward(Device device, PoolParams p, ArrayView<float> x, ArrayView<float> y, ArrayView<float> indices)
    {
        ArgumentNullException.ThrowIfNull(device);
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, PoolParams>>(
            "pool.max_forward", a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, PoolParams>(PoolKernels.MaxForward));
        k(device.Stream, Outputs(p), x, y, indices, p);
    }

    /// <summary>Launches <see cref="PoolKernels.MaxBackward"/> over the inputs.</summary>
    public static void MaxBackward(Device device, PoolParams p, ArrayView<float> dy, ArrayView<float> indices, ArrayView<float> dx)
    {
        ArgumentNullException.ThrowIfNull(device);
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, PoolParams>>(
            "pool.max_backward", a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, PoolParams>(PoolKernels.MaxBackward));
        k(device.Stream, Inputs(p), dy, indices, dx, p);
    }

    /// <summary>Launches <see cref="MedianPoolKernels.Forward"/> over the outputs.</summary>
    public static void MedianForward(Device device, PoolParams p, ArrayView<float> x, ArrayView<float> y, ArrayView<float> indices)
    {
        ArgumentNullException.ThrowIfNull(device);
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, PoolParams>>(
            "pool.median_forward", a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, PoolParams>(MedianPoolKernels.Forward));
        k(device.Stream, Outputs(p), x, y, indices, p);
    }

    /// <summary>Launches <see cref="PoolKernels.AvgForward"/>.</summary>
    public static void AvgForward(Device device, PoolParams p, ArrayView<float> x, ArrayView<float> y)
    {
        ArgumentNullException.ThrowIfNull(device);
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, PoolParams>>(
            "pool.avg_forward", a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, PoolParams>(PoolKernels.AvgForward));
        k(device.Stream, Outputs(p), x, y, p);
    }

    /// <summary>Launches <see cref="PoolKernels.AvgBackward"/>.</summary>
    public static void AvgBackward(Device device, PoolParams p, ArrayView<float> dy, ArrayView<float> dx)
    {
        ArgumentNullException.ThrowIfNull(device);
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, PoolParams>>(
            "pool.avg_backward", a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, PoolParams>(PoolKernels.AvgBackward));
        k(device.Stream, Inputs(p), dy, dx, p);
    }

    /// <summary>Launches <see cref="PoolKernels.LpForward"/>.</summary>
    public static void LpForward(Device device, PoolParams p, ArrayView<float> x, ArrayView<float> y)
    {
        ArgumentNullException.ThrowIfNull(device);
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, PoolParams>>(
            "pool.lp_forward", a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, PoolParams>(PoolKernels.LpForward));
        k(device.Stream, Outputs(p), x, y, p);
    }

    /// <summary>Launches <see cref="PoolKernels.LpBackward"/>.</summary>
    public static void LpBackward(Device device, PoolParams p, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dx)
    {
        ArgumentNullException.ThrowIfNull(device);
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, PoolParams>>(
            "pool.lp_backward", a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, PoolParams>(PoolKernels.LpBackward));
        k(device.Stream, Inputs(p), x, dy, dx, p);
    }

    /// <summary>Launches <see cref="PoolKernels.MaxTangent"/> over the outputs.</summary>
    public static void MaxTangent(Device device, PoolParams p, ArrayView<float> dx, ArrayView<float> indices, ArrayView<float> dy)
    {
        ArgumentNullException.ThrowIfNull(device);
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, PoolParams>>(
            "pool.max_tangent", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, PoolParams>(PoolKernels.MaxTangent));
        k(device.Stream, Outputs(p), dx, indices, dy, p);
    }

    /// <summary>Launches <see cref="PoolKernels.LpTangent"/> over the outputs.</summary>
    public static void LpTangent(Device device, PoolParams p, ArrayView<float> x, ArrayView<float> dx, ArrayView<float> dy)
    {
        ArgumentNullException.ThrowIfNull(device);
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, PoolParams>>(
            "pool.lp_tangent", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, PoolParams>(PoolKernels.LpTangent));
        k(device.Stream, Outputs(p), x, dx, dy, p);
    }

    /// <summary>Global average pooling: the channel-sum kernel over (1, planes, H * W) scaled by 1 / (H * W).</summary>
    public static void GlobalAvgForward(Device device, PoolParams p, ArrayView<float> x, ArrayView<float> y)
    {
        int hw = p.Height * p.Width;
        ConvLaunchers.ChannelSum(device, x, y, new ChannelSumParams { Outer = 1, Channels = p.Planes, Inner = hw, Scale = 1f / hw, Beta = 0f });
    }

    /// <summary>Launches <see cref="PoolKernels.GlobalAvgBackward"/>.</summary>
    public static void GlobalAvgBackward(Device device, PoolParams p, ArrayView<float> dy, ArrayView<float> dx)
    {
        ArgumentNullException.ThrowIfNull(device);
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, PoolParams>>(
            "pool.global_avg_backward", a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, PoolParams>(PoolKernels.GlobalAvgBackward));
        k(device.Stream, Inputs(p), dy, dx, p);
    }

    private static int Outputs(PoolParams p) => checked(p.Planes * p.OutH * p.OutW);

    private static int Inputs(PoolParams p) => checked(p.Planes * p.Height * p.Width);
}
