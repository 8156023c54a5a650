// Launchers for the im2col / col2im / bias / channel-sum kernels, loaded once per device through the kernel cache.
using System;
using Engine.Kernels.Conv;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Backends.Kernel;

/// <summary>Launches <see cref="ConvKernels"/>; sizes come from the params (one thread per element as documented there).</summary>
internal static class ConvLaunchers
{
    /// <summary>Launches <see cref="ConvKernels.Im2Col"/>.</summary>
    public static void Im2Col(Device device, ArrayView<float> image, ArrayView<float> col, Im2ColParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, Im2ColParams>>(
            "conv.im2col", a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, Im2ColParams>(ConvKernels.Im2Col));
        k(device.Stream, checked(p.Images * p.Channels * p.OutH * p.OutW), image, col, p);
    }

    /// <summary>Launches <see cref="ConvKernels.Col2Im"/>.</summary>
    public static void Col2Im(Device device, ArrayView<float> col, ArrayView<float> image, Im2ColParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, Im2ColParams>>(
            "conv.col2im", a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, Im2ColParams>(ConvKernels.Col2Im));
        k(device.Stream, checked(p.Images * p.Channels * p.Height * p.Width), col, image, p);
    }

    /// <summary>Launches <see cref="ConvKernels.BiasFill"/>.</summary>
    public static void BiasFill(Device device, ArrayView<float> bias, ArrayView<float> y, ChannelSumParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ChannelSumParams>>(
            "conv.bias_fill", a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ChannelSumParams>(ConvKernels.BiasFill));
        k(device.Stream, checked(p.Outer * p.Channels * p.Inner), bias, y, p);
    }

    /// <summary>Launches <see cref="ConvKernels.ChannelSum"/>: one group per channel.</summary>
    public static void ChannelSum(Device device, ArrayView<float> x, ArrayView<float> y, ChannelSumParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ChannelSumParams>>(
            "conv.channel_sum", a => a.LoadKernel<ArrayView<float>, ArrayView<float>, ChannelSumParams>(ConvKernels.ChannelSum));
        k(device.Stream, new KernelConfig(p.Channels, ConvKernels.SumGroupSize), x, y, p);
    }
}
