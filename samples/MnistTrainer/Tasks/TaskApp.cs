// Runs a task sample (./build.sh train autoencoder|segment|triplet|regression): options, data, device, the engine's
// Trainer with a progress bar, metrics.json/.csv, training.png and the model after every epoch, then the task's own
// outputs and its last line. With --ranks N it runs data-parallel as the main job: the app starts N ranks under mpirun
// (RankLauncher), each trains its shard of every batch, and rank 0 alone reports and writes. Exit codes as the main
// job: 0 done, 1 data/output/device error, divergence or a failed rank, 2 options.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Engine;
using Engine.Checkpoints;
using Engine.Data;
using Engine.Distributed;
using Engine.Optim;
using Engine.Optim.Schedules;
using Engine.Training;
using Microsoft.Extensions.Logging;

namespace MnistTrainer.Tasks;

internal static class TaskApp
{
    /// <summary>The task samples by verb.</summary>
    public static IReadOnlyList<SampleTask> All { get; } = [new AutoencoderTask(), new SegmentationTask(), new TripletTask(), new RegressionTask()];

    /// <summary>The task named <paramref name="verb"/>, or null.</summary>
    public static SampleTask? Find(string verb) => All.FirstOrDefault(t => t.Name == verb);

    /// <summary>
    /// Runs <paramref name="task"/> with <paramref name="args"/>; returns the exit code and the last line (the result, or
    /// the error for stderr; null when there is none to print: a rank other than 0, or the launcher of the ranks), which
    /// the caller prints once the logs are flushed. <paramref name="group"/> is the job's process group when mpirun started
    /// this process, else null.
    /// </summary>
    public static async Task<(int Code, string? Line, bool ToStderr)> RunAsync(
        SampleTask task, IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, ILoggerFactory loggers, bool interactive, ProcessGroup? group, CancellationToken ct)
    {
        var (o, error) = TaskOptions.Parse(args, task.Defaults);
        if (o is null)
        {
            return (2, $"error: {error}. Run ./build.sh train {task.Name} --help to see the options.", true);
        }

        if (o.ShowHelp)
        {
            return (0, $"usage: ./build.sh train {task.Name} [OPTIONS]\n\n{task.Help}\n{TaskOptions.CommonHelp}", false);
        }

        var log = loggers.CreateLogger("MnistTrainer." + task.Name);
        if (group is not null)
        {
            if (o.Ranks != 1 && o.Ranks != group.Size)
            {
                return (2, $"error: --ranks {o.Ranks}, but mpirun started {group.Size} processes.", true);
            }

            if (o.BatchSize % group.Size != 0)
            {
                return (2, $"error: --batch-size {o.BatchSize} must be divisible by the {group.Size} ranks.", true);
            }

            group.Timeout = TimeSpan.FromSeconds(o.TimeoutSeconds);
            RankLauncher.ShareCores(group);
        }

        TaskData data;
        try
        {
            if (group is null && o.Ranks > 1)
            {
                // Load (fetch) the data once here, then start the ranks, which run this task with the same options.
                int code = await RankLauncher.RunAsync(o.Ranks, o.Hostfile, [task.Name, .. args], c => task.LoadAsync(o, log, c), stderr, log, ct).ConfigureAwait(false);
                return (code, null, false);
            }

            data = await task.LoadAsync(o, log, ct).ConfigureAwait(false);
            Directory.CreateDirectory(o.OutputDirectory);
        }
        catch (Exception e) when (e is NpmFetchException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException or ArgumentException)
        {
            return (1, $"error: {e.Message}", true);
        }

        Device device;
        try
        {
            var options = new DeviceOptions { Logger = loggers.CreateLogger("Engine.Device"), HonorEnvironment = o.Device.Equals("auto", StringComparison.OrdinalIgnoreCase) };
            device = int.TryParse(o.Device, NumberStyles.Integer, CultureInfo.InvariantCulture, out int index)
                ? Device.Create(index, options)
                : Device.Create(Device.ParseKind(o.Device), options);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            return (1, $"error: {e.Message}", true);
        }

        string? last;
        using (device)
        {
            try
            {
                last = Train(task, o, data, device, stdout, loggers, log, interactive, group, ct);
            }
            catch (TrainingDivergedException e)
            {
                return (1, $"error: {e.Message} Try a smaller --lr (now {o.LearningRate.ToString(CultureInfo.InvariantCulture)}).", true);
            }
            catch (ProcessGroupException e)
            {
                return (1, $"error (rank {group!.Rank} of {group.Size}): {e.Message}", true);
            }
        }

        return (0, last, false);
    }

    /// <summary>Trains and returns the last line (null on ranks other than 0, which write nothing).</summary>
    private static string? Train(SampleTask task, TaskOptions o, TaskData data, Device device, TextWriter stdout, ILoggerFactory loggers, ILogger log, bool interactive, ProcessGroup? group, CancellationToken ct)
    {
        log.LogInformation("Data: {Train} training and {Test} test samples from {Source}; device {Device}", data.Train.Count, data.Test.Count, data.Source, device.Name);
        using var model = task.Build(data);

        // Data-parallel: each rank trains batch-size / ranks samples of every step (the trainer shards the data).
        int perRank = o.BatchSize / (group?.Size ?? 1);
        int rows = perRank * task.RowsPerSample;
        using var net = model.Compile(device, new Shape([rows, .. data.Train.SampleShape.ToArray()]), task.Loss(), new Engine.Nn.CompileOptions { Seed = unchecked((int)o.Seed) });
        using var adam = new Adam(net.Parameters, new AdamOptions { LR = o.LearningRate });
        int batches = (data.Train.Count + o.BatchSize - 1) / o.BatchSize;
        var cosine = new CosineAnnealingLR(adam, tMax: Math.Max(1, batches * o.Epochs));
        using var trainer = new Trainer(net, adam, cosine, new TrainingOptions
        {
            Epochs = o.Epochs, BatchSize = perRank, Seed = o.Seed, ScheduleStepping = ScheduleStepping.PerStep, Transforms = task.Transforms(data),
            Distributed = group is { Size: > 1 } ? new DistributedOptions { Group = group } : null,
        }, loggers.CreateLogger("MnistTrainer.Training"));
        log.LogInformation("Model: {Params:N0} parameters, loss {Loss}, Adam lr {Lr} with cosine decay over {Epochs} epochs of {Batches} steps",
            model.ParameterCount(), task.Loss().Describe(), o.LearningRate, o.Epochs, batches);

        var facts = new Dictionary<string, string>(data.Facts)
        {
            ["task"] = task.Name, ["device"] = device.Name, ["epochs"] = Inv(o.Epochs), ["batch_size"] = Inv(o.BatchSize),
            ["ranks"] = Inv(group?.Size ?? 1), ["learning_rate"] = Inv(o.LearningRate), ["optimizer"] = "adam", ["lr_schedule"] = "cosine", ["seed"] = Inv(o.Seed),
            ["data"] = data.Source, ["train_samples"] = Inv(data.Train.Count), ["test_samples"] = Inv(data.Test.Count),
            ["validation"] = "the test samples, after every epoch", ["started_utc"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        };
        var metrics = new TrainingLog(facts);
        string dir = o.OutputDirectory;
        EvaluationResult? test = null;
        var bar = new EpochProgress(stdout, interactive, log, 1, o.Epochs, data.Train.Count);
        var progress = new SyncProgress(p =>
        {
            if (p.Phase == TrainingPhase.Training)
            {
                string name = p.Metrics.ContainsKey(task.ChartMetric) ? task.ChartMetric : p.Metrics.Keys.FirstOrDefault() ?? string.Empty;
                string metric = name.Length > 0 ? MetricValues.Format(name, p.Metrics[name]) : string.Empty;
                bar.Report(p.Batch == p.Batches ? data.Train.Count : Math.Min(data.Train.Count, p.Batch * o.BatchSize), p.Loss, metric);
                return;
            }

            test = p.Validation;
            metrics.Add(trainer.History[^1]);
            metrics.WriteJson(Path.Combine(dir, "metrics.json"));
            metrics.WriteCsv(Path.Combine(dir, "metrics.csv"));
            net.SaveWeights(Path.Combine(dir, "model.safetensors"));
            using var chart = TrainingChart.Render(metrics.Epochs, string.Create(CultureInfo.InvariantCulture,
                $"{task.Name} on {device.Kind.ToString().ToLowerInvariant()}, batch {o.BatchSize}, lr {o.LearningRate}: test {MetricValues.Format(task.ChartMetric, test?.Metrics.GetOrNaN(task.ChartMetric) ?? double.NaN)}"),
                task.LossName, task.ChartMetric);
            chart.SavePng(Path.Combine(dir, "training.png"));
            bar = new EpochProgress(stdout, interactive, log, p.Epoch + 1, o.Epochs, data.Train.Count);
        });

        var result = trainer.Fit(data.Train, data.Test, progress, ct);
        if (result.Reason == StopReason.Cancelled)
        {
            throw new OperationCanceledException(ct);
        }

        if (group is { IsRoot: false })
        {
            return null;   // rank 0 reports and writes (the trainer reports progress on rank 0 only)
        }

        log.LogInformation("Wrote metrics.json, metrics.csv, training.png and model.safetensors to {Dir}", Path.GetFullPath(dir));
        return task.Finish(new TaskResult(device, model, data, o, test ?? throw new InvalidOperationException("The trainer finished without a test evaluation."), log));
    }

    private static string Inv(IFormattable v) => v.ToString(null, CultureInfo.InvariantCulture);

    /// <summary>Calls back on the reporting thread.</summary>
    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
