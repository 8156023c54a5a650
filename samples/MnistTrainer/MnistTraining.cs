// The one seam between the app and the engine's training API: build the model, run an epoch, evaluate, save.
// Everything else (options, data, loaders, progress, metrics, plots) lives in TrainerApp.
using System;
using Engine;
using Engine.Data;
using Engine.Nn;
using Engine.Optim;
using Engine.Optim.Schedules;
using Microsoft.Extensions.Logging;

namespace MnistTrainer;

/// <summary>Mean loss and accuracy over a number of samples.</summary>
internal readonly record struct PassResult(double Loss, double Accuracy, int Samples);

/// <summary>What the app needs from a trainer: one training epoch at a time, evaluation on held-out data, saving.</summary>
internal interface IMnistTraining : IDisposable
{
    /// <summary>Trains one epoch (0-based) over <paramref name="loader"/>, reporting after each batch.</summary>
    PassResult TrainEpoch(DeviceDataLoader loader, int epoch, EpochProgress progress);

    /// <summary>Evaluates the model on every batch of <paramref name="loader"/> without changing it.</summary>
    PassResult Evaluate(DeviceDataLoader loader);

    /// <summary>Writes the trained weights (safetensors under PyTorch's state-dict names).</summary>
    void SaveWeights(string path);
}

/// <summary>
/// Trains <see cref="TrainerOptions.Model"/> with the engine: a compiled training plan with cross-entropy, Adam with
/// a cosine learning-rate decay over all steps, and an inference plan (sharing the parameters) for evaluation.
/// Accuracy is counted on the host from the logits (argmax) in buffers allocated once.
/// </summary>
internal sealed class MnistTraining : IMnistTraining
{
    private const int Classes = 10;
    private readonly TrainerOptions options;
    private readonly ILogger logger;
    private readonly Module model;
    private readonly CompiledModel net;
    private readonly Adam optimizer;
    private readonly Device device;
    private CompiledModel? eval;
    private CosineAnnealingLR? schedule;
    private float[] logits = [];
    private float[] labels = [];

    public MnistTraining(Device device, TrainerOptions options, ILogger logger)
    {
        this.device = device;
        this.options = options;
        this.logger = logger;
        model = Build(options.Model);
        try
        {
            net = model.Compile(device, [options.BatchSize, 1, 28, 28], Loss.CrossEntropy(), new CompileOptions { Seed = unchecked((int)options.Seed) });
            optimizer = new Adam(net.Parameters, new AdamOptions { Lr = options.LearningRate });
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
            new Conv2d(1, 32, 3, padding: 1), new ReLU(), new MaxPool2d(2),
            new Conv2d(32, 64, 3, padding: 1), new ReLU(), new MaxPool2d(2),
            new Flatten(), new Linear(64 * 7 * 7, 128), new ReLU(), new Linear(128, Classes)),
        _ => new Sequential(
            new Flatten(), new Linear(28 * 28, 256), new ReLU(), new Linear(256, 128), new ReLU(), new Linear(128, Classes)),
    };

    public PassResult TrainEpoch(DeviceDataLoader loader, int epoch, EpochProgress progress)
    {
        ArgumentNullException.ThrowIfNull(loader);
        ArgumentNullException.ThrowIfNull(progress);
        schedule ??= new CosineAnnealingLR(optimizer, tMax: Math.Max(1, loader.BatchCount * options.Epochs));
        EnsureHostBuffers(loader.Options.BatchSize);
        net.Training = true;
        double lossSum = 0;
        int correct = 0, seen = 0;
        foreach (DeviceBatch b in loader.Epoch(epoch))
        {
            var plan = net.ForBatchSize(b.Count);
            plan.ForwardBackward(b.Features, b.Labels);
            optimizer.Step();
            schedule.Step();
            lossSum += (double)plan.ReadLoss() * b.Count;
            correct += CountCorrect(plan.Output, b.Labels, b.Count);
            seen += b.Count;
            progress.Report(seen, lossSum / seen, (double)correct / seen);
        }

        return new PassResult(lossSum / Math.Max(seen, 1), (double)correct / Math.Max(seen, 1), seen);
    }

    public PassResult Evaluate(DeviceDataLoader loader)
    {
        ArgumentNullException.ThrowIfNull(loader);
        int batch = loader.Options.BatchSize;
        if (eval is null || eval.Input.Shape[0] != batch)
        {
            eval?.Dispose();
            eval = model.Compile(device, [batch, 1, 28, 28], Loss.CrossEntropy(), new CompileOptions { Training = false });
        }

        EnsureHostBuffers(batch);
        double lossSum = 0;
        int correct = 0, seen = 0;
        foreach (DeviceBatch b in loader.Epoch(0))
        {
            var plan = eval.ForBatchSize(b.Count);
            plan.Forward(b.Features, b.Labels);
            lossSum += (double)plan.ReadLoss() * b.Count;
            correct += CountCorrect(plan.Output, b.Labels, b.Count);
            seen += b.Count;
        }

        return new PassResult(lossSum / Math.Max(seen, 1), (double)correct / Math.Max(seen, 1), seen);
    }

    public void SaveWeights(string path) => net.SaveWeights(path);

    public void Dispose()
    {
        eval?.Dispose();
        optimizer.Dispose();
        net.Dispose();
        model.Dispose();
        logger.LogDebug("Training session closed");
    }

    private void EnsureHostBuffers(int batch)
    {
        if (labels.Length < batch)
        {
            logits = new float[batch * Classes];
            labels = new float[batch];
        }
    }

    /// <summary>Copies a batch's logits and labels to the host (buffers allocated once) and counts the correct rows.</summary>
    private int CountCorrect(Tensor output, Tensor labelTensor, int count)
    {
        var host = logits.AsSpan(0, count * Classes);
        var truth = labels.AsSpan(0, count);
        output.CopyTo(host);
        labelTensor.CopyTo(truth);
        return CountCorrect(host, truth, Classes);
    }

    /// <summary>
    /// How many rows of <paramref name="logits"/> (one row of <paramref name="classes"/> per label) have their largest
    /// value at the label; the first maximum wins, as in torch.argmax.
    /// </summary>
    internal static int CountCorrect(ReadOnlySpan<float> logits, ReadOnlySpan<float> labels, int classes)
    {
        int correct = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            var row = logits.Slice(i * classes, classes);
            int best = 0;
            for (int c = 1; c < classes; c++)
            {
                if (row[c] > row[best])
                {
                    best = c;
                }
            }

            if (best == (int)labels[i])
            {
                correct++;
            }
        }

        return correct;
    }
}
