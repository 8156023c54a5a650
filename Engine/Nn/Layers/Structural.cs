// Structural layers: Concat, and the views Flatten, Unflatten and Identity (Add is in ElementwiseBinary.cs).
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Ops;

namespace Engine.Nn;

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
        Ops.ConcatOp.Forward(((ConcatState)context.State!).Inputs, context.Output(), Axis);
    }

    /// <inheritdoc />
    public override bool HasTangent => true;

    /// <summary>Forward mode: the input tangents concatenated.</summary>
    public override void Tangent(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Ops.ConcatOp.Forward(((ConcatState)context.State!).Tangents, context.OutputTangent(), Axis);
    }

    /// <inheritdoc />
    public override void Backward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Ops.ConcatOp.Backward(context.OutputGrad(), ((ConcatState)context.State!).Grads, Axis);
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

/// <summary>
/// Splits dimension <c>dim</c> into <c>sizes</c>, like <c>torch.nn.Unflatten</c>: (N, C) with dim 1 and sizes (C, 1, 1)
/// becomes (N, C, 1, 1), ready to scale (N, C, H, W) feature maps through <see cref="Multiply"/>'s broadcasting.
/// A view: no memory and no work.
/// </summary>
public sealed class Unflatten : Layer
{
    private readonly int[] sizes;

    /// <summary>Splits dimension <paramref name="dim"/> (negative counts from the end) into <paramref name="sizes"/>.</summary>
    public Unflatten(int dim, params int[] sizes)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        if (sizes.Length == 0 || sizes.Any(s => s < 1))
        {
            throw new ArgumentException($"Unflatten needs one or more positive sizes, got [{string.Join(", ", sizes)}].", nameof(sizes));
        }

        Dim = dim;
        this.sizes = (int[])sizes.Clone();
    }

    /// <summary>The dimension split.</summary>
    public int Dim { get; }

    /// <summary>The sizes it is split into.</summary>
    public IReadOnlyList<int> Sizes => sizes;

    /// <inheritdoc />
    public override string Describe() => $"Unflatten({Dim}, [{string.Join(", ", sizes)}])";

    /// <inheritdoc />
    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var s = inputs[0];
        int d = Dim < 0 ? s.Rank + Dim : Dim;
        long product = sizes.Aggregate(1L, (a, b) => a * b);
        if (d < 0 || d >= s.Rank || s[d] != product)
        {
            throw new ArgumentException($"dimension {Dim} of {s} cannot be split into [{string.Join(", ", sizes)}] (their product must equal its size).");
        }

        var dims = s.ToArray();
        return [new Shape([.. dims[..d], .. sizes, .. dims[(d + 1)..]])];
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
