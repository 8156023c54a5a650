// The losses a compiled model can attach, over Engine.Ops.Losses: factories by name, the adapter to ILossSpec, and the
// task each loss trains for.
using System;
using System.Runtime.CompilerServices;
using Engine.Ops;

namespace Engine.Nn;

/// <summary>
/// Losses for <see cref="Module.Compile(Device, Shape, ILossSpec?, CompileOptions?)"/>, as in PyTorch:
/// <c>Loss.CrossEntropy()</c>, <c>Loss.Mse()</c>, ... (or <see cref="From(LossSpec, float[])"/> for any
/// <see cref="LossSpec"/>). The loss applies to the model's first output and a target compiled alongside it.
/// </summary>
public static class Loss
{
    /// <summary>
    /// Any loss spec of <see cref="Engine.Ops"/>; <paramref name="classWeights"/> only for cross-entropy. A triplet spec
    /// becomes <see cref="Triplet"/>'s loss (its prediction stacks anchors, positives and negatives).
    /// </summary>
    public static ILossSpec From(LossSpec spec, float[]? classWeights = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.IsTriplet)
        {
            return classWeights is null ? new TripletLoss(spec) : throw new ArgumentException("triplet takes no class weights.", nameof(classWeights));
        }

        return new OpLoss(spec, classWeights);
    }

    /// <summary>Cross-entropy from logits (N, C) against class indices (N) or probabilities (N, C).</summary>
    public static ILossSpec CrossEntropy(CrossEntropyTarget target = CrossEntropyTarget.Indices, float labelSmoothing = 0f,
        LossReduction reduction = LossReduction.Mean, float[]? classWeights = null) =>
        From(LossSpec.CrossEntropy(target, labelSmoothing, reduction), classWeights);

    /// <summary>Mean squared error.</summary>
    public static ILossSpec Mse(LossReduction reduction = LossReduction.Mean) => From(LossSpec.Mse(reduction));

    /// <summary>Mean absolute error.</summary>
    public static ILossSpec Mae(LossReduction reduction = LossReduction.Mean) => From(LossSpec.Mae(reduction));

    /// <summary>Huber loss.</summary>
    public static ILossSpec Huber(float delta = 1f, LossReduction reduction = LossReduction.Mean) => From(LossSpec.Huber(delta, reduction));

    /// <summary>Smooth L1 loss.</summary>
    public static ILossSpec SmoothL1(float beta = 1f, LossReduction reduction = LossReduction.Mean) => From(LossSpec.SmoothL1(beta, reduction));

    /// <summary>Binary cross-entropy of probabilities.</summary>
    public static ILossSpec Bce(LossReduction reduction = LossReduction.Mean) => From(LossSpec.Bce(reduction));

    /// <summary>Binary cross-entropy of logits.</summary>
    public static ILossSpec BceWithLogits(LossReduction reduction = LossReduction.Mean) => From(LossSpec.BceWithLogits(reduction));

    /// <summary>Sigmoid focal loss of logits.</summary>
    public static ILossSpec Focal(float gamma = 2f, float alpha = 0.25f, LossReduction reduction = LossReduction.Mean) => From(LossSpec.Focal(gamma, alpha, reduction));

    /// <summary>Multi-class focal loss -alpha (1 - p_t)^gamma log p_t over softmax probabilities of logits (N, C), class indices (N).</summary>
    public static ILossSpec FocalSoftmax(float gamma = 2f, float alpha = 0.25f, LossReduction reduction = LossReduction.Mean) => From(LossSpec.FocalSoftmax(gamma, alpha, reduction));

    /// <summary>Dice loss of probabilities (N, C) against one-hot targets.</summary>
    public static ILossSpec Dice(float eps = 1e-6f) => From(LossSpec.Dice(eps));

    /// <summary>IoU loss of probabilities (N, C) against one-hot targets.</summary>
    public static ILossSpec Iou(float eps = 1e-6f) => From(LossSpec.Iou(eps));

    /// <summary>Tversky loss of probabilities (N, C) against one-hot targets.</summary>
    public static ILossSpec Tversky(float alpha = 0.5f, float beta = 0.5f, float eps = 1e-6f) => From(LossSpec.Tversky(alpha, beta, eps));

    /// <summary>
    /// Triplet margin loss of embeddings. The model's prediction (3N, D) stacks N anchors, then their positives, then
    /// their negatives (what a loader of a <see cref="Data.ITripletDataset"/> feeds); compile the model for 3N rows. The
    /// target (3N) holds the rows' class labels, which the loss ignores (the trainer's embedding metrics use them).
    /// </summary>
    public static ILossSpec Triplet(float margin = 1f, float p = 2f, LossReduction reduction = LossReduction.Mean) => From(LossSpec.Triplet(margin, p, reduction));

    /// <summary>
    /// Segmentation loss on class scores (N, C, d1, ...) against class indices (N, d1, ...): per-position cross-entropy
    /// of the scores plus <paramref name="diceWeight"/> times the Dice loss of their softmax over classes against the
    /// one-hot target (MONAI's DiceCELoss with softmax and one-hot targets).
    /// </summary>
    public static ILossSpec DiceCrossEntropy(float diceWeight = 1f, float eps = 1e-6f) => new DiceCrossEntropyLoss(diceWeight, eps);

    /// <summary>An <see cref="LossSpec"/> run by <see cref="Losses"/>.</summary>
    private sealed class OpLoss : ILossSpec
    {
        private readonly LossSpec spec;
        private readonly float[]? weights;
        private readonly ConditionalWeakTable<Device, Tensor> weightTensors = new();

        public OpLoss(LossSpec spec, float[]? weights)
        {
            ArgumentNullException.ThrowIfNull(spec);
            if (weights is not null && !spec.AcceptsWeight)
            {
                throw new ArgumentException($"{spec.Op} takes no class weights.", nameof(weights));
            }

            this.spec = spec;
            this.weights = (float[]?)weights?.Clone();
        }

        public string Describe() => spec.ToString();

        public LossTask Task => spec.Op switch
        {
            "cross_entropy" or "focal_softmax" => LossTask.Classification,
            "mse" or "mae" or "huber" or "smooth_l1" => LossTask.Regression,
            "bce" => LossTask.BinaryProbabilities,
            "bce_with_logits" or "focal" => LossTask.BinaryLogits,
            "dice" or "iou" or "tversky" => LossTask.Segmentation,
            _ => LossTask.Other,
        };

        public Shape TargetShape(Shape prediction)
        {
            ArgumentNullException.ThrowIfNull(prediction);
            // Class indices: one per row of (N, C) scores, one per position of (N, C, d1, ...) scores.
            var target = spec.TakesClassIndices && prediction.Rank >= 2
                ? new Shape([prediction[0], .. prediction.ToArray()[2..]])
                : prediction;
            Losses.Describe(spec, prediction, target, weights is null ? null : new Shape(weights.Length));
            return target;
        }

        public Shape? Workspace(Shape prediction) => null;

        public void Forward(Tensor prediction, Tensor target, Tensor loss, Tensor? workspace) =>
            Losses.Forward(spec, prediction, target, loss, Weight(prediction.Device));

        public void Backward(Tensor prediction, Tensor target, Tensor gradPrediction, Tensor? workspace) =>
            Losses.Backward(spec, prediction, target, gradPrediction, Weight(prediction.Device));

        private Tensor? Weight(Device device)
        {
            if (weights is null)
            {
                return null;
            }

            if (!weightTensors.TryGetValue(device, out var t))
            {
                t = Tensor.FromHost(device, weights, new Shape(weights.Length));
                weightTensors.Add(device, t);
            }

            return t;
        }
    }
}
