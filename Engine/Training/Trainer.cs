// The training loop over a compiled model: epochs of batch, mini-batch or online gradient descent with seeded
// shuffling, validation, metrics, schedules, clipping, early stopping, divergence checks, progress and checkpoints.
using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using Engine.Data;
using Engine.Nn;
using Engine.Ops;
using Engine.Optim;
using Engine.Optim.Schedules;
using Microsoft.Extensions.Logging;

namespace Engine.Training;

/// <summary>
/// Trains a compiled model with an optimizer (and optionally a learning-rate schedule) over datasets or device
/// loaders. Each step runs forward and backward on one batch, checks the loss and the gradients for NaN and infinity,
/// clips, updates and (per step) advances the schedule; each epoch ends with validation, the epoch schedule step,
/// early stopping and checkpoints. The trainer keeps its position (epoch, batch, step), so Fit after a cancellation,
/// or on a trainer loaded from a checkpoint, continues exactly where training stopped.
/// </summary>
/// <example><code>
/// using var trainer = new Trainer(net, opt, sched, new TrainingOptions { Epochs = 10, BatchSize = 64, Seed = 1 });
/// TrainingResult r = trainer.Fit(train, validation, progress, token);
/// </code></example>
public sealed partial class Trainer : IDisposable
{
    private readonly GradientClipper? clipper;
    private readonly ILogger logger;
    private readonly bool debugNonFinite;
    private bool disposed;

    /// <summary>Creates a trainer for <paramref name="model"/> (a training plan with a loss and one input).</summary>
    /// <param name="model">The compiled model; the trainer runs it (and its <see cref="CompiledModel.ForBatchSize"/> plans).</param>
    /// <param name="optimizer">An optimizer over <paramref name="model"/>'s parameters.</param>
    /// <param name="schedule">A learning-rate schedule of <paramref name="optimizer"/>, or null.</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <param name="logger">Where epoch summaries, checkpoints and early stopping are logged; null: a logger of category <c>Engine.Training.Trainer</c> from the device's <see cref="Device.LoggerFactory"/>.</param>
    /// <exception cref="ArgumentException">The model, optimizer, schedule or options do not fit together; the message says how.</exception>
    public Trainer(CompiledModel model, Optimizer optimizer, LRSchedulerBase? schedule = null, TrainingOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        options ??= new TrainingOptions();
        options.Validate();
        if (!model.IsTrainingPlan)
        {
            throw new ArgumentException("The model is an inference plan (compiled with Training = false); compile it with Training = true to train it.", nameof(model));
        }

        if (model.Loss is null)
        {
            throw new ArgumentException("The model was compiled without a loss; compile it with one (e.g. Loss.CrossEntropy()) to train it.", nameof(model));
        }

        if (model.Inputs.Count != 1)
        {
            throw new ArgumentException($"The trainer feeds one input, but the model has {model.Inputs.Count}.", nameof(model));
        }

        if (!model.HasParameters || !ReferenceEquals(optimizer.Parameters, model.Parameters))
        {
            throw new ArgumentException("The optimizer updates another parameter set than the model's; create it over model.Parameters.", nameof(optimizer));
        }

        if (schedule is not null && !ReferenceEquals(schedule.Optimizer, optimizer))
        {
            throw new ArgumentException("The schedule belongs to another optimizer than the one passed in.", nameof(schedule));
        }

        if (schedule is ReduceLROnPlateau && options.ScheduleStepping == ScheduleStepping.PerStep)
        {
            throw new ArgumentException("ReduceLROnPlateau steps once per epoch on a metric; use ScheduleStepping.PerEpoch with it.", nameof(options));
        }

        Model = model;
        Optimizer = optimizer;
        Schedule = schedule;
        Options = options;
        this.logger = logger ?? model.Device.LoggerFactory.CreateLogger<Trainer>();
        debugNonFinite = options.DebugNonFinite || model.CheckFinite;
        if (options.ClipGradNorm is not null || options.ClipGradValue is not null)
        {
            clipper = new GradientClipper(model.Parameters);
        }

        (group, reducer) = StartDataParallel(model, options, ref this.logger);
    }

    /// <summary>The compiled model being trained.</summary>
    public CompiledModel Model { get; }

    /// <summary>The optimizer.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The learning-rate schedule, or null.</summary>
    public LRSchedulerBase? Schedule { get; }

    /// <summary>The settings.</summary>
    public TrainingOptions Options { get; }

    /// <summary>Completed epochs (also the 0-based index of the epoch in progress).</summary>
    public int Epoch => epoch;

    /// <summary>Batches of the current epoch already trained (where the next Fit resumes).</summary>
    public int BatchInEpoch => batchInEpoch;

    /// <summary>Optimizer steps done in all.</summary>
    public long StepCount => step;

    /// <summary>Every finished epoch's metrics.</summary>
    public System.Collections.Generic.IReadOnlyList<EpochMetrics> History => history;

    /// <summary>The last checkpoint written or loaded by this trainer, or null.</summary>
    public string? LastCheckpoint => lastCheckpoint;

    /// <summary>
    /// Trains on <paramref name="train"/> (with the batch size of <see cref="TrainingOptions.Mode"/>, shuffled by
    /// <see cref="TrainingOptions.Seed"/>) until <see cref="TrainingOptions.Epochs"/> epochs have completed, evaluating
    /// on <paramref name="validation"/> after each epoch. Class labels become class indices or one-hot rows, whichever the
    /// model's loss target is; float targets must have the loss target's per-sample shape; triples need the triplet loss.
    /// </summary>
    /// <exception cref="ArgumentException">The data do not fit the model (checked before anything runs; the message names both shapes).</exception>
    /// <exception cref="TrainingDivergedException">A step produced NaN or infinity.</exception>
    public TrainingResult Fit(IDataset train, IDataset? validation = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        var labels = LabelFormatFor(train);
        if (validation is not null)
        {
            LabelFormatFor(validation);
        }

        int batch = Options.Mode switch
        {
            GradientDescentMode.Batch => group is null ? train.Count : (train.Count + group.Size - 1) / group.Size,
            GradientDescentMode.Online => 1,
            _ => Options.BatchSize,
        };
        using var trainLoader = new DeviceDataLoader(Model.Device, train, new DataLoaderOptions
        {
            BatchSize = batch, Shuffle = Options.Shuffle, DropLast = Options.DropLast, Seed = Options.Seed, Transforms = Options.Transforms, Labels = labels,
            ShardCount = group?.Size ?? 1, ShardIndex = group?.Rank ?? 0,
        });
        using var validationLoader = validation is null ? null : ValidationLoader(validation, batch);
        return Fit(trainLoader, validationLoader, progress, cancellationToken);
    }

    /// <summary>
    /// Trains over batches of <paramref name="train"/> (its batch size, order and transforms as given); see the dataset
    /// overload. In data-parallel training the loader must read this rank's shard (<see cref="DataLoaderOptions.ShardCount"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The loaders do not fit the model.</exception>
    /// <exception cref="TrainingDivergedException">A step produced NaN or infinity.</exception>
    /// <exception cref="Distributed.ProcessGroupException">Data-parallel training: a rank died, hung or failed; the message names it.</exception>
    public TrainingResult Fit(DeviceDataLoader train, DeviceDataLoader? validation = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        try
        {
            return FitLoaders(train, validation, progress, cancellationToken);
        }
        catch (Distributed.ProcessGroupException e) when (group is not null)
        {
            throw Failed(e);
        }
    }

    private TrainingResult FitLoaders(DeviceDataLoader train, DeviceDataLoader? validation, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(train);
        ObjectDisposedException.ThrowIf(disposed, this);
        CheckLoader(train, nameof(train));
        if (validation is not null)
        {
            CheckLoader(validation, nameof(validation));
        }

        var metrics = BindTrainMetrics(train.Dataset);
        bool accuracy = metrics.HasAccuracy;
        CheckMetric(Options.EarlyStopping?.Monitor, validation, accuracy, "Early stopping");
        CheckMetric(Schedule is ReduceLROnPlateau ? Options.PlateauMetric : null, validation, accuracy, "ReduceLROnPlateau");
        CheckMetric(Options.StopAtLoss?.Monitor, validation, accuracy, "StopAtLoss");
        CheckData(train);
        if (finished is StopReason.EarlyStopped or StopReason.LossThresholdReached)
        {
            return Result(finished.Value);
        }

        BeginDataParallelFit(train, validation, metrics);
        if (group is not null && !group.IsRoot)
        {
            progress = null;   // rank 0 reports for all
        }

        finished = null;
        Model.Training = true;
        long sessionSteps = 0;
        var trainTime = TimeSpan.Zero;
        int batches = train.BatchCount;
        while (epoch < Options.Epochs)
        {
            var epochClock = Stopwatch.StartNew();
            int epochSessionSamples = 0;
            foreach (DeviceBatch b in train.Epoch(epoch, batchInEpoch))
            {
                if (StopRequested(cancellationToken))
                {
                    break;
                }

                long stepStart = Stopwatch.GetTimestamp();   // not a Stopwatch object: a step allocates nothing
                double lr = Optimizer.Groups[0].LR;
                var r = RunStep(b.Features, b.Labels, b.Features.Shape[0], b.Count, batchInEpoch + 1, batches, metrics, cancellationToken);
                double loss = r.Loss;
                part.LossSum += loss * r.Samples;
                part.Samples += r.Samples;
                part.Steps++;
                part.LastLR = lr;
                batchInEpoch++;
                epochSessionSamples += r.Samples;
                sessionSteps++;
                trainTime += Stopwatch.GetElapsedTime(stepStart);
                if (progress is not null && (batchInEpoch % Options.ProgressEvery == 0 || batchInEpoch == batches))
                {
                    var elapsed = epochClock.Elapsed;
                    long remaining = (batches - batchInEpoch) + ((long)(Options.Epochs - epoch - 1) * batches);
                    var running = metrics.Refresh();
                    progress.Report(new TrainingProgress
                    {
                        Phase = TrainingPhase.Training, Epoch = epoch + 1, Epochs = Options.Epochs, Batch = batchInEpoch, Batches = batches, Step = step,
                        BatchLoss = loss, Loss = part.LossSum / part.Samples, Accuracy = running.GetOrNaN("accuracy"), Metrics = running, LearningRate = Optimizer.Groups[0].LR,
                        SamplesPerSecond = epochSessionSamples / Math.Max(elapsed.TotalSeconds, 1e-9), Elapsed = elapsed,
                        Eta = TimeSpan.FromTicks((long)(trainTime.Ticks / (double)sessionSteps * remaining)),
                    });
                }

                if (Options.Checkpoints is { EverySteps: > 0 } c && step % c.EverySteps == 0)
                {
                    SaveManaged();
                }
            }

            if (StopRequested(cancellationToken))
            {
                logger.LogInformation("Training cancelled at epoch {Epoch}, batch {Batch} of {Batches} (step {Step})", epoch + 1, batchInEpoch, batches, step);
                return Finish(StopReason.Cancelled);
            }

            var stop = EndEpoch(metrics, validation, epochClock, epochSessionSamples, batches, progress);
            if (group is not null)
            {
                ModelSync.CheckValues(Model, group, $"after epoch {epoch}");
            }

            if (Options.Checkpoints is { EveryEpochs: > 0 } ce && epoch % ce.EveryEpochs == 0)
            {
                SaveManaged();
            }

            if (stop is { } reason)
            {
                return Finish(reason);
            }
        }

        return Finish(StopReason.Completed);
    }

    /// <summary>
    /// One training step on one batch outside Fit, in the model's current mode (<see cref="CompiledModel.Training"/>):
    /// forward, backward, the non-finite checks, clipping, the optimizer step and (per step) the schedule. Returns the
    /// batch's loss (computed before the update).
    /// </summary>
    /// <exception cref="ArgumentException">The input's sample shape differs from the model's.</exception>
    /// <exception cref="TrainingDivergedException">The loss or the gradients are not finite; nothing was updated.</exception>
    public float TrainStep(Tensor input, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        ObjectDisposedException.ThrowIf(disposed, this);
        var sample = Model.Input.Shape.ToArray()[1..];
        if (input.Rank != sample.Length + 1 || !input.Shape.ToArray()[1..].SequenceEqual(sample))
        {
            throw new ArgumentException($"input is {input.Shape}; the model takes (batch, {string.Join(", ", sample)}).", nameof(input));
        }

        return (float)RunStep(input, target, input.Shape[0], input.Shape[0], 0, 0, metrics: null, default).Loss;
    }

    /// <summary>Mean loss, accuracy and task metrics of the model on <paramref name="data"/> in evaluation mode (dropout off, running statistics).</summary>
    /// <exception cref="ArgumentException">The data do not fit the model.</exception>
    public EvaluationResult Evaluate(IDataset data, int? batchSize = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        LabelFormatFor(data);
        using var loader = ValidationLoader(data, batchSize ?? Options.BatchSize, batchSize);
        return Evaluate(loader);
    }

    /// <summary>
    /// Mean loss, accuracy and task metrics of the model over one pass of <paramref name="loader"/> (epoch 0) in
    /// evaluation mode. In data-parallel training a sharded loader's loss sums and metric states are combined over the
    /// ranks (<see cref="Metric.ShardContribution"/>), so every rank gets the values of the whole pass (every rank must call this).
    /// </summary>
    /// <exception cref="ArgumentException">The loader does not fit the model.</exception>
    public EvaluationResult Evaluate(DeviceDataLoader loader)
    {
        ArgumentNullException.ThrowIfNull(loader);
        ObjectDisposedException.ThrowIf(disposed, this);
        CheckLoader(loader, nameof(loader));
        if (group is not null && loader.Options.ShardCount != 1)
        {
            CheckShard(loader, nameof(loader));
        }

        var metrics = new MetricSet(MetricsFor(loader.Dataset), Model.Output.Shape, Model.Target!.Shape, loader.Dataset.Count, evaluation: true);
        bool wasTraining = Model.Training, wasChecking = Model.CheckFinite;
        Model.Training = false;
        Model.CheckFinite = false;
        double lossSum = 0;
        int samples = 0;
        try
        {
            foreach (DeviceBatch b in loader.Epoch(0))
            {
                int rows = b.Features.Shape[0];
                var plan = Model.ForBatchSize(rows);
                plan.Forward(b.Features, b.Labels);
                lossSum += plan.ReadLoss() * (double)b.Count;
                UpdateMetrics(metrics, b.Labels, rows, plan);
                samples += b.Count;
            }
        }
        finally
        {
            Model.Training = wasTraining;
            Model.CheckFinite = wasChecking;
        }

        ReduceEvaluation(loader, metrics, ref lossSum, ref samples);
        var values = metrics.Refresh().Snapshot();
        return new EvaluationResult(lossSum / samples, values.GetOrNaN("accuracy"), samples) { Metrics = values };
    }

    /// <summary>Frees the trainer's own device memory (the best-weights copy); the model and optimizer stay with the caller.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        clipper?.Dispose();
        best?.Dispose();
        StopDataParallel();
    }
}
