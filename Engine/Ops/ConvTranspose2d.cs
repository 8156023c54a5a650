// conv_transpose2d (NCHW, as torch.nn.functional.conv_transpose2d): validation and dispatch; it is the adjoint of conv2d.
using System;
using Engine.Dispatch;

namespace Engine.Ops;

/// <summary>
/// Transposed 2-D convolution (the gradient of conv2d with respect to its input) with stride, padding, output padding,
/// dilation and groups; weight (Cin, Cout / groups, kH, kW) as PyTorch. Forward: col = W^T x (GEMM), y = col2im(col) + bias;
/// backward: col = im2col(dy), dx = W col, dW = x col^T, db = sum of dy over N, H, W.
/// Variants as <see cref="Conv2dOp"/>: <c>kernel.im2col</c> and <c>host.im2col</c>.
/// </summary>
public static class ConvTranspose2dOp
{
    /// <summary>Forward implementations.</summary>
    internal static readonly OpRegistry<ConvForwardImpl> ForwardRegistry = new OpRegistry<ConvForwardImpl>("conv_transpose2d")
        .Register("kernel.im2col", ComputePath.Kernels, ConvAlgorithm.Forward<KernelConvPrimitives>, "resolved GEMM + ILGPU col2im (gather) kernel")
        .Register("host.im2col", ComputePath.Host, ConvAlgorithm.Forward<HostConvPrimitives>, "resolved GEMM + managed col2im");

    /// <summary>Backward implementations.</summary>
    internal static readonly OpRegistry<ConvBackwardImpl> BackwardRegistry = new OpRegistry<ConvBackwardImpl>("conv_transpose2d_backward")
        .Register("kernel.im2col", ComputePath.Kernels, ConvAlgorithm.Backward<KernelConvPrimitives>, "ILGPU im2col kernel + GEMMs + channel-sum kernel")
        .Register("host.im2col", ComputePath.Host, ConvAlgorithm.Backward<HostConvPrimitives>, "managed im2col + GEMMs + SIMD channel sums");

    /// <summary>Validates shapes and settings and returns every size of the call.</summary>
    /// <exception cref="ArgumentException">The shapes or settings do not describe a transposed convolution.</exception>
    public static ConvGeometry Describe(Shape x, Shape weight, ConvTranspose2dOptions? options = null) =>
        ConvChecks.ConvTranspose2d(x, weight, options ?? ConvTranspose2dOptions.Default);

    /// <summary>The output shape: Ho = (H - 1) stride - 2 padding + dilation (kH - 1) + output_padding + 1.</summary>
    public static Shape OutputShape(Shape x, Shape weight, ConvTranspose2dOptions? options = null) => Describe(x, weight, options).OutputShape;

    /// <summary>Workspace elements with at most <paramref name="maxImagesPerPass"/> images per pass (see <see cref="Conv2dOp.WorkspaceElements"/>).</summary>
    public static long WorkspaceElements(Shape x, Shape weight, ConvTranspose2dOptions? options = null, int maxImagesPerPass = int.MaxValue) =>
        Describe(x, weight, options).WorkspaceElements(maxImagesPerPass);

    /// <summary>
    /// y = conv_transpose2d(x, weight) + bias. x (N, Cin, H, W), weight (Cin, Cout / groups, kH, kW), bias (Cout) or null,
    /// y (N, Cout, Ho, Wo). Workspace: at least <see cref="ConvGeometry.ColumnElementsPerImage"/> elements, or null to rent.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes, settings, devices or workspace do not fit; nothing was launched.</exception>
    public static void Forward(Tensor x, Tensor weight, Tensor? bias, Tensor y, ConvTranspose2dOptions? options = null, Tensor? workspace = null, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(y);
        ConvCall.Forward("conv_transpose2d", ForwardRegistry, Describe(x.Shape, weight.Shape, options), x, weight, bias, y, workspace, variant);
    }

    /// <summary>
    /// Gradients of <see cref="Forward"/>: dx (x's shape), dw (weight's shape), db (Cout); null for any not wanted;
    /// overwritten, or added to when <paramref name="accumulate"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes, settings, devices or workspace do not fit; nothing was launched.</exception>
    public static void Backward(Tensor x, Tensor weight, Tensor dy, Tensor? dx, Tensor? dw, Tensor? db, ConvTranspose2dOptions? options = null,
        Tensor? workspace = null, bool accumulate = false, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(dy);
        ConvCall.Backward("conv_transpose2d", BackwardRegistry, Describe(x.Shape, weight.Shape, options), x, weight, dy, dx, dw, db, workspace, accumulate, variant);
    }
}
