// Pooling layers that select one element per window and save its index for backward: MedianPool2d (odd windows, no
// padding) and GlobalMaxPool (one window per plane); both route the gradient to the saved element.
using System;
using System.Collections.Generic;
using Engine.Kernels.Pool;

namespace Engine.Nn;

/// <summary>
/// Median pooling (odd window sizes, no padding, floor mode): each output is the median element of its window, as
/// <c>torch.median</c> picks it (ties to the earlier position); forward saves its index and backward routes the
/// gradient to it.
/// </summary>
public sealed class MedianPool2d : Pool2dLayer
{
    /// <summary>A square window of odd size <paramref name="kernel"/> (stride defaults to the kernel).</summary>
    public MedianPool2d(int kernel, int? stride = null)
        : base("MedianPool2d", (kernel, kernel), stride is { } s ? (s, s) : null, (0, 0))
    {
        Ops.MedianPool2dOp.Describe(new Shape(1, 1, kernel, kernel), Options);
    }

    /// <summary>Any window of odd sizes.</summary>
    public MedianPool2d((int H, int W) kernel, (int H, int W)? stride)
        : base("MedianPool2d", kernel, stride, (0, 0))
    {
        Ops.MedianPool2dOp.Describe(new Shape(1, 1, kernel.H, kernel.W), Options);
    }

    /// <inheritdoc />
    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return [Ops.MedianPool2dOp.OutputShape(inputs[0], Options)];
    }

    /// <inheritdoc />
    public override void Plan(LayerPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        plan.Saved(plan.OutputShapes[0]);
    }

    /// <inheritdoc />
    public override void Prepare(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.State = PoolCall.Create(context, "median_pool2d", Options, allowPadding: false);
    }

    /// <inheritdoc />
    public override void Forward(NodeContext context) => PoolCall.ForwardIndexed(context, Ops.MedianPool2dOp.ForwardRegistry);

    /// <inheritdoc />
    public override void Backward(NodeContext context) => PoolCall.BackwardIndexed(context, Ops.MedianPool2dOp.BackwardRegistry);

    /// <inheritdoc />
    public override bool HasTangent => true;

    /// <summary>Forward mode: the input tangent at the element forward selected (<see cref="Ops.PoolTangent.Gather"/>).</summary>
    public override void Tangent(NodeContext context) => PoolCall.TangentIndexed(context);
}

/// <summary>
/// Global max pooling: (N, C, H, W) to (N, C), the maximum of each channel plane (like <see cref="GlobalAvgPool"/>'s
/// shape; follow it with <see cref="Unflatten"/> for (N, C, 1, 1)); backward routes the gradient to the first maximum.
/// </summary>
public sealed class GlobalMaxPool : Layer
{
    /// <inheritdoc />
    public override GradientAccumulation Accumulation => GradientAccumulation.Inputs;

    /// <inheritdoc />
    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var x = inputs[0];
        Ops.GlobalMaxPool2dOp.Describe(x);
        return [new Shape(x[0], x[1])];
    }

    /// <inheritdoc />
    public override void Plan(LayerPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        plan.Saved(plan.OutputShapes[0]);
    }

    /// <inheritdoc />
    public override void Prepare(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        PoolParams p = Ops.GlobalMaxPool2dOp.Describe(context.Input().Shape);
        context.State = new PoolCall(p, p with { Beta = context.InputGrads[0] is not null && context.AccumulateInputGrad() ? 1f : 0f });
    }

    /// <inheritdoc />
    public override void Forward(NodeContext context) => PoolCall.ForwardIndexed(context, Ops.GlobalMaxPool2dOp.ForwardRegistry);

    /// <inheritdoc />
    public override void Backward(NodeContext context) => PoolCall.BackwardIndexed(context, Ops.GlobalMaxPool2dOp.BackwardRegistry);

    /// <inheritdoc />
    public override bool HasTangent => true;

    /// <summary>Forward mode: the input tangent at the element forward selected (<see cref="Ops.PoolTangent.Gather"/>).</summary>
    public override void Tangent(NodeContext context) => PoolCall.TangentIndexed(context);

    /// <inheritdoc />
    public override long Flops(IReadOnlyList<Shape> inputs, IReadOnlyList<Shape> outputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return inputs[0].Length;
    }
}
