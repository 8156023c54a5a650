// Dice plus per-position cross-entropy for segmentation, composed from the ops: scores (N, C, d...) against class
// indices (N, d...); the softmax and one-hot live in the loss's workspace from forward to backward.
using System;
using System.Globalization;
using System.Runtime.CompilerServices;
using Engine.Ops;

namespace Engine.Nn;

/// <summary>
/// <see cref="Loss.DiceCrossEntropy"/>: L = cross_entropy(x, y) + w dice(softmax(x, axis 1), one_hot(y)).
/// Backward: dx = dCE/dx + w softmax_backward(s, dDice/ds). Workspace: s, one_hot(y), dDice/ds, its softmax backward
/// (each of x's shape) and the two partial losses.
/// </summary>
internal sealed class DiceCrossEntropyLoss : ILossSpec
{
    private readonly LossSpec crossEntropy = LossSpec.CrossEntropy();
    private readonly LossSpec dice;
    private readonly float diceWeight;
    private readonly ConditionalWeakTable<Tensor, Views> views = new();

    public DiceCrossEntropyLoss(float diceWeight, float eps)
    {
        if (!float.IsFinite(diceWeight) || diceWeight < 0f)
        {
            throw new ArgumentException($"diceWeight must be finite and >= 0, got {diceWeight}.", nameof(diceWeight));
        }

        this.diceWeight = diceWeight;
        dice = LossSpec.Dice(eps);
    }

    public LossTask Task => LossTask.Segmentation;

    public string Describe() => string.Create(CultureInfo.InvariantCulture, $"cross_entropy + {diceWeight} dice(eps={dice.Eps}) of softmax");

    public Shape TargetShape(Shape prediction)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        if (prediction.Rank < 2 || prediction[1] < 2)
        {
            throw new ArgumentException($"dice + cross_entropy: the prediction is {prediction}; expected class scores (N, C, d1, ...) with at least 2 classes.", nameof(prediction));
        }

        return new Shape([prediction[0], .. prediction.ToArray()[2..]]);
    }

    public Shape? Workspace(Shape prediction) => new(checked((int)((4 * prediction.Length) + 2)));

    public void Forward(Tensor prediction, Tensor target, Tensor loss, Tensor? workspace)
    {
        var v = ViewsOf(workspace!, prediction.Shape);
        Ops.SoftmaxOp.Forward(prediction, v.Probabilities, axis: 1);
        ChannelLayout.OneHot(target, v.OneHot);
        Losses.Forward(crossEntropy, prediction, target, loss);
        Losses.Forward(dice, v.Probabilities, v.OneHot, v.DiceLoss);
        Elementwise.Accumulate(loss, v.DiceLoss, diceWeight);
    }

    public void Backward(Tensor prediction, Tensor target, Tensor gradPrediction, Tensor? workspace)
    {
        // Softmax and one-hot are still in the workspace from the forward pass.
        var v = ViewsOf(workspace!, prediction.Shape);
        Losses.Backward(crossEntropy, prediction, target, gradPrediction);
        Losses.Backward(dice, v.Probabilities, v.OneHot, v.DiceGrad);
        Ops.SoftmaxOp.Backward(v.Probabilities, v.DiceGrad, v.ScoreGrad, axis: 1);
        Elementwise.Accumulate(gradPrediction, v.ScoreGrad, diceWeight);
    }

    private Views ViewsOf(Tensor workspace, Shape shape)
    {
        if (!views.TryGetValue(workspace, out var v))
        {
            int n = checked((int)shape.Length);
            Tensor At(int k) => workspace.Slice(k * n, n).Reshape(shape);
            v = new Views(At(0), At(1), At(2), At(3), workspace.Slice(4 * n, 1));
            views.AddOrUpdate(workspace, v);
        }

        return v;
    }

    private sealed record Views(Tensor Probabilities, Tensor OneHot, Tensor DiceGrad, Tensor ScoreGrad, Tensor DiceLoss);
}
