// Launchers of the channel-layout kernels (the kernel.* variants of ChannelLayout), loaded once per device.
using System;
using Engine.Kernels.Elementwise;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Backends.Kernel;

/// <summary>Launches <see cref="LayoutKernels"/> over every output element.</summary>
internal static class LayoutLaunchers
{
    /// <summary>x (N, C, S) to y (N S, C).</summary>
    public static void ToChannelsLast(Tensor x, Tensor y, LayoutParams p) =>
        Launch("layout.channels_last", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, LayoutParams>(LayoutKernels.ToChannelsLast), x, y, p);

    /// <summary>y (N S, C) to x (N, C, S).</summary>
    public static void ToChannelsFirst(Tensor y, Tensor x, LayoutParams p) =>
        Launch("layout.channels_first", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, LayoutParams>(LayoutKernels.ToChannelsFirst), y, x, p);

    /// <summary>indices (N, S) to one-hot y (N, C, S).</summary>
    public static void OneHot(Tensor indices, Tensor y, LayoutParams p) =>
        Launch("layout.one_hot", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, LayoutParams>(LayoutKernels.OneHot), indices, y, p);

    private static void Launch(string name, Func<Accelerator, Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, LayoutParams>> load,
        Tensor src, Tensor dst, LayoutParams p)
    {
        var device = dst.Device;
        var k = device.Kernels.Get(name, load);
        k(device.Stream, checked(p.N * p.C * p.S), src.View, dst.View, p);
    }
}
