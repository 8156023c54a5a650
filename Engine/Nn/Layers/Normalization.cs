// Normalization and regularization layers: BatchNorm (running statistics as buffers), LayerNorm, Dropout.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Engine.Ops;

namespace Engine.Nn;

/// <summary>
/// Batch normalization over dimension 1 of (N, C, ...) (<c>torch.nn.BatchNorm1d/2d</c>): weight (gamma) and bias
/// (beta) of C, buffers <c>running_mean</c> (zeros) and <c>running_var</c> (ones). Training mode normalizes with
/// the batch statistics and updates the running ones with <c>momentum</c>; evaluation mode uses the running ones. In
/// data-parallel training the batch statistics are those of all ranks' batches together (synchronized batch norm).
/// A ReLU that is the only reader of the output is folded in by the compiler (<see cref="CompileOptions.FoldActivations"/>).
/// </summary>
public class BatchNorm : Layer
{
    /// <summary>Creates the layer.</summary>
    public BatchNorm(int numFeatures, float eps = 1e-5f, float momentum = 0.1f, bool affine = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numFeatures);
        NumFeatures = numFeatures;
        Eps = eps > 0 && float.IsFinite(eps) ? eps : throw new ArgumentOutOfRangeException(nameof(eps), eps, "BatchNorm: eps must be positive.");
        Momentum = momentum;
        Affine = affine;
        if (affine)
        {
            AddParameter("weight", new Shape(numFeatures), ParameterRole.NormScale, ParamInit.Constant(1));
            AddParameter("bias", new Shape(numFeatures), ParameterRole.NormShift, ParamInit.Constant(0));
        }

        AddBuffer("running_mean", new Shape(numFeatures), 0f);
        AddBuffer("running_var", new Shape(numFeatures), 1f);
    }

    /// <summary>Channels C.</summary>
    public int NumFeatures { get; }

    /// <summary>Added to the variance.</summary>
    public float Eps { get; }

    /// <summary>Weight of the batch statistics in the running ones.</summary>
    public float Momentum { get; }

    /// <summary>Whether the layer has gamma and beta.</summary>
    public bool Affine { get; }

    /// <summary>Rank the input must have, or 0 for any rank of at least 2.</summary>
    protected virtual int RequiredRank => 0;

    /// <inheritdoc />
    public override GradientAccumulation Accumulation => GradientAccumulation.Parameters;

    /// <inheritdoc />
    public override string Describe() => string.Create(CultureInfo.InvariantCulture, $"{GetType().Name}({NumFeatures}{(Eps != 1e-5f ? $", eps {Eps}" : string.Empty)}{(Momentum != 0.1f ? $", momentum {Momentum}" : string.Empty)})");

    /// <inheritdoc />
    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var x = inputs[0];
        if (x.Rank < 2 || (RequiredRank != 0 && x.Rank != RequiredRank) || x[1] != NumFeatures)
        {
            throw new ArgumentException(RequiredRank == 0
                ? $"expected (N, {NumFeatures}, ...): num_features is {NumFeatures}."
                : $"expected a {RequiredRank}-D input with {NumFeatures} channels in dimension 1.");
        }

        return [x];
    }

    /// <inheritdoc />
    public override void Plan(LayerPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        plan.Saved(new Shape(NumFeatures));
        plan.Saved(new Shape(NumFeatures));
        if (plan.RunsBackward)
        {
            plan.KeepInput();
            if (plan.FoldsRelu)
            {
                // The folded ReLU's output: the kernel path takes dy through relu' with it (the host path recomputes it from x).
                plan.KeepOutput();
            }
        }

        if (plan.Tangents && plan.ParamTangents && Affine)
        {
            plan.TangentWorkspace(plan.InputShapes[0]);
            plan.TangentWorkspace(new Shape(NumFeatures));
            plan.TangentWorkspace(new Shape(NumFeatures));
        }
    }

    /// <inheritdoc />
    public override bool HasTangent => true;

    /// <summary>
    /// Forward mode: the normalization's Jacobian is symmetric (diagonal in evaluation mode), so gamma J dx is the
    /// backward with dx in dy's place; with parameter tangents add xhat dgamma + dbeta, the forward with (dgamma, dbeta)
    /// as the affine map and the same statistics.
    /// </summary>
    public override void Tangent(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var gamma = Affine ? context.Param(0) : null;
        Ops.BatchNormOp.Backward(context.Input(), context.InputTangent(), gamma, context.Saved(0), context.Saved(1), context.OutputTangent(), null, null, context.Training);
        if (Affine && context.ParamTangent(0) is { } dg)
        {
            var t = context.TangentWorkspace(0);
            Ops.BatchNormOp.Forward(context.Input(), t, dg, context.ParamTangent(1), context.Training ? null : context.Buffer(0), context.Training ? null : context.Buffer(1),
                context.TangentWorkspace(1), context.TangentWorkspace(2), context.Training, Momentum, Eps);
            Elementwise.Accumulate(context.OutputTangent(), t);
        }
    }

    /// <inheritdoc />
    public override void Forward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Training && context.StatisticsGroup is { Size: > 1 } group)
        {
            BatchNormSync.Forward(this, context, group);
            return;
        }

        Ops.BatchNormOp.Forward(context.Input(), context.Output(), Affine ? context.Param(0) : null, Affine ? context.Param(1) : null,
            context.Buffer(0), context.Buffer(1), context.Saved(0), context.Saved(1), context.Training, Momentum, Eps, relu: context.FoldsRelu);
    }

    /// <inheritdoc />
    public override void Backward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Training && context.StatisticsGroup is { Size: > 1 } group)
        {
            BatchNormSync.Backward(this, context, group);
            return;
        }

        var dg = Affine ? context.ParamGrad(0) : null;
        var db = Affine ? context.ParamGrad(1) : null;
        Ops.BatchNormOp.Backward(context.Input(), context.OutputGrad(), Affine ? context.Param(0) : null, context.Saved(0), context.Saved(1),
            context.InputGrad(), dg, db, context.Training, dg is not null ? context.AccumulateParamGrad(0) : db is not null && context.AccumulateParamGrad(1),
            beta: Affine ? context.Param(1) : null, reluOutput: context.FoldsRelu ? context.Output() : null);
    }

    /// <inheritdoc />
    public override long Flops(IReadOnlyList<Shape> inputs, IReadOnlyList<Shape> outputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return 4 * inputs[0].Length;
    }
}

/// <summary>Batch normalization of (N, C) or (N, C, L) (<c>torch.nn.BatchNorm1d</c>).</summary>
public sealed class BatchNorm1d(int numFeatures, float eps = 1e-5f, float momentum = 0.1f, bool affine = true) : BatchNorm(numFeatures, eps, momentum, affine)
{
    /// <inheritdoc />
    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs[0].Rank is not (2 or 3))
        {
            throw new ArgumentException($"expected (N, {NumFeatures}) or (N, {NumFeatures}, L).");
        }

        return base.InferShapes(inputs);
    }
}

/// <summary>Batch normalization of (N, C, H, W) (<c>torch.nn.BatchNorm2d</c>).</summary>
public sealed class BatchNorm2d(int numFeatures, float eps = 1e-5f, float momentum = 0.1f, bool affine = true) : BatchNorm(numFeatures, eps, momentum, affine)
{
    /// <inheritdoc />
    protected override int RequiredRank => 4;
}

/// <summary>
/// Layer normalization over the trailing dimensions <c>normalizedShape</c> (<c>torch.nn.LayerNorm</c>): weight and
/// bias of that shape.
/// </summary>
public sealed class LayerNorm : Layer
{
    /// <summary>Creates the layer.</summary>
    public LayerNorm(Shape normalizedShape, float eps = 1e-5f, bool elementwiseAffine = true)
    {
        NormalizedShape = normalizedShape ?? throw new ArgumentNullException(nameof(normalizedShape));
        Eps = eps > 0 && float.IsFinite(eps) ? eps : throw new ArgumentOutOfRangeException(nameof(eps), eps, "LayerNorm: eps must be positive.");
        Affine = elementwiseAffine;
        if (elementwiseAffine)
        {
            AddParameter("weight", normalizedShape, ParameterRole.NormScale, ParamInit.Constant(1));
            AddParameter("bias", normalizedShape, ParameterRole.NormShift, ParamInit.Constant(0));
        }
    }

    /// <summary>The normalized trailing shape.</summary>
    public Shape NormalizedShape { get; }

    /// <summary>Added to the variance.</summary>
    public float Eps { get; }

    /// <summary>Whether the layer has weight and bias.</summary>
    public bool Affine { get; }

    /// <inheritdoc />
    public override GradientAccumulation Accumulation => GradientAccumulation.Parameters;

    /// <inheritdoc />
    public override string Describe() => $"LayerNorm({NormalizedShape})";

    /// <inheritdoc />
    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var x = inputs[0];
        int r = NormalizedShape.Rank;
        if (x.Rank <= r || !x.Skip(x.Rank - r).SequenceEqual(NormalizedShape))
        {
            throw new ArgumentException($"the trailing dimensions must be normalized_shape {NormalizedShape}.");
        }

        return [x];
    }

    /// <inheritdoc />
    public override void Plan(LayerPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        int rows = checked((int)(plan.InputShapes[0].Length / NormalizedShape.Length));
        plan.Saved(new Shape(rows));
        plan.Saved(new Shape(rows));
        if (plan.RunsBackward)
        {
            plan.KeepInput();
        }
    }

    /// <inheritdoc />
    public override bool HasTangent => true;

    /// <summary>Forward mode: the layer-norm tangent op (<see cref="Ops.LayerNormOp.Tangent"/>) from the statistics forward saved.</summary>
    public override void Tangent(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Ops.LayerNormOp.Tangent(context.Input(), context.InputTangent(), context.OutputTangent(), Affine ? context.Param(0) : null,
            Affine ? context.ParamTangent(0) : null, Affine ? context.ParamTangent(1) : null, context.Saved(0), context.Saved(1), NormalizedShape);
    }

    /// <inheritdoc />
    public override void Forward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Ops.LayerNormOp.Forward(context.Input(), context.Output(), Affine ? context.Param(0) : null, Affine ? context.Param(1) : null,
            context.Saved(0), context.Saved(1), NormalizedShape, Eps);
    }

    /// <inheritdoc />
    public override void Backward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var dg = Affine ? context.ParamGrad(0) : null;
        var db = Affine ? context.ParamGrad(1) : null;
        Ops.LayerNormOp.Backward(context.Input(), context.OutputGrad(), Affine ? context.Param(0) : null, context.Saved(0), context.Saved(1),
            context.InputGrad(), dg, db, NormalizedShape, dg is not null ? context.AccumulateParamGrad(0) : db is not null && context.AccumulateParamGrad(1));
    }

    /// <inheritdoc />
    public override long Flops(IReadOnlyList<Shape> inputs, IReadOnlyList<Shape> outputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return 5 * inputs[0].Length;
    }
}

/// <summary>
/// Inverted dropout (<c>torch.nn.Dropout</c>): in training mode each element is zeroed with probability p and the
/// rest scaled by 1 / (1 - p); in evaluation mode it is the identity (in an inference plan, a view). The mask is a
/// function of the compiled model's seed, the forward step and the node, so backward recomputes it and nothing is stored.
/// </summary>
public sealed class Dropout : Layer
{
    /// <summary>Creates the layer.</summary>
    public Dropout(float p = 0.5f) =>
        P = p >= 0f && p <= 1f ? p : throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout: p must be in [0, 1].");

    /// <summary>The drop probability.</summary>
    public float P { get; }

    /// <inheritdoc />
    public override string Describe() => string.Create(CultureInfo.InvariantCulture, $"Dropout({P})");

    /// <inheritdoc />
    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return [inputs[0]];
    }

    /// <inheritdoc />
    public override void Plan(LayerPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (!plan.Training)
        {
            plan.AliasInput();
        }
    }

    /// <inheritdoc />
    public override void Prepare(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.State = (ulong)context.NodeIndex;
    }

    /// <inheritdoc />
    public override void Forward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Ops.DropoutOp.Forward(context.Input(), context.Output(), P, context.Seed, Offset(context), context.Training);
    }

    /// <inheritdoc />
    public override bool HasTangent => true;

    /// <summary>Forward mode: the same mask and scale on the tangent (the Jacobian is diagonal); a view in inference plans.</summary>
    public override void Tangent(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Ops.DropoutOp.Backward(context.InputTangent(), context.OutputTangent(), P, context.Seed, Offset(context), context.Training);
    }

    /// <inheritdoc />
    public override void Backward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.InputGrad() is { } dx)
        {
            Ops.DropoutOp.Backward(context.OutputGrad(), dx, P, context.Seed, Offset(context), context.Training);
        }
    }

    /// <inheritdoc />
    public override long Flops(IReadOnlyList<Shape> inputs, IReadOnlyList<Shape> outputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return inputs[0].Length;
    }

    // A fresh Philox counter block per (step, node): 2^20 nodes per step.
    private static ulong Offset(NodeContext c) => ((ulong)c.Step << 20) + (ulong)c.State!;
}
