// Pooling layers: MaxPool2d (saved argmax), AvgPool2d, LPPool2d and GlobalAvgPool over the pooling ops.
using System;
using System.Collections.Generic;
using Engine.Ops;

namespace Engine.Nn;

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
        return [Ops.MaxPool2d.OutputShape(inputs[0], Options)];
    }

    /// <inheritdoc />
    public override void Plan(LayerPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        plan.Saved(plan.OutputShapes[0]);
    }

    /// <inheritdoc />
    public override void Forward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Ops.MaxPool2d.Forward(context.Input(), context.Output(), context.Saved(0), Options);
    }

    /// <inheritdoc />
    public override void Backward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.InputGrad() is { } dx)
        {
            Ops.MaxPool2d.Backward(context.OutputGrad(), context.Saved(0), dx, Options, context.AccumulateInputGrad());
        }
    }
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
        return [Ops.AvgPool2d.OutputShape(inputs[0], Options)];
    }

    /// <inheritdoc />
    public override void Forward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Ops.AvgPool2d.Forward(context.Input(), context.Output(), Options);
    }

    /// <inheritdoc />
    public override void Backward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.InputGrad() is { } dx)
        {
            Ops.AvgPool2d.Backward(context.OutputGrad(), dx, Options, context.AccumulateInputGrad());
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
        return [Ops.LpPool2d.OutputShape(inputs[0], Options)];
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
    public override void Forward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Ops.LpPool2d.Forward(context.Input(), context.Output(), NormType, Options);
    }

    /// <inheritdoc />
    public override void Backward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.InputGrad() is { } dx)
        {
            Ops.LpPool2d.Backward(context.Input(), context.OutputGrad(), dx, NormType, Options, context.AccumulateInputGrad());
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
    public override void Forward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Ops.GlobalAvgPool2d.Forward(context.Input(), context.Output());
    }

    /// <inheritdoc />
    public override void Backward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.InputGrad() is { } dx)
        {
            Ops.GlobalAvgPool2d.Backward(context.OutputGrad(), dx, context.AccumulateInputGrad());
        }
    }

    /// <inheritdoc />
    public override long Flops(IReadOnlyList<Shape> inputs, IReadOnlyList<Shape> outputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return inputs[0].Length;
    }
}
