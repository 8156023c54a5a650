// Layers that move no numbers through kernels of their own: Add (skip connections), Flatten, Identity.
using System;
using System.Collections.Generic;
using System.Linq;

namespace Engine.Nn;

/// <summary>Element-wise sum of two tensors of the same shape (the join of a skip connection).</summary>
public sealed class Add : Layer
{
    /// <inheritdoc />
    public override int InputCount => 2;

    /// <inheritdoc />
    public override GradientAccumulation Accumulation => GradientAccumulation.Inputs;

    /// <inheritdoc />
    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs[0] != inputs[1])
        {
            throw new ArgumentException($"both inputs must have one shape, got {inputs[0]} and {inputs[1]}.");
        }

        return [inputs[0]];
    }

    /// <inheritdoc />
    public override void Forward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        GradOps.Add(context.Input(0), context.Input(1), context.Output());
    }

    /// <inheritdoc />
    public override void Backward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var g = context.OutputGrad();
        for (int i = 0; i < 2; i++)
        {
            var d = context.InputGrad(i);
            if (d is not null)
            {
                GradOps.CopyOrAccumulate(g, d, context.AccumulateInputGrad(i));
            }
        }
    }

    /// <inheritdoc />
    public override long Flops(IReadOnlyList<Shape> inputs, IReadOnlyList<Shape> outputs) => outputs[0].Length;
}

/// <summary>
/// Flattens dimensions <c>startDim..endDim</c> into one, like <c>torch.nn.Flatten</c> (default: all but the
/// batch). A view: no memory and no work.
/// </summary>
public sealed class Flatten(int startDim = 1, int endDim = -1) : Layer
{
    /// <inheritdoc />
    public override string Describe() => startDim == 1 && endDim == -1 ? "Flatten" : $"Flatten({startDim}, {endDim})";

    /// <inheritdoc />
    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var s = inputs[0];
        int a = startDim < 0 ? s.Rank + startDim : startDim, b = endDim < 0 ? s.Rank + endDim : endDim;
        if (a < 0 || b >= s.Rank || a > b)
        {
            throw new ArgumentException($"dimensions {startDim}..{endDim} are not a range of a rank-{s.Rank} tensor.");
        }

        var d = s.ToArray();
        var outDims = d[..a].Append((int)s.Product(a, b + 1)).Concat(d[(b + 1)..]).ToArray();
        return [new Shape(outDims)];
    }

    /// <inheritdoc />
    public override GradientAccumulation Accumulation => GradientAccumulation.Inputs;

    /// <inheritdoc />
    public override void Plan(LayerPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        plan.AliasInput();
    }

    /// <inheritdoc />
    public override void Forward(NodeContext context)
    {
    }

    /// <inheritdoc />
    public override void Backward(NodeContext context)
    {
    }
}

/// <summary>Passes its input through (a placeholder, like <c>torch.nn.Identity</c>). A view: no memory and no work.</summary>
public sealed class Identity : Layer
{
    /// <inheritdoc />
    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return [inputs[0]];
    }

    /// <inheritdoc />
    public override GradientAccumulation Accumulation => GradientAccumulation.Inputs;

    /// <inheritdoc />
    public override void Plan(LayerPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        plan.AliasInput();
    }

    /// <inheritdoc />
    public override void Forward(NodeContext context)
    {
    }

    /// <inheritdoc />
    public override void Backward(NodeContext context)
    {
    }
}
