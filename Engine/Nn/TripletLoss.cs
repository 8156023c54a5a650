// The triplet loss as a compiled model's loss: one prediction (3N, D) holding the embeddings of N anchors, then their
// positives, then their negatives, split into thirds for Losses.TripletForward / TripletBackward.
using System;
using System.Runtime.CompilerServices;
using Engine.Ops;

namespace Engine.Nn;

/// <summary>
/// <see cref="Loss.Triplet"/>: the model embeds all 3N rows with the same weights; the loss compares row i (anchor)
/// with rows N + i (positive) and 2N + i (negative). The target (3N) carries the rows' class labels and is not read.
/// The thirds are views made once per prediction or gradient tensor (a compiled plan's tensors never change), so
/// steps allocate nothing.
/// </summary>
internal sealed class TripletLoss : ILossSpec
{
    private readonly LossSpec spec;
    private readonly ConditionalWeakTable<Tensor, Tensor[]> thirds = new();

    public TripletLoss(LossSpec spec)
    {
        this.spec = spec;
    }

    public LossTask Task => LossTask.Triplet;

    public string Describe() => spec.ToString();

    public Shape TargetShape(Shape prediction)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        if (prediction.Rank != 2 || prediction[0] % 3 != 0)
        {
            throw new ArgumentException(
                $"triplet: the prediction is {prediction}; expected embeddings (3N, D): N anchors, then their N positives, then their N negatives (compile the model for 3 rows per triple).",
                nameof(prediction));
        }

        return new Shape(prediction[0]);
    }

    public Shape? Workspace(Shape prediction) => null;

    public void Forward(Tensor prediction, Tensor target, Tensor loss, Tensor? workspace)
    {
        var t = Thirds(prediction);
        Losses.TripletForward(spec, t[0], t[1], t[2], loss);
    }

    public void Backward(Tensor prediction, Tensor target, Tensor gradPrediction, Tensor? workspace)
    {
        var t = Thirds(prediction);
        var g = Thirds(gradPrediction);
        Losses.TripletBackward(spec, t[0], t[1], t[2], g[0], g[1], g[2]);
    }

    private Tensor[] Thirds(Tensor x)
    {
        if (!thirds.TryGetValue(x, out var v))
        {
            int n = x.Shape[0] / 3;
            v = [x.Slice(0, n), x.Slice(n, n), x.Slice(2 * n, n)];
            thirds.AddOrUpdate(x, v);
        }

        return v;
    }
}
