// Structural layers: Add (skip connections), Concat, and the views Flatten and Identity.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Ops;

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
        Elementwise.Add(context.Input(0), context.Input(1), context.Output());
    }

    /// <inheritdoc />
    public override bool HasTangent => true;

    /// <summary>Forward mode: the sum of the input tangents.</summary>
    public override void Tangent(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Elementwise.Add(context.InputTangent(0), context.InputTangent(1), context.OutputTangent());
    }

    /// <inheritdoc />
    public override void Backward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var g = context.OutputGrad();
        Elementwise.AddBackward(g, context.InputGrad(0), null, context.AccumulateInputGrad(0));
        Elementwise.AddBackward(g, null, context.InputGrad(1), context.AccumulateInputGrad(1));
    }

    /// <inheritdoc />
    public override long Flops(IReadOnlyList<Shape> inputs, IReadOnlyList<Shape> outputs) => outputs[0].Length;
}

/// <summary>
/// Concatenates its inputs along <c>axis</c> (<c>torch.cat</c>); in a <see cref="GraphModule"/> use
/// <see cref="GraphModule.Concat"/>. Every other dimension must agree.
/// </summary>
public sealed class Concat : Layer
{
    private readonly int count;

    /// <summary>Concatenates <paramref name="inputs"/> tensors along <paramref name="axis"/> (negative counts from the end).</summary>
    public Concat(int axis, int inputs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputs, 1);
        Axis = axis;
        count = inputs;
    }

    /// <summary>The axis.</summary>
    public int Axis { get; }

    /// <inheritdoc />
    public override int InputCount => count;

    /// <inheritdoc />
    public override string Describe() => $"Concat(axis {Axis})";

    /// <inheritdoc />
    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var first = inputs[0];
        int ax = Axis < 0 ? first.Rank + Axis : Axis;
        if (ax < 0 || ax >= first.Rank)
        {
            throw new ArgumentException($"axis {Axis} is outside a rank-{first.Rank} tensor.");
        }

        long total = 0;
        foreach (var s in inputs)
        {
            if (s.Rank != first.Rank || Enumerable.Range(0, s.Rank).Any(d => d != ax && s[d] != first[d]))
            {
                throw new ArgumentException($"every input must match {first} except in dimension {ax}.");
            }

            total += s[ax];
        }

        return [first.With(ax, checked((int)total))];
    }

    /// <inheritdoc />
    public override void Plan(LayerPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (!plan.RunsBackward)
        {
            return;
        }

        // The op writes every input's slab of the gradient: inputs that need none get scratch space.
        for (int i = 0; i < count; i++)
        {
            if (!plan.InputNeedsGrad(i))
            {
                plan.Workspace(plan.InputShapes[i], WorkspacePhase.Backward);
            }
        }
    }

    /// <inheritdoc />
    public override void Prepare(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var grads = new Tensor[count];
        int scratch = 0;
        for (int i = 0; i < count && context.OutputGrads[0] is not null; i++)
        {
            grads[i] = context.InputGrad(i) ?? context.Workspace(scratch++);
        }

        context.State = new ConcatState(context.Inputs.ToArray(), grads, context.HasTangents ? context.InputTangents.ToArray() : []);
    }

    /// <inheritdoc />
    public override void Forward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Ops.Concat.Forward(((ConcatState)context.State!).Inputs, context.Output(), Axis);
    }

    /// <inheritdoc />
    public override bool HasTangent => true;

    /// <summary>Forward mode: the input tangents concatenated.</summary>
    public override void Tangent(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Ops.Concat.Forward(((ConcatState)context.State!).Tangents, context.OutputTangent(), Axis);
    }

    /// <inheritdoc />
    public override void Backward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Ops.Concat.Backward(context.OutputGrad(), ((ConcatState)context.State!).Grads, Axis);
    }

    /// <inheritdoc />
    public override long Flops(IReadOnlyList<Shape> inputs, IReadOnlyList<Shape> outputs) => 0;

    private sealed record ConcatState(Tensor[] Inputs, Tensor[] Grads, Tensor[] Tangents);
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

    /// <inheritdoc />
    public override bool HasTangent => true;

    /// <summary>Forward mode: nothing to do; the output tangent is a view of the input tangent, as the output is of the input.</summary>
    public override void Tangent(NodeContext context)
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

    /// <inheritdoc />
    public override bool HasTangent => true;

    /// <summary>Forward mode: nothing to do; the output tangent is a view of the input tangent, as the output is of the input.</summary>
    public override void Tangent(NodeContext context)
    {
    }
}
