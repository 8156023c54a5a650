// The one seam between the app and the engine's training API: build the model, compile it, and train it with the
// engine's Trainer (Adam, cosine decay per step, validation on the held-out digits after every epoch); save it.
// Everything else (options, data, loaders, progress bar, metrics, plots) lives in TrainerApp.
using System;
using System.Collections.Generic;
using System.Threading;
using Engine;
using Engine.Checkpoints;
using Engine.Data;
using Engine.Nn;
using Engine.Onnx;
using Engine.Optim;
using Engine.Optim.Schedules;
using Engine.Training;
using Microsoft.Extensions.Logging;

namespace MnistTrainer;

/// <summary>What the app needs from a trainer: training with validation after each epoch, and saving.</summary>
internal interface IMnistTraining : IDisposable
{
    /// <summary>
    /// Trains every epoch over <paramref name="train"/>, evaluating on <paramref name="test"/> after each; reports every
    /// step and every epoch's end to <paramref name="progress"/>, synchronously, on the calling thread.
    /// </summary>
    TrainingResult Fit(DeviceDataLoader train, DeviceDataLoader test, IProgress<TrainingProgress> progress, CancellationToken ct);

    /// <summary>Every finished epoch's metrics (the Trainer's history); the last one is there when its end is reported.</summary>
    IReadOnlyList<EpochMetrics> History { get; }

    /// <summary>Writes the trained weights (safetensors under PyTorch's state-dict names).</summary>
    void SaveWeights(string path);

    /// <summary>Writes the trained model as ONNX; false when there is no model to export (test doubles).</summary>
    bool ExportOnnx(string path, IReadOnlyDictionary<string, string> metadata) => false;
}

/// <summary>
/// Trains <see cref="TrainerOptions.Model"/> with the engine: a compiled training plan with cross-entropy, Adam with a
/// cosine learning-rate decay over all steps, and <see cref="Trainer"/> for the epochs, validation and metrics.
/// </summary>
internal sealed class MnistTraining : IMnistTraining
{
    private const int Classes = 10;
    private readonly TrainerOptions options;
    private readonly ILogger logger;
    private readonly Module model;
    private readonly CompiledModel net;
    private readonly Adam optimizer;
    private Trainer? trainer;

    public MnistTraining(Device device, TrainerOptions options, ILogger logger)
    {
        this.options = options;
        this.logger = logger;
        model = Build(options.Model);
        try
        {
            // Data-parallel: each rank's step takes batch-size / ranks samples.
            net = model.Compile(device, [options.BatchSize / options.Ranks, 1, 28, 28], Loss.CrossEntropy(), new CompileOptions { Seed = unchecked((int)options.Seed) });
            optimizer = new Adam(net.Parameters, new AdamOptions { LR = options.LearningRate });
        }
        catch
        {
            net?.Dispose();
            model.Dispose();
            throw;
        }

        logger.LogInformation("Model {Model}: {Params:N0} parameters, training arena {Arena:N0} bytes, Adam lr {Lr} with cosine decay over {Epochs} epochs",
            options.Model.ToString().ToLowerInvariant(), model.ParameterCount(), net.Memory.PeakBytes, options.LearningRate, options.Epochs);
        logger.LogDebug("{Summary}", net.Summary());
    }

    /// <summary>The network for <paramref name="kind"/>; the CNN is LeNet-style with PyTorch's default initialization.</summary>
    public static Module Build(ModelKind kind) => kind switch
    {
        ModelKind.Cnn => new Sequential(
            new Conv2d(1, 32, 3, padding: 1), new Relu(), new MaxPool2d(2),
            new Conv2d(32, 64, 3, padding: 1), new Relu(), new MaxPool2d(2),
            new Flatten(), new Linear(64 * 7 * 7, 128), new Relu(), new Linear(128, Classes)),
        _ => new Sequential(
            new Flatten(), new Linear(28 * 28, 256), new Relu(), new Linear(256, 128), new Relu(), new Linear(128, Classes)),
    };

    public TrainingResult Fit(DeviceDataLoader train, DeviceDataLoader test, IProgress<TrainingProgress> progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (trainer is null)
        {
            // The cosine decay runs over every step of the run, so it needs the loader's batch count.
            var cosine = new CosineAnnealingLR(optimizer, tMax: Math.Max(1, train.BatchCount * options.Epochs));
            trainer = new Trainer(net, optimizer, cosine, new TrainingOptions
            {
                Epochs = options.Epochs,
                BatchSize = options.BatchSize / options.Ranks,
                Seed = options.Seed,
                ScheduleStepping = ScheduleStepping.PerStep,
                Distributed = options.Group is { Size: > 1 } g ? new DistributedOptions { Group = g } : null,
            }, logger);
        }

        return trainer.Fit(train, test, progress, ct);
    }

    public IReadOnlyList<EpochMetrics> History => trainer?.History ?? [];

    public void SaveWeights(string path) => net.SaveWeights(path);

    public bool ExportOnnx(string path, IReadOnlyDictionary<string, string> metadata)
    {
        OnnxExporter.Export(net, path, new OnnxExportOptions { Metadata = metadata });
        return true;
    }

    public void Dispose()
    {
        trainer?.Dispose();
        optimizer.Dispose();
        net.Dispose();
        model.Dispose();
        logger.LogDebug("Training session closed");
    }
}
