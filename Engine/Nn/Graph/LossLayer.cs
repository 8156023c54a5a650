// The contract of a loss attached to a compiled model (ILossSpec) and the graph node that runs it.
using System;
using System.Collections.Generic;

namespace Engine.Nn;

/// <summary>
/// A loss that a <see cref="CompiledModel"/> computes on its prediction and a target: the prediction's gradient is
/// where backward starts. Implementations wrap the loss ops of <c>Engine.Ops</c>.
/// </summary>
public interface ILossSpec
{
    /// <summary>A description such as <c>cross_entropy(mean)</c>.</summary>
    string Describe();

    /// <summary>The target's shape for a prediction of <paramref name="prediction"/>'s shape.</summary>
    /// <exception cref="ArgumentException">The loss does not apply to such a prediction.</exception>
    Shape TargetShape(Shape prediction);

    /// <summary>Scratch memory the loss needs for a prediction of that shape, or null.</summary>
    Shape? Workspace(Shape prediction);

    /// <summary>Writes the loss (shape [1]).</summary>
    void Forward(Tensor prediction, Tensor target, Tensor loss, Tensor? workspace);

    /// <summary>Writes the gradient of the loss with respect to the prediction.</summary>
    void Backward(Tensor prediction, Tensor target, Tensor gradPrediction, Tensor? workspace);

    /// <summary>What the loss trains a model for; the trainer picks its default metrics from it. Default <see cref="LossTask.Other"/>.</summary>
    LossTask Task => LossTask.Other;
}

/// <summary>What a loss trains a model for (and so which metrics suit it).</summary>
public enum LossTask
{
    /// <summary>Not known (a custom loss): no task metrics.</summary>
    Other = 0,

    /// <summary>Class scores against class indices or probabilities (cross-entropy); per position for (N, C, d...) scores.</summary>
    Classification = 1,

    /// <summary>Float values against float targets (mse, mae, huber, smooth_l1).</summary>
    Regression = 2,

    /// <summary>Independent yes/no outputs given as logits (bce_with_logits, focal).</summary>
    BinaryLogits = 3,

    /// <summary>Independent yes/no outputs given as probabilities (bce).</summary>
    BinaryProbabilities = 4,

    /// <summary>Class probabilities or scores per position against masks (dice, iou, tversky, dice with cross-entropy).</summary>
    Segmentation = 5,

    /// <summary>Embeddings of (anchor, positive, negative) triples stacked as 3N rows (triplet).</summary>
    Triplet = 6,
}

/// <summary>The graph node computing a loss from (prediction, target).</summary>
internal sealed class LossLayer(ILossSpec spec) : Layer
{
    private int workspace = -1;

    public ILossSpec Spec { get; } = spec;

    public override int InputCount => 2;

    public override string Describe() => Spec.Describe();

    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs)
    {
        var want = Spec.TargetShape(inputs[0]);
        if (want != inputs[1])
        {
            throw new ArgumentException($"the target must be {want} for a prediction of {inputs[0]}, not {inputs[1]}.");
        }

        return [new Shape(1)];
    }

    public override void Plan(LayerPlan plan)
    {
        plan.KeepInput(0).KeepInput(1);
        var ws = Spec.Workspace(plan.InputShapes[0]);
        // The workspace is shared by forward and backward, so it is saved from one to the other.
        workspace = ws is null ? -1 : plan.Saved(ws);
    }

    public override void Prepare(NodeContext context) => context.State = workspace;

    public override void Forward(NodeContext context)
    {
        int ws = (int)context.State!;
        Spec.Forward(context.Input(0), context.Input(1), context.Output(0), ws < 0 ? null : context.Saved(ws));
    }

    public override void Backward(NodeContext context)
    {
        var d = context.InputGrad(0);
        if (d is null)
        {
            return;
        }

        int ws = (int)context.State!;
        Spec.Backward(context.Input(0), context.Input(1), d, ws < 0 ? null : context.Saved(ws));
    }
}
