// The trainer's epoch bookkeeping: end-of-epoch validation, metrics, schedule steps and early stopping, the end of
// Fit, and the checks of early stopping's and the plateau schedule's metric.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Engine.Data;
using Engine.Nn;
using Engine.Optim.Schedules;
using Microsoft.Extensions.Logging;

namespace Engine.Training;

public sealed partial class Trainer
{
    private readonly List<EpochMetrics> history = new();
    private int epoch;
    private int batchInEpoch;
    private long step;
    private PartialEpoch part;
    private double bestMetric = double.NaN;
    private int bestEpoch;
    private int badEpochs;
    private WeightSnapshot? best;
    private StopReason? finished;
    private bool restoredBest;
    private DataSignature? data;

    /// <summary>Sums of the epoch in progress (kept across a cancellation and in checkpoints, so metrics survive a resume).</summary>
    private struct PartialEpoch
    {
        public double LossSum;
        public long Samples;
        public int Steps;
        public double LastLR;
    }

    /// <summary>
    /// What fixes the order of the training batches: resuming mid-epoch needs the same. The batch size is that of all
    /// ranks together, so a run may resume on another number of ranks with the same total batch.
    /// </summary>
    private sealed record DataSignature(int Samples, int BatchSize, int Batches, bool Shuffle, long Seed, bool DropLast)
    {
        public static DataSignature Of(DeviceDataLoader l) =>
            new(l.Dataset.Count, l.Options.BatchSize * l.Options.ShardCount, l.BatchCount, l.Options.Shuffle, l.Options.Seed, l.Options.DropLast);
    }

    private StopReason? EndEpoch(MetricSet trainSet, DeviceDataLoader? validation, Stopwatch clock, int sessionSamples, int batches, IProgress<TrainingProgress>? progress)
    {
        var trainSeconds = clock.Elapsed;
        var train = trainSet.Refresh().Snapshot();
        EvaluationResult? val = validation is null ? null : Evaluate(validation);
        var m = new EpochMetrics(epoch + 1, part.Samples > 0 ? part.LossSum / part.Samples : double.NaN, train.GetOrNaN("accuracy"),
            val?.Loss ?? double.NaN, val?.Accuracy ?? double.NaN, part.LastLR, part.Steps, clock.Elapsed.TotalSeconds,
            sessionSamples / Math.Max(trainSeconds.TotalSeconds, 1e-9))
        {
            TrainMetrics = train,
            ValidationMetrics = val?.Metrics ?? MetricValues.Empty,
        };
        history.Add(m);
        trainSet.Reset();
        if (Schedule is ReduceLROnPlateau plateau)
        {
            plateau.Step(m.Get(Options.PlateauMetric));
        }
        else if (Schedule is LRScheduler s && Options.ScheduleStepping == ScheduleStepping.PerEpoch)
        {
            s.Step();
        }

        bool stop = false;
        if (Options.EarlyStopping is { } es)
        {
            double v = m.Get(es.Monitor);
            bool higherIsBetter = es.Monitor is TrainingMetric.ValidationAccuracy or TrainingMetric.TrainAccuracy;
            bool improved = !double.IsNaN(v) && (double.IsNaN(bestMetric) || (higherIsBetter ? v > bestMetric + es.MinDelta : v < bestMetric - es.MinDelta));
            if (improved)
            {
                bestMetric = v;
                bestEpoch = epoch + 1;
                badEpochs = 0;
                if (es.RestoreBestWeights)
                {
                    best ??= new WeightSnapshot(Model);
                    best.Capture();
                }
            }
            else
            {
                badEpochs++;
                stop = badEpochs >= es.Patience;
            }
        }

        bool reached = Options.StopAtLoss is { } t && m.Get(t.Monitor) <= t.Threshold;
        epoch++;
        batchInEpoch = 0;
        part = default;
        version++;
        if (logger.IsEnabled(LogLevel.Information))
        {
            logger.LogInformation(
                "Epoch {Epoch}/{Epochs}: loss {Loss:G5}{Train}, val_loss {ValLoss:G5}{Validation}, lr {Lr:G4}, {Rate:N0} samples/s, {Seconds:F1} s",
                m.Epoch, Options.Epochs, m.TrainLoss, Listed(m.TrainMetrics, string.Empty), m.ValidationLoss, Listed(m.ValidationMetrics, "val_"),
                m.LearningRate, m.SamplesPerSecond, m.Seconds);
        }

        progress?.Report(new TrainingProgress
        {
            Phase = TrainingPhase.EpochEnd, Epoch = m.Epoch, Epochs = Options.Epochs, Batch = batches, Batches = batches, Step = step,
            BatchLoss = double.NaN, Loss = m.TrainLoss, Accuracy = m.TrainAccuracy, Metrics = m.TrainMetrics, LearningRate = Optimizer.Groups[0].LR,
            SamplesPerSecond = m.SamplesPerSecond, Elapsed = clock.Elapsed, Validation = val,
        });
        if (stop)
        {
            logger.LogInformation(
                "Early stopping after epoch {Epoch}: {Metric} did not improve by more than {MinDelta} for {Patience} epochs; best {Best:G5} at epoch {BestEpoch}",
                m.Epoch, Options.EarlyStopping!.Monitor, Options.EarlyStopping.MinDelta, Options.EarlyStopping.Patience, bestMetric, bestEpoch);
        }

        if (reached)
        {
            logger.LogInformation("Stopping after epoch {Epoch}: {Metric} {Value:G5} reached the threshold {Threshold:G5}",
                m.Epoch, Options.StopAtLoss!.Monitor, m.Get(Options.StopAtLoss.Monitor), Options.StopAtLoss.Threshold);
            return StopReason.LossThresholdReached;
        }

        return stop ? StopReason.EarlyStopped : null;
    }

    private TrainingResult Finish(StopReason reason)
    {
        if (reason != StopReason.Cancelled)
        {
            if (Options.EarlyStopping is { RestoreBestWeights: true } && best is not null && bestEpoch != epoch && !restoredBest)
            {
                best.Restore();
                restoredBest = true;
                version++;
                logger.LogInformation("Restored the weights of epoch {BestEpoch} (best {Metric} {Best:G5})", bestEpoch, Options.EarlyStopping.Monitor, bestMetric);
            }

            finished = reason;
        }

        if (Options.Checkpoints is { AtEnd: true })
        {
            SaveManaged();
        }

        return Result(reason);
    }

    private TrainingResult Result(StopReason reason) =>
        new(reason, history.ToArray(), step, bestEpoch, Options.EarlyStopping is null ? double.NaN : bestMetric, restoredBest && reason != StopReason.Cancelled);

    /// <summary>", accuracy 97.50%, ..." with <paramref name="prefix"/> before each name (the epoch log line); per-class values left out.</summary>
    private static string Listed(MetricValues values, string prefix)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var (name, v) in values)
        {
            if (!name.StartsWith("iou_", StringComparison.Ordinal) && !name.StartsWith("dice_", StringComparison.Ordinal))
            {
                sb.Append(", ").Append(MetricValues.Format(prefix + name, v));
            }
        }

        return sb.ToString();
    }

    private DeviceDataLoader ValidationLoader(IDataset data, int trainBatch, int? explicitBatch = null)
    {
        int size = explicitBatch ?? Options.ValidationBatchSize ?? Math.Min(data.Count, Math.Max(trainBatch, 64));
        return new DeviceDataLoader(Model.Device, data, new DataLoaderOptions
        {
            BatchSize = size, Shuffle = false, Seed = Options.Seed, Transforms = Options.ValidationTransforms, Labels = LabelFormatFor(data),
            ShardCount = group?.Size ?? 1, ShardIndex = group?.Rank ?? 0, EvenShards = false,
        });
    }

    private static void CheckMetric(TrainingMetric? metric, DeviceDataLoader? validation, bool accuracy, string who)
    {
        if (metric is TrainingMetric.ValidationLoss or TrainingMetric.ValidationAccuracy && validation is null)
        {
            throw new ArgumentException($"{who} watches {metric}, but Fit got no validation data; pass some, or watch a training metric.", nameof(validation));
        }

        if (metric is TrainingMetric.ValidationAccuracy or TrainingMetric.TrainAccuracy && !accuracy)
        {
            throw new ArgumentException($"{who} watches {metric}, but the model's output is not one score per class of the dataset, so there is no accuracy.", nameof(metric));
        }
    }

    private void CheckData(DeviceDataLoader train)
    {
        var now = DataSignature.Of(train);
        if (data is not null && data != now)
        {
            if (batchInEpoch > 0)
            {
                throw new InvalidOperationException(
                    $"Training stopped in the middle of epoch {epoch + 1} with {data}, but the data now is {now}; resume with the same dataset, batch size, seed and shuffling.");
            }

            logger.LogWarning("The training data settings changed since the last epoch ({Old} -> {New})", data, now);
        }

        data = now;
    }
}
