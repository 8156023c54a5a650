// The losses a compiled model can attach, over Engine.Ops.Losses: factories by name and the adapter to ILossSpec.
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
    /// <summary>Any loss spec of <see cref="Engine.Ops"/> (triplet excepted); <paramref name="classWeights"/> only for cross-entropy.</summary>
    public static ILossSpec From(LossSpec spec, float[]? classWeights = null) => new OpLoss(spec, classWeights);

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

    /// <summary>An <see cref="LossSpec"/> run by <see cref="Losses"/>.</summary>
    private sealed class OpLoss : ILossSpec
    {
        private readonly LossSpec spec;
        private readonly float[]? weights;
        private readonly ConditionalWeakTable<Device, Tensor> weightTensors = new();

        public OpLoss(LossSpec spec, float[]? weights)
        {
            ArgumentNullException.ThrowIfNull(spec);
            if (spec.IsTriplet)
            {
                throw new ArgumentException("The triplet loss takes three inputs; a compiled model's loss takes a prediction and a target.", nameof(spec));
            }

            if (weights is not null && !spec.AcceptsWeight)
            {
                throw new ArgumentException($"{spec.Op} takes no class weights.", nameof(weights));
            }

            this.spec = spec;
            this.weights = (float[]?)weights?.Clone();
        }

        public string Describe() => spec.ToString();

        public Shape TargetShape(Shape prediction)
        {
            ArgumentNullException.ThrowIfNull(prediction);
            var target = spec.TakesClassIndices && prediction.Rank == 2
                ? new Shape(prediction[0])
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
