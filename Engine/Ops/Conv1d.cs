// conv1d (N, C, L), as torch.nn.functional.conv1d: a conv2d of height 1 run by conv2d's own implementations (im2col +
// GEMM, the fused host path), so the two share every kernel; only the checks and the shapes are 1-D.
using System;

namespace Engine.Ops;

/// <summary>
/// Temporal convolution y = conv1d(x, weight) + bias with stride, padding (or "same"), dilation and groups. It is
/// <see cref="Conv2dOp"/> with H = 1 (kernel 1 x K): the same registries and implementations run it, on tensors without
/// the height dimension (the memory of (N, C, L) is that of (N, C, 1, L)). Dispatch rows: conv2d's.
/// </summary>
public static class Conv1dOp
{
    /// <summary>Validates shapes and settings and returns every size of the call (output shape, workspace needs).</summary>
    /// <exception cref="ArgumentException">The shapes or settings do not describe a 1-D convolution; the message says why.</exception>
    public static ConvGeometry Describe(Shape x, Shape weight, Conv1dOptions? options = null) =>
        ConvChecks.Conv1d(x, weight, options ?? Conv1dOptions.Default);

    /// <summary>The output shape (N, Cout, Lo), Lo = floor((L + 2 padding - dilation (K - 1) - 1) / stride) + 1.</summary>
    public static Shape OutputShape(Shape x, Shape weight, Conv1dOptions? options = null) => Describe(x, weight, options).OutputShape;

    /// <summary>Workspace elements for forward and backward with at most <paramref name="maxImagesPerPass"/> sequences per im2col pass.</summary>
    public static long WorkspaceElements(Shape x, Shape weight, Conv1dOptions? options = null, int maxImagesPerPass = int.MaxValue) =>
        Describe(x, weight, options).WorkspaceElements(maxImagesPerPass);

    /// <summary>
    /// y = conv1d(x, weight) + bias. x (N, Cin, L), weight (Cout, Cin / groups, K), bias (Cout) or null, y (N, Cout, Lo).
    /// Workspace as in <see cref="Conv2dOp.Forward"/> (null rents one for this call).
    /// </summary>
    /// <exception cref="ArgumentException">Shapes, settings, devices or workspace do not fit; nothing was launched.</exception>
    public static void Forward(Tensor x, Tensor weight, Tensor? bias, Tensor y, Conv1dOptions? options = null, Tensor? workspace = null, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(y);
        ConvCall.Forward("conv1d", Conv2dOp.ForwardRegistry, Describe(x.Shape, weight.Shape, options), x, weight, bias, y, workspace, variant);
    }

    /// <summary>
    /// Gradients of <see cref="Forward"/>: dx (N, Cin, L), dw (weight's shape), db (Cout); pass null for any not wanted.
    /// They are overwritten, or added to when <paramref name="accumulate"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes, settings, devices or workspace do not fit; nothing was launched.</exception>
    public static void Backward(Tensor x, Tensor weight, Tensor dy, Tensor? dx, Tensor? dw, Tensor? db, Conv1dOptions? options = null,
        Tensor? workspace = null, bool accumulate = false, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(dy);
        ConvCall.Backward("conv1d", Conv2dOp.BackwardRegistry, Describe(x.Shape, weight.Shape, options), x, weight, dy, dx, dw, db, workspace, accumulate, variant);
    }
}
