// What each compute path plugs into the convolution ops: the im2col / col2im / bias / channel-sum primitives of the
// kernel and host backends for ConvAlgorithm, and the host.fused conv2d, which the op runs where it applies.
using Engine.Backends.Cpu;
using Engine.Backends.Kernel;
using Engine.Kernels.Conv;
using ILGPU;

namespace Engine.Ops;

/// <summary>The kernel path's convolution primitives (ILGPU kernels).</summary>
internal readonly struct KernelConvPrimitives : IConvPrimitives
{
    public static void Im2Col(Device device, ArrayView<float> image, ArrayView<float> col, Im2ColParams p) => ConvLaunchers.Im2Col(device, image, col, p);

    public static void Col2Im(Device device, ArrayView<float> col, ArrayView<float> image, Im2ColParams p) => ConvLaunchers.Col2Im(device, col, image, p);

    public static void BiasFill(Device device, ArrayView<float> bias, ArrayView<float> y, ChannelSumParams p) => ConvLaunchers.BiasFill(device, bias, y, p);

    public static void ChannelSum(Device device, ArrayView<float> x, ArrayView<float> y, ChannelSumParams p) => ConvLaunchers.ChannelSum(device, x, y, p);
}

/// <summary>The host path's convolution primitives (managed SIMD).</summary>
internal readonly struct HostConvPrimitives : IConvPrimitives
{
    public static void Im2Col(Device device, ArrayView<float> image, ArrayView<float> col, Im2ColParams p) => CpuConv.Im2Col(device, image, col, p);

    public static void Col2Im(Device device, ArrayView<float> col, ArrayView<float> image, Im2ColParams p) => CpuConv.Col2Im(device, col, image, p);

    public static void BiasFill(Device device, ArrayView<float> bias, ArrayView<float> y, ChannelSumParams p) => CpuConv.BiasFill(device, bias, y, p);

    public static void ChannelSum(Device device, ArrayView<float> x, ArrayView<float> y, ChannelSumParams p) => CpuConv.ChannelSum(device, x, y, p);
}

/// <summary>
/// The <c>host.fused</c> variant: <see cref="CpuConvFused"/> (one image and group per thread) for a conv2d with at
/// least one such unit per thread, else the host im2col algorithm (transposed convolutions, small batches).
/// </summary>
internal static class HostFusedConv
{
    public static void Forward(Device device, ConvGeometry g, ArrayView<float> x, ArrayView<float> w, ArrayView<float> b, ArrayView<float> y, ArrayView<float> ws)
    {
        if (g.Transposed || !CpuConvFused.Applies(g.Batch, g.Groups))
        {
            ConvAlgorithm.Forward<HostConvPrimitives>(device, g, x, w, b, y, ws);
            return;
        }

        CpuConvFused.Forward(device, g.Im2Col(g.Batch, 0f), g.Groups, g.OutChannels, x, w, b, y, ws);
    }

    public static void Backward(Device device, ConvGeometry g, ArrayView<float> x, ArrayView<float> w, ArrayView<float> dy,
        ArrayView<float> dx, ArrayView<float> dw, ArrayView<float> db, ArrayView<float> ws, bool accumulate)
    {
        if (g.Transposed || !CpuConvFused.Applies(g.Batch, g.Groups))
        {
            ConvAlgorithm.Backward<HostConvPrimitives>(device, g, x, w, dy, dx, dw, db, ws, accumulate);
            return;
        }

        CpuConvFused.Backward(device, g.Im2Col(g.Batch, 0f), g.Groups, g.OutChannels, x, w, dy, dx, dw, db, ws, accumulate);
    }
}
