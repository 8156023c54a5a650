// The one seam between the app and the engine's training API: build the model, run an epoch, evaluate. Everything
// else (options, data, loaders, progress, metrics, plots) lives outside it and works today.
using System;
using Engine;
using Engine.Data;
using Microsoft.Extensions.Logging;

namespace MnistTrainer;

/// <summary>Mean loss and accuracy over a number of samples.</summary>
internal readonly record struct PassResult(double Loss, double Accuracy, int Samples);

/// <summary>What the app needs from a trainer: one training epoch at a time, and evaluation on held-out data.</summary>
internal interface IMnistTraining : IDisposable
{
    /// <summary>Null when training works; otherwise why it does not (printed, and the app exits with code 3).</summary>
    string? UnavailableReason { get; }

    /// <summary>Trains one epoch (0-based) over <paramref name="loader"/>, reporting after each batch.</summary>
    PassResult TrainEpoch(DeviceDataLoader loader, int epoch, EpochProgress progress);

    /// <summary>Evaluates the model on every batch of <paramref name="loader"/> without changing it.</summary>
    PassResult Evaluate(DeviceDataLoader loader);
}

/// <summary>
/// Trains <see cref="TrainerOptions.Model"/> with the engine. Waits for the graph executor (being written in parallel;
/// the optimizers are in Engine.Optim); until it lands this reports itself unavailable and the app stops after the
/// data part.
/// </summary>
internal sealed class MnistTraining : IMnistTraining
{
    private readonly Device device;
    private readonly TrainerOptions options;
    private readonly ILogger logger;

    public MnistTraining(Device device, TrainerOptions options, ILogger logger)
    {
        this.device = device;
        this.options = options;
        this.logger = logger;
    }

    public string? UnavailableReason =>
        "the engine's graph executor (model forward and backward) has not landed in this build yet; the data part above ran";

    public PassResult TrainEpoch(DeviceDataLoader loader, int epoch, EpochProgress progress) =>
        throw new NotSupportedException($"{UnavailableReason} (model {options.Model}, device {device.Name}).");

    public PassResult Evaluate(DeviceDataLoader loader) =>
        throw new NotSupportedException(UnavailableReason);

    public void Dispose() => logger.LogDebug("Training session closed");
}
