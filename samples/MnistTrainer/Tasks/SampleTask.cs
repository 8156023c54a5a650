// What a task sample is: its data, network, loss, metric and final line. TaskApp runs any of them the same way (device,
// Adam with a cosine decay, the engine's Trainer, progress bar, metrics.json/.csv, training.png, model.safetensors).
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Engine;
using Engine.Data;
using Engine.Nn;
using Engine.Training;
using Microsoft.Extensions.Logging;

namespace MnistTrainer.Tasks;

/// <summary>A task's data: training and test sets, where they came from, and facts for metrics.json.</summary>
internal sealed record TaskData(IDataset Train, IDataset Test, string Source, IReadOnlyDictionary<string, string> Facts);

/// <summary>What a finished run hands back to its task for the final outputs and the last line.</summary>
internal sealed record TaskResult(Device Device, Module Model, TaskData Data, TaskOptions Options, EvaluationResult Test, ILogger Log);

/// <summary>One task sample: <c>./build.sh train NAME [OPTIONS]</c>.</summary>
internal abstract class SampleTask
{
    /// <summary>The verb, e.g. <c>autoencoder</c>.</summary>
    public abstract string Name { get; }

    /// <summary>What it does and what it reports, for --help (the common options follow).</summary>
    public abstract string Help { get; }

    /// <summary>The defaults of its options.</summary>
    public abstract TaskOptions Defaults { get; }

    /// <summary>The loss's name on the chart.</summary>
    public abstract string LossName { get; }

    /// <summary>The metric on the chart's right panel (a name of the trainer's metrics).</summary>
    public abstract string ChartMetric { get; }

    /// <summary>Feature rows per sample: 3 for triples.</summary>
    public virtual int RowsPerSample => 1;

    /// <summary>Loads (fetching if needed) the training and test data.</summary>
    public abstract Task<TaskData> LoadAsync(TaskOptions options, ILogger log, CancellationToken ct);

    /// <summary>The network.</summary>
    public abstract Module Build(TaskData data);

    /// <summary>The loss the network is compiled with.</summary>
    public abstract ILossSpec Loss();

    /// <summary>Transforms of training samples (augmentation).</summary>
    public virtual IReadOnlyList<ISampleTransform> Transforms(TaskData data) => [];

    /// <summary>Writes the task's own outputs and returns the run's last line.</summary>
    public abstract string Finish(TaskResult result);
}
