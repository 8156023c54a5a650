// The settings of a Trainer: epochs, gradient-descent mode and batch size, data order, schedule stepping,
// clipping, early stopping, checkpoints, the non-finite debug mode and data parallelism.
using System;
using System.Collections.Generic;
using Engine.Data;

namespace Engine.Training;

/// <summary>How many samples each gradient step sees (the course notes' three flavours of gradient descent).</summary>
public enum GradientDescentMode
{
    /// <summary>Mini-batch gradient descent: <see cref="TrainingOptions.BatchSize"/> samples per step (the last batch may be smaller).</summary>
    MiniBatch = 0,

    /// <summary>Batch (full-batch) gradient descent: the whole training set in every step, one step per epoch.</summary>
    Batch = 1,

    /// <summary>Online (stochastic) gradient descent: one sample per step, one step per sample.</summary>
    Online = 2,
}

/// <summary>When a learning-rate schedule steps.</summary>
public enum ScheduleStepping
{
    /// <summary>After each epoch (PyTorch's usual <c>scheduler.step()</c> per epoch). ReduceLROnPlateau always steps per epoch.</summary>
    PerEpoch = 0,

    /// <summary>After each optimizer step (warm-up and cosine schedules counted in steps).</summary>
    PerStep = 1,
}

/// <summary>An epoch metric that early stopping and ReduceLROnPlateau can watch.</summary>
public enum TrainingMetric
{
    /// <summary>Mean loss on the validation data (lower is better).</summary>
    ValidationLoss = 0,

    /// <summary>Accuracy on the validation data (higher is better).</summary>
    ValidationAccuracy = 1,

    /// <summary>Mean training loss of the epoch (lower is better).</summary>
    TrainLoss = 2,

    /// <summary>Training accuracy of the epoch (higher is better).</summary>
    TrainAccuracy = 3,
}

/// <summary>Early stopping: stop when the monitored metric has not improved for <see cref="Patience"/> epochs.</summary>
public sealed record EarlyStoppingOptions
{
    /// <summary>The metric watched. Default validation loss (Fit then needs validation data).</summary>
    public TrainingMetric Monitor { get; init; } = TrainingMetric.ValidationLoss;

    /// <summary>Epochs without improvement after which training stops (at least 1). Default 5.</summary>
    public int Patience { get; init; } = 5;

    /// <summary>
    /// The smallest change that counts as an improvement (Keras' min_delta): a loss must fall below best - MinDelta, an
    /// accuracy rise above best + MinDelta. Default 0 (any strict improvement).
    /// </summary>
    public double MinDelta { get; init; }

    /// <summary>
    /// Whether the weights (parameters and buffers such as running statistics) of the best epoch are put back when
    /// training ends, stopped early or not (cancellation excepted). Default true.
    /// </summary>
    public bool RestoreBestWeights { get; init; } = true;
}

/// <summary>
/// Stop at a loss threshold (the course notes' stopping rule, "repeat until the error is small enough"): training ends
/// after the first epoch whose monitored loss is at or below <see cref="Threshold"/>.
/// </summary>
public sealed record LossThresholdOptions
{
    /// <summary>The loss at or below which training stops.</summary>
    public required double Threshold { get; init; }

    /// <summary>The loss watched: the epoch's mean training loss (default) or the validation loss.</summary>
    public TrainingMetric Monitor { get; init; } = TrainingMetric.TrainLoss;
}

/// <summary>Where and when the trainer writes training checkpoints.</summary>
public sealed record CheckpointOptions
{
    /// <summary>The folder (created if missing). Each checkpoint is <c>ckpt-eEEEE-sSSSSSSSSS.safetensors</c> plus its siblings; <c>latest</c> names the newest.</summary>
    public required string Directory { get; init; }

    /// <summary>Save after every this many epochs (0: not per epoch). Default 1.</summary>
    public int EveryEpochs { get; init; } = 1;

    /// <summary>Save after every this many optimizer steps (0: not per step). Default 0.</summary>
    public long EverySteps { get; init; }

    /// <summary>Save when Fit returns: finished, stopped early, or cancelled (never after a diverged step). Default true.</summary>
    public bool AtEnd { get; init; } = true;

    /// <summary>How many of the newest checkpoints to keep (older ones are deleted after a save succeeds); 0 keeps all. Default 3.</summary>
    public int Keep { get; init; } = 3;
}

/// <summary>Settings of a <see cref="Trainer"/>.</summary>
public sealed record TrainingOptions
{
    /// <summary>Total epochs; Fit trains until this many have completed (a resumed trainer continues to the same total). Default 1.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Batch, mini-batch or online gradient descent (with datasets; a loader brings its own batch size). Default mini-batch.</summary>
    public GradientDescentMode Mode { get; init; } = GradientDescentMode.MiniBatch;

    /// <summary>Samples per step in <see cref="GradientDescentMode.MiniBatch"/> mode. Default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Whether each epoch visits the training samples in a new order fixed by (<see cref="Seed"/>, epoch). Default true.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Whether to drop a last, smaller training batch. Default false.</summary>
    public bool DropLast { get; init; }

    /// <summary>Seed of the data order and of the transforms' random streams. Default 0.</summary>
    public long Seed { get; init; }

    /// <summary>Sample transforms (augmentation, normalization) applied to training samples.</summary>
    public IReadOnlyList<ISampleTransform> Transforms { get; init; } = [];

    /// <summary>Transforms applied to validation samples (normalization only, usually).</summary>
    public IReadOnlyList<ISampleTransform> ValidationTransforms { get; init; } = [];

    /// <summary>Batch size of evaluation; null: the training batch size, at least 64, at most the data size.</summary>
    public int? ValidationBatchSize { get; init; }

    /// <summary>When the schedule passed to the trainer steps. Default per epoch.</summary>
    public ScheduleStepping ScheduleStepping { get; init; } = ScheduleStepping.PerEpoch;

    /// <summary>The metric a <see cref="Optim.Schedules.ReduceLROnPlateau"/> schedule is stepped with. Default validation loss.</summary>
    public TrainingMetric PlateauMetric { get; init; } = TrainingMetric.ValidationLoss;

    /// <summary>Clip the gradients' total norm to this (torch.nn.utils.clip_grad_norm_) before each step; null: no norm clipping.</summary>
    public double? ClipGradNorm { get; init; }

    /// <summary>The norm type of <see cref="ClipGradNorm"/> (2 by default; infinity for the max norm).</summary>
    public double ClipNormType { get; init; } = 2.0;

    /// <summary>Clamp every gradient element into [-v, v] (clip_grad_value_) before each step; null: no value clipping.</summary>
    public double? ClipGradValue { get; init; }

    /// <summary>Early stopping, or null for none.</summary>
    public EarlyStoppingOptions? EarlyStopping { get; init; }

    /// <summary>Stop once a loss reaches a threshold (beside or instead of <see cref="EarlyStopping"/>), or null for none.</summary>
    public LossThresholdOptions? StopAtLoss { get; init; }

    /// <summary>Checkpoints, or null for none.</summary>
    public CheckpointOptions? Checkpoints { get; init; }

    /// <summary>
    /// Debug mode for divergence: every node's outputs and gradients are checked as the executor writes them
    /// (<see cref="Nn.CompiledModel.CheckFinite"/>), so a divergence names the first node that produced NaN or infinity.
    /// Slow; off by default (then only the loss and the gradients are checked, once per step).
    /// </summary>
    public bool DebugNonFinite { get; init; }

    /// <summary>Report progress every this many steps (and always at the last step of an epoch). Default 1.</summary>
    public int ProgressEvery { get; init; } = 1;

    /// <summary>
    /// Data-parallel training across the ranks of a process group, or null (default) for one process. Every rank runs the
    /// same program; <see cref="BatchSize"/> is then per rank. See <see cref="DistributedOptions"/> and docs/distributed.md.
    /// </summary>
    public DistributedOptions? Distributed { get; init; }

    /// <summary>
    /// The metrics computed over training batches and validation data; null (the default) picks them from the loss's
    /// task: accuracy for class scores, mae/rmse/r2 for regression, binary accuracy for bce losses, pixel accuracy and
    /// per-class IoU and Dice for segmentation, triplet and kNN accuracy for the triplet loss. An empty list computes none.
    /// In data-parallel training the metrics of training steps are summed over the ranks (so they must be additive, see
    /// <see cref="Metric.ShardContribution"/>) and those of a sharded evaluation combined by their shard contributions.
    /// </summary>
    public IReadOnlyList<Metric>? Metrics { get; init; }

    internal void Validate()
    {
        Check(Epochs >= 1, nameof(Epochs), Epochs, "must be at least 1");
        Check(BatchSize >= 1, nameof(BatchSize), BatchSize, "must be at least 1");
        Check(ValidationBatchSize is null or >= 1, nameof(ValidationBatchSize), ValidationBatchSize, "must be at least 1");
        Check(ProgressEvery >= 1, nameof(ProgressEvery), ProgressEvery, "must be at least 1");
        Check(ClipGradNorm is null or >= 0, nameof(ClipGradNorm), ClipGradNorm, "must be a non-negative number");
        Check(ClipNormType > 0, nameof(ClipNormType), ClipNormType, "must be positive (or infinity)");
        Check(ClipGradValue is null or >= 0, nameof(ClipGradValue), ClipGradValue, "must be non-negative");
        Check(Enum.IsDefined(Mode), nameof(Mode), Mode, "is not a GradientDescentMode");
        if (Transforms is null || ValidationTransforms is null)
        {
            throw new ArgumentException("Transforms lists must not be null; give an empty list for none.", nameof(Transforms));
        }

        if (EarlyStopping is { } es)
        {
            Check(es.Patience >= 1, "EarlyStopping.Patience", es.Patience, "must be at least 1");
            Check(es.MinDelta >= 0, "EarlyStopping.MinDelta", es.MinDelta, "must be non-negative");
        }

        Distributed?.Validate();

        if (StopAtLoss is { } t)
        {
            Check(double.IsFinite(t.Threshold), "StopAtLoss.Threshold", t.Threshold, "must be finite");
            Check(t.Monitor is TrainingMetric.TrainLoss or TrainingMetric.ValidationLoss, "StopAtLoss.Monitor", t.Monitor, "must be TrainLoss or ValidationLoss");
        }

        if (Checkpoints is { } c)
        {
            if (string.IsNullOrWhiteSpace(c.Directory))
            {
                throw new ArgumentException("Checkpoints.Directory must name a folder.", nameof(Checkpoints));
            }

            Check(c.EveryEpochs >= 0, "Checkpoints.EveryEpochs", c.EveryEpochs, "must be non-negative");
            Check(c.EverySteps >= 0, "Checkpoints.EverySteps", c.EverySteps, "must be non-negative");
            Check(c.Keep >= 0, "Checkpoints.Keep", c.Keep, "must be non-negative");
        }
    }

    private static void Check(bool ok, string name, object? value, string rule)
    {
        if (!ok)
        {
            throw new ArgumentOutOfRangeException(name, value, $"TrainingOptions.{name} {rule} (got {value}).");
        }
    }
}
