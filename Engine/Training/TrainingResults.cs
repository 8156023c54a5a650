// What a Trainer reports: per-step progress, per-epoch metrics, evaluation results, the outcome of Fit, and the
// exception for a diverged step.
using System;
using System.Collections.Generic;
using System.Globalization;
using Engine.Nn;

namespace Engine.Training;

/// <summary>What a progress report is about.</summary>
public enum TrainingPhase
{
    /// <summary>A training step finished.</summary>
    Training = 0,

    /// <summary>An epoch (with its validation) finished; <see cref="TrainingProgress.Validation"/> is set when there was validation data.</summary>
    EpochEnd = 1,
}

/// <summary>Why Fit returned.</summary>
public enum StopReason
{
    /// <summary>Every epoch ran.</summary>
    Completed = 0,

    /// <summary>Early stopping ended training.</summary>
    EarlyStopped = 1,

    /// <summary>The cancellation token was cancelled; Fit may be called again to continue where it stopped.</summary>
    Cancelled = 2,

    /// <summary>The monitored loss reached <see cref="TrainingOptions.StopAtLoss"/>'s threshold.</summary>
    LossThresholdReached = 3,
}

/// <summary>Mean loss, accuracy and the task's metrics over some samples.</summary>
/// <param name="Loss">Sample-weighted mean of the batch losses (the mean per-sample loss with a mean-reduced loss).</param>
/// <param name="Accuracy">Fraction of samples whose largest output is the label's class; NaN when the output is not a class score vector.</param>
/// <param name="Samples">Samples (or triples) seen.</param>
public readonly record struct EvaluationResult(double Loss, double Accuracy, int Samples)
{
    private readonly MetricValues? metrics;

    /// <summary>Every metric of the pass by name (<see cref="TrainingOptions.Metrics"/>, or those of the loss's task), accuracy included.</summary>
    public MetricValues Metrics
    {
        get => metrics ?? MetricValues.Empty;
        init => metrics = value;
    }
}

/// <summary>One progress report (after a step, or at the end of an epoch).</summary>
public readonly record struct TrainingProgress
{
    /// <summary>What the report is about.</summary>
    public TrainingPhase Phase { get; init; }

    /// <summary>The epoch, 1-based.</summary>
    public int Epoch { get; init; }

    /// <summary>Total epochs.</summary>
    public int Epochs { get; init; }

    /// <summary>The batch of this epoch just trained, 1-based (equals <see cref="Batches"/> at the end of an epoch).</summary>
    public int Batch { get; init; }

    /// <summary>Batches per epoch.</summary>
    public int Batches { get; init; }

    /// <summary>Optimizer steps done in all (since the start of training, across resumes).</summary>
    public long Step { get; init; }

    /// <summary>The loss of the last step's batch (before its update).</summary>
    public double BatchLoss { get; init; }

    /// <summary>Mean training loss of this epoch so far.</summary>
    public double Loss { get; init; }

    /// <summary>Training accuracy of this epoch so far (NaN when not a classification output).</summary>
    public double Accuracy { get; init; }

    /// <summary>
    /// The task's training metrics of this epoch so far (e.g. rmse, mean_iou). At <see cref="TrainingPhase.Training"/> this is
    /// the trainer's running copy, updated in place after later steps: read it during the report, or copy it.
    /// </summary>
    public MetricValues Metrics
    {
        get => metrics ?? MetricValues.Empty;
        init => metrics = value;
    }

    private readonly MetricValues? metrics;

    /// <summary>Learning rate of the first parameter group now.</summary>
    public double LearningRate { get; init; }

    /// <summary>Training samples per second in this epoch.</summary>
    public double SamplesPerSecond { get; init; }

    /// <summary>Time spent in this epoch.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>Estimated time until the last epoch's training ends (from this Fit's mean step time).</summary>
    public TimeSpan Eta { get; init; }

    /// <summary>At <see cref="TrainingPhase.EpochEnd"/> with validation data: its loss and accuracy.</summary>
    public EvaluationResult? Validation { get; init; }
}

/// <summary>Metrics of one finished epoch.</summary>
/// <param name="Epoch">The epoch, 1-based.</param>
/// <param name="TrainLoss">Mean training loss.</param>
/// <param name="TrainAccuracy">Training accuracy (NaN when not available).</param>
/// <param name="ValidationLoss">Validation loss (NaN without validation data).</param>
/// <param name="ValidationAccuracy">Validation accuracy (NaN when not available).</param>
/// <param name="LearningRate">Learning rate of the first group during the epoch's last step.</param>
/// <param name="Steps">Optimizer steps in the epoch.</param>
/// <param name="Seconds">Wall time of the epoch (training and validation; for a resumed epoch, since the resume).</param>
/// <param name="SamplesPerSecond">Training samples per second.</param>
public sealed record EpochMetrics(int Epoch, double TrainLoss, double TrainAccuracy, double ValidationLoss, double ValidationAccuracy,
    double LearningRate, int Steps, double Seconds, double SamplesPerSecond)
{
    /// <summary>The task's metrics over the epoch's training batches (accuracy included), by name.</summary>
    public MetricValues TrainMetrics { get; init; } = MetricValues.Empty;

    /// <summary>The task's metrics on the validation data (empty without it), by name.</summary>
    public MetricValues ValidationMetrics { get; init; } = MetricValues.Empty;

    /// <summary>The value of <paramref name="metric"/>.</summary>
    public double Get(TrainingMetric metric) => metric switch
    {
        TrainingMetric.ValidationLoss => ValidationLoss,
        TrainingMetric.ValidationAccuracy => ValidationAccuracy,
        TrainingMetric.TrainLoss => TrainLoss,
        TrainingMetric.TrainAccuracy => TrainAccuracy,
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, null),
    };
}

/// <summary>The outcome of <see cref="Trainer.Fit(Data.IDataset, Data.IDataset?, IProgress{TrainingProgress}?, System.Threading.CancellationToken)"/>.</summary>
/// <param name="Reason">Why it returned.</param>
/// <param name="History">Every finished epoch's metrics, from the start of training (a resumed trainer keeps the earlier ones).</param>
/// <param name="Steps">Optimizer steps done in all.</param>
/// <param name="BestEpoch">With early stopping: the best epoch (1-based), else 0.</param>
/// <param name="BestMetric">With early stopping: the monitored metric's best value, else NaN.</param>
/// <param name="RestoredBestWeights">Whether the best epoch's weights were put back at the end.</param>
public sealed record TrainingResult(StopReason Reason, IReadOnlyList<EpochMetrics> History, long Steps, int BestEpoch, double BestMetric, bool RestoredBestWeights);

/// <summary>
/// A training step produced NaN or infinity in the loss or the gradients. The step's update was not applied, so the
/// parameters are those after the previous step, and no checkpoint was written for it; checkpoints already written are
/// intact. (Batch-norm running statistics include the failing batch.)
/// </summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TrainingDivergedException(string what, long step, int epoch, int batch, int batches, double loss, NonFiniteNodeException? node, string? lastCheckpoint)
        : base(Format(what, step, epoch, batch, batches, loss, node, lastCheckpoint), node)
    {
        What = what;
        Step = step;
        Epoch = epoch;
        Batch = batch;
        Loss = loss;
        Node = node;
    }

    /// <summary>Creates the exception.</summary>
    public TrainingDivergedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public TrainingDivergedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public TrainingDivergedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary><c>loss</c> or <c>gradients</c> (or, in debug mode, what the node check found first: <c>forward</c> / <c>backward</c>).</summary>
    public string What { get; } = string.Empty;

    /// <summary>The failing optimizer step, 1-based (the step that would have been the Step-th update).</summary>
    public long Step { get; }

    /// <summary>The epoch, 1-based.</summary>
    public int Epoch { get; }

    /// <summary>The batch of the epoch, 1-based (0 for a step outside Fit).</summary>
    public int Batch { get; }

    /// <summary>The loss of the step (NaN or infinite when the loss itself diverged; NaN when not read).</summary>
    public double Loss { get; }

    /// <summary>In debug mode (<see cref="TrainingOptions.DebugNonFinite"/>): the first node whose output or gradient was non-finite.</summary>
    public NonFiniteNodeException? Node { get; }

    private static string Format(string what, long step, int epoch, int batch, int batches, double loss, NonFiniteNodeException? node, string? lastCheckpoint)
    {
        var inv = CultureInfo.InvariantCulture;
        string where = batch > 0 ? string.Format(inv, "step {0} (epoch {1}, batch {2} of {3})", step, epoch, batch, batches) : string.Format(inv, "step {0} (epoch {1})", step, epoch);
        string found = what switch
        {
            "loss" => string.Format(inv, "the loss is {0}", loss),
            "gradients" => "the gradients hold NaN or infinity",
            _ => "a node produced NaN or infinity",
        };
        string first = node is null ? string.Empty : " First non-finite: " + node.Message;
        string saved = lastCheckpoint is null ? string.Empty : $" The last checkpoint, {lastCheckpoint}, is intact.";
        return $"Training diverged at {where}: {found}; the step's update was not applied.{first}{saved}";
    }
}
