// The trainer's epoch bookkeeping: end-of-epoch validation, metrics, schedule steps and early stopping, the end of
// Fit, accuracy counting, and the checks that data fit the model.
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
        public long Correct;
        public long AccuracySamples;
        public int Steps;
        public double LastLr;
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

    private bool EndEpoch(DeviceDataLoader? validation, Stopwatch clock, int sessionSamples, int batches, IProgress<TrainingProgress>? progress)
    {
        var trainSeconds = clock.Elapsed;
        EvaluationResult? val = validation is null ? null : Evaluate(validation);
        var m = new EpochMetrics(epoch + 1, part.Samples > 0 ? part.LossSum / part.Samples : double.NaN, PartAccuracy(),
            val?.Loss ?? double.NaN, val?.Accuracy ?? double.NaN, part.LastLr, part.Steps, clock.Elapsed.TotalSeconds,
            sessionSamples / Math.Max(trainSeconds.TotalSeconds, 1e-9));
        history.Add(m);
        if (Schedule is ReduceLROnPlateau plateau)
        {
            plateau.Step(m.Get(Options.PlateauMetric));
        }
        else if (Schedule is LrScheduler s && Options.ScheduleStepping == ScheduleStepping.PerEpoch)
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

        epoch++;
        batchInEpoch = 0;
        part = default;
        version++;
        logger.LogInformation(
            "Epoch {Epoch}/{Epochs}: loss {Loss:G5}, accuracy {Accuracy:P2}, val_loss {ValLoss:G5}, val_accuracy {ValAccuracy:P2}, lr {Lr:G4}, {Rate:N0} samples/s, {Seconds:F1} s",
            m.Epoch, Options.Epochs, m.TrainLoss, m.TrainAccuracy, m.ValidationLoss, m.ValidationAccuracy, m.LearningRate, m.SamplesPerSecond, m.Seconds);
        progress?.Report(new TrainingProgress
        {
            Phase = TrainingPhase.EpochEnd, Epoch = m.Epoch, Epochs = Options.Epochs, Batch = batches, Batches = batches, Step = step,
            BatchLoss = double.NaN, Loss = m.TrainLoss, Accuracy = m.TrainAccuracy, LearningRate = Optimizer.Groups[0].Lr,
            SamplesPerSecond = m.SamplesPerSecond, Elapsed = clock.Elapsed, Validation = val,
        });
        if (stop)
        {
            logger.LogInformation(
                "Early stopping after epoch {Epoch}: {Metric} did not improve by more than {MinDelta} for {Patience} epochs; best {Best:G5} at epoch {BestEpoch}",
                m.Epoch, Options.EarlyStopping!.Monitor, Options.EarlyStopping.MinDelta, Options.EarlyStopping.Patience, bestMetric, bestEpoch);
        }

        return stop;
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

    private double PartAccuracy() => part.AccuracySamples > 0 ? part.Correct / (double)part.AccuracySamples : double.NaN;

    private DeviceDataLoader ValidationLoader(IDataset data, int trainBatch, int? explicitBatch = null)
    {
        int size = explicitBatch ?? Options.ValidationBatchSize ?? Math.Min(data.Count, Math.Max(trainBatch, 64));
        return new DeviceDataLoader(Model.Device, data, new DataLoaderOptions
        {
            BatchSize = size, Shuffle = false, Seed = Options.Seed, Transforms = Options.ValidationTransforms, Labels = LabelFormatFor(data),
            ShardCount = group?.Size ?? 1, ShardIndex = group?.Rank ?? 0, EvenShards = false,
        });
    }

    /// <summary>Counts the samples of the last forward whose largest output is their label's class.</summary>
    private void CountCorrect(Tensor labels, int count, ref long correct, CompiledModel? plan = null)
    {
        plan ??= Model.ForBatchSize(count);
        var output = plan.Output;
        int c = output.Shape[1];
        if (outputHost.Length < output.Length)
        {
            outputHost = new float[output.Length];
        }

        if (labelHost.Length < labels.Length)
        {
            labelHost = new float[labels.Length];
        }

        output.CopyTo(outputHost.AsSpan(0, (int)output.Length));
        labels.CopyTo(labelHost.AsSpan(0, (int)labels.Length));
        bool oneHot = labels.Rank == 2;
        for (int i = 0; i < count; i++)
        {
            int predicted = ArgMax(outputHost.AsSpan(i * c, c));
            int label = oneHot ? ArgMax(labelHost.AsSpan(i * c, c)) : (int)labelHost[i];
            if (predicted == label)
            {
                correct++;
            }
        }
    }

    /// <summary>Index of the largest value (the first on ties; NaN never wins).</summary>
    private static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int j = 1; j < row.Length; j++)
        {
            if (row[j] > row[best])
            {
                best = j;
            }
        }

        return best;
    }

    private bool AccuracyAvailable(IDataset d) => d.ClassCount >= 2 && Model.Output.Rank == 2 && Model.Output.Shape[1] == d.ClassCount;

    private LabelFormat LabelFormatFor(IDataset d)
    {
        var target = Model.Target!;
        if (target.Rank == 1)
        {
            return LabelFormat.Indices;
        }

        if (target.Rank == 2 && target.Shape[1] == d.ClassCount)
        {
            return LabelFormat.OneHot;
        }

        throw new ArgumentException(
            $"The model's loss target is {target.Shape}; a dataset's labels give class indices (batch) or one-hot rows (batch, {d.ClassCount}).", nameof(d));
    }

    private void CheckLoader(DeviceDataLoader loader, string name)
    {
        if (!ReferenceEquals(loader.Device, Model.Device))
        {
            throw new ArgumentException($"The loader's device ({loader.Device.Name}) is not the model's ({Model.Device.Name}).", name);
        }

        var sample = Model.Input.Shape.ToArray()[1..];
        if (!loader.Dataset.SampleShape.ToArray().SequenceEqual(sample))
        {
            throw new ArgumentException(
                $"The samples are {loader.Dataset.SampleShape} but the model takes {Model.Input.Shape} (batch, {string.Join(", ", sample)}).", name);
        }

        var target = Model.Target!;
        if (loader.LabelShape.Rank != target.Rank || (target.Rank == 2 && loader.LabelShape[1] != target.Shape[1]))
        {
            throw new ArgumentException($"The loader's labels are {loader.LabelShape} per batch but the loss target is {target.Shape}.", name);
        }
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
