// Pooling layers: MaxPool2d (saved argmax), AvgPool2d, LPPool2d and GlobalAvgPool over the pooling ops' implementations.
using System;
using System.Collections.Generic;
using Engine.Kernels.Pool;
using Engine.Ops;

namespace Engine.Nn;

/// <summary>
/// A pooling node's validated window parameters for forward and backward (with its accumulate flag): shapes were
/// checked once when the node was bound, so each call goes straight to the implementation and allocates nothing.
/// </summary>
internal sealed record PoolCall(PoolParams Forward, PoolParams Backward)
{
    public static PoolCall Create(NodeContext c, string op, Pool2dOptions options, bool allowPadding = true, float normType = 0f)
    {
        var p = PoolChecks.Describe(op, c.Input().Shape, options, allowPadding);
        if (normType > 0f)
        {
            p.NormType = normType;
        }

        var b = p;
        b.Beta = c.InputGrads[0] is not null && c.AccumulateInputGrad() ? 1f : 0f;
        return new PoolCall(p, b);
    }

    /// <summary>The forward of a pooling that saves one index per output (max, median, global max) in saved tensor 0.</summary>
    public static void ForwardIndexed(NodeContext c, Dispatch.OpRegistry<MaxPoolForwardImpl> registry)
    {
        ArgumentNullException.ThrowIfNull(c);
        var s = (PoolCall)c.State!;
        registry.Resolve(c.Device)(c.Device, s.Forward, c.Input().View, c.Output().View, c.Saved(0).View);
    }

    /// <summary>Its backward: the output gradient to the saved indices, when the input needs a gradient.</summary>
    public static void BackwardIndexed(NodeContext c, Dispatch.OpRegistry<MaxPoolBackwardImpl> registry)
    {
        ArgumentNullException.ThrowIfNull(c);
        if (c.InputGrad() is { } dx)
        {
            var s = (PoolCall)c.State!;
            registry.Resolve(c.Device)(c.Device, s.Backward, c.OutputGrad().View, c.Saved(0).View, dx.View);
        }
    }

    /// <summary>
    /// The tangent (forward mode) of a pooling that saves one index per output: the input tangent at the saved index
    /// (<see cref="Ops.PoolTangent.Gather"/>, the selection is locally constant).
    /// </summary>
    public static void TangentIndexed(NodeContext c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var s = (PoolCall)c.State!;
        Ops.PoolTangent.GatherRegistry.Resolve(c.Device)(c.Device, s.Forward, c.InputTangent().View, c.Saved(0).View, c.OutputTangent().View);
    }
}

/// <summary>Shared shape of the 2-D pooling layers.</summary>
public abstract class Pool2dLayer : Layer
{
    /// <summary>Creates the layer; stride defaults to the kernel (PyTorch's default).</summary>
    private protected Pool2dLayer(string name, (int H, int W) kernel, (int H, int W)? stride, (int H, int W) padding)
    {
        if (kernel.H <= 0 || kernel.W <= 0 || stride is { } s && (s.H <= 0 || s.W <= 0))
        {
            throw new ArgumentException($"{name}: kernel {kernel} and stride {stride} must be positive.", nameof(kernel));
        }

        Name = name;
        Options = new Pool2dOptions(kernel) { Stride = stride, Padding = padding };
    }

    /// <summary>Window, stride and padding.</summary>
    public Pool2dOptions Options { get; }

    /// <summary>The layer's type name.</summary>
    private protected string Name { get; }

    /// <inheritdoc />
    public override GradientAccumulation Accumulation => GradientAccumulation.Inputs;

    /// <inheritdoc />
    public override string Describe()
    {
        var s = Options.Stride ?? Options.Kernel;
        return $"{Name}({Options.Kernel.H}x{Options.Kernel.W}{(s != Options.Kernel ? $", stride {s.H}x{s.W}" : string.Empty)}{(Options.Padding != (0, 0) ? $", padding {Options.Padding.H}x{Options.Padding.W}" : string.Empty)})";
    }

    /// <inheritdoc />
    public override long Flops(IReadOnlyList<Shape> inputs, IReadOnlyList<Shape> outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        return outputs[0].Length * Options.Kernel.H * Options.Kernel.W;
    }
}

/// <summary>Max pooling (<c>torch.nn.MaxPool2d</c>, floor mode); forward saves the argmax that backward routes the gradient to.</summary>
public sealed class MaxPool2d : Pool2dLayer
{
    /// <summary>A square window (stride defaults to the kernel).</summary>
    public MaxPool2d(int kernel, int? stride = null, int padding = 0)
        : base("MaxPool2d", (kernel, kernel), stride is { } s ? (s, s) : null, (padding, padding))
    {
    }

    /// <summary>Any window.</summary>
    public MaxPool2d((int H, int W) kernel, (int H, int W)? stride, (int H, int W) padding)
        : base("MaxPool2d", kernel, stride, padding)
    {
    }

    /// <inheritdoc />
    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return [Ops.MaxPool2dOp.OutputShape(inputs[0], Options)];
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
        context.State = PoolCall.Create(context, "max_pool2d", Options);
    }

    /// <inheritdoc />
    public override void Forward(NodeContext context) => PoolCall.ForwardIndexed(context, Ops.MaxPool2dOp.ForwardRegistry);

    /// <inheritdoc />
    public override bool HasTangent => true;

    /// <summary>Forward mode: the input tangent at the saved argmax (<see cref="Ops.PoolTangent.Gather"/>).</summary>
    public override void Tangent(NodeContext context) => PoolCall.TangentIndexed(context);

    /// <inheritdoc />
    public override void Backward(NodeContext context) => PoolCall.BackwardIndexed(context, Ops.MaxPool2dOp.BackwardRegistry);
}

/// <summary>Average pooling (<c>torch.nn.AvgPool2d</c>, count_include_pad, floor mode).</summary>
public sealed class AvgPool2d : Pool2dLayer
{
    /// <summary>A square window (stride defaults to the kernel).</summary>
    public AvgPool2d(int kernel, int? stride = null, int padding = 0)
        : base("AvgPool2d", (kernel, kernel), stride is { } s ? (s, s) : null, (padding, padding))
    {
    }

    /// <summary>Any window.</summary>
    public AvgPool2d((int H, int W) kernel, (int H, int W)? stride, (int H, int W) padding)
        : base("AvgPool2d", kernel, stride, padding)
    {
    }

    /// <inheritdoc />
    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return [Ops.AvgPool2dOp.OutputShape(inputs[0], Options)];
    }

    /// <inheritdoc />
    public override void Prepare(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.State = PoolCall.Create(context, "avg_pool2d", Options);
    }

    /// <inheritdoc />
    public override void Forward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var s = (PoolCall)context.State!;
        Ops.AvgPool2dOp.ForwardRegistry.Resolve(context.Device)(context.Device, s.Forward, context.Input().View, context.Output().View);
    }

    /// <inheritdoc />
    public override bool HasTangent => true;

    /// <summary>Forward mode: average pooling is linear, so the tangent is the pooled input tangent.</summary>
    public override void Tangent(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var s = (PoolCall)context.State!;
        Ops.AvgPool2dOp.ForwardRegistry.Resolve(context.Device)(context.Device, s.Forward, context.InputTangent().View, context.OutputTangent().View);
    }

    /// <inheritdoc />
    public override void Backward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.InputGrad() is { } dx)
        {
            var s = (PoolCall)context.State!;
            Ops.AvgPool2dOp.BackwardRegistry.Resolve(context.Device)(context.Device, s.Backward, context.OutputGrad().View, dx.View);
        }
    }
}

/// <summary>Power-average pooling (<c>torch.nn.LPPool2d</c>): (sum over the window of x^p)^(1/p).</summary>
public sealed class LPPool2d : Pool2dLayer
{
    /// <summary>A square window (stride defaults to the kernel).</summary>
    public LPPool2d(double normType, int kernel, int? stride = null)
        : this(normType, (kernel, kernel), stride is { } s ? (s, s) : null)
    {
    }

    /// <summary>Any window.</summary>
    public LPPool2d(double normType, (int H, int W) kernel, (int H, int W)? stride)
        : base("LPPool2d", kernel, stride, (0, 0))
    {
        NormType = normType > 0 && double.IsFinite(normType) ? normType : throw new ArgumentOutOfRangeException(nameof(normType), normType, "LPPool2d: norm_type must be positive and finite.");
    }

    /// <summary>The power p.</summary>
    public double NormType { get; }

    /// <inheritdoc />
    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return [Ops.LPPool2dOp.OutputShape(inputs[0], Options)];
    }

    /// <inheritdoc />
    public override void Plan(LayerPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.RunsBackward)
        {
            plan.KeepInput();
        }
    }

    /// <inheritdoc />
    public override void Prepare(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.State = PoolCall.Create(context, "lp_pool2d", Options, allowPadding: false, (float)NormType);
    }

    /// <inheritdoc />
    public override void Forward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var s = (PoolCall)context.State!;
        Ops.LPPool2dOp.ForwardRegistry.Resolve(context.Device)(context.Device, s.Forward, context.Input().View, context.Output().View);
    }

    /// <inheritdoc />
    public override bool HasTangent => true;

    /// <summary>Forward mode: s^(1/p - 1) times the window sum of x^(p-1) dx (<see cref="Ops.PoolTangent.Lp"/>).</summary>
    public override void Tangent(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var s = (PoolCall)context.State!;
        Ops.PoolTangent.LpRegistry.Resolve(context.Device)(context.Device, s.Forward, context.Input().View, context.InputTangent().View, context.OutputTangent().View);
    }

    /// <inheritdoc />
    public override void Backward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.InputGrad() is { } dx)
        {
            var s = (PoolCall)context.State!;
            Ops.LPPool2dOp.BackwardRegistry.Resolve(context.Device)(context.Device, s.Backward, context.Input().View, context.OutputGrad().View, dx.View);
        }
    }
}

/// <summary>Global average pooling: (N, C, H, W) to (N, C), the mean of each channel plane.</summary>
public sealed class GlobalAvgPool : Layer
{
    /// <inheritdoc />
    public override GradientAccumulation Accumulation => GradientAccumulation.Inputs;

    /// <inheritdoc />
    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var x = inputs[0];
        if (x.Rank != 4)
        {
            throw new ArgumentException("expected (N, C, H, W).");
        }

        return [new Shape(x[0], x[1])];
    }

    /// <inheritdoc />
    public override void Prepare(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var x = context.Input().Shape;
        var p = new PoolParams { Planes = x[0] * x[1], Height = x[2], Width = x[3], KernelH = x[2], KernelW = x[3], StrideH = 1, StrideW = 1, OutH = 1, OutW = 1 };
        context.State = new PoolCall(p, p with { Beta = context.AccumulateInputGrad() ? 1f : 0f });
    }

    /// <inheritdoc />
    public override void Forward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var s = (PoolCall)context.State!;
        Ops.GlobalAvgPool2dOp.ForwardRegistry.Resolve(context.Device)(context.Device, s.Forward, context.Input().View, context.Output().View);
    }

    /// <inheritdoc />
    public override bool HasTangent => true;

    /// <summary>Forward mode: a mean is linear, so the tangent is the mean of the input tangent.</summary>
    public override void Tangent(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var s = (PoolCall)context.State!;
        Ops.GlobalAvgPool2dOp.ForwardRegistry.Resolve(context.Device)(context.Device, s.Forward, context.InputTangent().View, context.OutputTangent().View);
    }

    /// <inheritdoc />
    public override void Backward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.InputGrad() is { } dx)
        {
            var s = (PoolCall)context.State!;
            Ops.GlobalAvgPool2dOp.BackwardRegistry.Resolve(context.Device)(context.Device, s.Backward, context.OutputGrad().View, dx.View);
        }
    }

    /// <inheritdoc />
    public override long Flops(IReadOnlyList<Shape> inputs, IReadOnlyList<Shape> outputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return inputs[0].Length;
    }
}
