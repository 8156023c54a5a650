// conv2d (NCHW, as torch.nn.functional.conv2d): validation, workspace sizing and dispatch of forward and backward.
using System;
using Engine.Backends.Cpu;
using Engine.Dispatch;
using ILGPU;

namespace Engine.Ops;

/// <summary>
/// 2-D convolution y = conv2d(x, weight) + bias with stride, padding (explicit, asymmetric or "same"), dilation and
/// groups (groups = channels is depthwise). Computed as im2col + GEMM; backward: dW = dY col^T, dX = col2im(W^T dY),
/// db = sum of dY over N, H, W. Variants: <c>kernel.im2col</c> (ILGPU kernels + Gemm.Registry), <c>host.im2col</c>
/// (managed SIMD + Gemm.Registry) and <c>host.fused</c> (the host default: one image and group per thread, see
/// <see cref="CpuConvFused"/>).
/// </summary>
public static class Conv2dOp
{
    /// <summary>Forward implementations.</summary>
    internal static readonly OpRegistry<ConvForwardImpl> ForwardRegistry = new OpRegistry<ConvForwardImpl>("conv2d")
        .Register("kernel.im2col", ComputePath.Kernels, ConvAlgorithm.Forward<KernelConvPrimitives>, "ILGPU im2col kernel + resolved GEMM (batched over images or groups)")
        .Register("host.im2col", ComputePath.Host, ConvAlgorithm.Forward<HostConvPrimitives>, "managed im2col (row copies, parallel over planes) + resolved GEMM")
        .Register("host.fused", ComputePath.Host, HostFusedConv.Forward, "one (image, group) per thread: on AVX-512/AVX2, 3x3 stride-1 padding-1 convolutions by Winograd F(2x2, 3x3) (`ConvWinograd`), others as an implicit GEMM over zero-padded planes, split into stride phases for stride > 1 (no im2col, `ConvShift`); otherwise im2col into a cache-resident slot + single-threaded GEMM; direct SIMD loops for thin products", isDefault: true);

    /// <summary>Backward implementations.</summary>
    internal static readonly OpRegistry<ConvBackwardImpl> BackwardRegistry = new OpRegistry<ConvBackwardImpl>("conv2d_backward")
        .Register("kernel.im2col", ComputePath.Kernels, ConvAlgorithm.Backward<KernelConvPrimitives>, "ILGPU im2col/col2im (gather) kernels + GEMMs + channel-sum kernel")
        .Register("host.im2col", ComputePath.Host, ConvAlgorithm.Backward<HostConvPrimitives>, "managed im2col/col2im + GEMMs + SIMD channel sums")
        .Register("host.fused", ComputePath.Host, HostFusedConv.Backward, "one (image, group) per thread: on AVX-512/AVX2 as implicit GEMMs (dx with the flipped kernel, per stride phase for stride > 1; dw over the transposed gradient); otherwise im2col, GEMMs and col2im in a cache-resident slot; per-thread weight-gradient partials", isDefault: true);

    /// <summary>Validates shapes and settings and returns every size of the call (output shape, workspace needs).</summary>
    /// <exception cref="ArgumentException">The shapes or settings do not describe a convolution; the message says why.</exception>
    public static ConvGeometry Describe(Shape x, Shape weight, Conv2dOptions? options = null) =>
        ConvChecks.Conv2d(x, weight, options ?? Conv2dOptions.Default);

    /// <summary>The output shape (N, Cout, Ho, Wo), with Ho = floor((H + padTop + padBottom - dilation (kH - 1) - 1) / stride) + 1.</summary>
    public static Shape OutputShape(Shape x, Shape weight, Conv2dOptions? options = null) => Describe(x, weight, options).OutputShape;

    /// <summary>
    /// Workspace elements for forward and backward with at most <paramref name="maxImagesPerPass"/> images per im2col pass
    /// (0 for 1x1, stride 1, unpadded convolutions). Plan one workspace of this size and pass it to every call.
    /// </summary>
    public static long WorkspaceElements(Shape x, Shape weight, Conv2dOptions? options = null, int maxImagesPerPass = int.MaxValue) =>
        Describe(x, weight, options).WorkspaceElements(maxImagesPerPass);

    /// <summary>
    /// y = conv2d(x, weight) + bias. x (N, Cin, H, W), weight (Cout, Cin / groups, kH, kW), bias (Cout) or null,
    /// y (N, Cout, Ho, Wo). <paramref name="workspace"/>: any tensor of at least one image's im2col size
    /// (<see cref="ConvGeometry.ColumnElementsPerImage"/>); null rents one from the device allocator for this call.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes, settings, devices or workspace do not fit; nothing was launched.</exception>
    public static void Forward(Tensor x, Tensor weight, Tensor? bias, Tensor y, Conv2dOptions? options = null, Tensor? workspace = null, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(y);
        ConvCall.Forward("conv2d", ForwardRegistry, Describe(x.Shape, weight.Shape, options), x, weight, bias, y, workspace, variant);
    }

    /// <summary>
    /// Gradients of <see cref="Forward"/>: dx (N, Cin, H, W), dw (weight's shape), db (Cout); pass null for any not
    /// wanted. They are overwritten, or added to when <paramref name="accumulate"/>. Workspace as in <see cref="Forward"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes, settings, devices or workspace do not fit; nothing was launched.</exception>
    public static void Backward(Tensor x, Tensor weight, Tensor dy, Tensor? dx, Tensor? dw, Tensor? db, Conv2dOptions? options = null,
        Tensor? workspace = null, bool accumulate = false, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(dy);
        ConvCall.Backward("conv2d", BackwardRegistry, Describe(x.Shape, weight.Shape, options), x, weight, dy, dx, dw, db, workspace, accumulate, variant);
    }
}

/// <summary>The call sequence shared by the convolution ops (conv2d and conv_transpose2d): checks, workspace, dispatch.</summary>
internal static class ConvCall
{
    /// <summary>Checks a forward call's tensors against <paramref name="g"/>, then runs the selected implementation.</summary>
    public static void Forward(string op, OpRegistry<ConvForwardImpl> registry, in ConvGeometry g, Tensor x, Tensor weight, Tensor? bias, Tensor y,
        Tensor? workspace, string? variant)
    {
        var device = ConvChecks.Forward(op, g, x, weight, bias, y);
        var impl = registry.Select(device, variant);
        using var rented = Workspace(op, g, device, workspace, out var ws);
        impl(device, g, x.View, weight.View, bias?.View ?? default, y.View, ws);
    }

    /// <summary>Checks a backward call's tensors against <paramref name="g"/>, then runs the selected implementation.</summary>
    public static void Backward(string op, OpRegistry<ConvBackwardImpl> registry, in ConvGeometry g, Tensor x, Tensor weight, Tensor dy,
        Tensor? dx, Tensor? dw, Tensor? db, Tensor? workspace, bool accumulate, string? variant)
    {
        var device = ConvChecks.Backward(op, g, x, weight, dy, dx, dw, db);
        var impl = registry.Select(device, variant);
        using var rented = Workspace(op, g, device, workspace, out var ws, dx is null && dw is null);
        impl(device, g, x.View, weight.View, dy.View, dx?.View ?? default, dw?.View ?? default, db?.View ?? default, ws, accumulate);
    }

    /// <summary>
    /// The workspace view for a call: the caller's (checked), none when the call needs none, or a tensor rented for
    /// the whole batch (returned by disposing the result).
    /// </summary>
    public static Tensor? Workspace(string op, in ConvGeometry g, Device device, Tensor? given, out ArrayView<float> view, bool notNeeded = false)
    {
        view = default;
        if (notNeeded || g.IsPointwise)
        {
            return null;
        }

        if (given is not null)
        {
            ConvChecks.Workspace(op, g, device, given);
            view = given.View;
            return null;
        }

        var t = Tensor.Empty(device, new Shape(checked((int)Math.Min(g.WorkspaceElements(), int.MaxValue / g.ColumnElementsPerImage * g.ColumnElementsPerImage))));
        view = t.View;
        return t;
    }
}
