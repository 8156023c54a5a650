// `mnist_epoch` and `mnist_rss` of `./build.sh bench-peers`: one epoch of the main job (samples/MnistTrainer) over the
// 60,000 real digits, from the IDX files on disk to the end of the epoch, timed once, and the process's peak RSS.
using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Engine.Data;
using Engine.Data.Mnist;
using Engine.Nn;
using Engine.Optim;
using Engine.Optim.Schedules;
using Engine.Training;

namespace Engine.Benchmarks.Peers;

/// <summary>
/// The main job's recipe for one epoch: the CNN of <see cref="PeerModels.Cnn"/>, batch 32, Adam lr 0.002 with a
/// per-step cosine decay over the 8 epochs of the default run (this is its first), cross-entropy, training images
/// shifted at random by up to 2 pixels and normalized with the training set's mean and deviation, shuffled with seed 1.
/// No validation pass (scripts/bench_peers.py runs the same).
/// </summary>
internal static class MnistEpoch
{
    public const int BatchSize = 32;
    public const double LearningRate = 0.002;
    public const int Shift = 2;
    public const int ScheduleEpochs = 8;
    public const int Seed = 1;

    /// <summary>Where bench-peers.sh (and the main job) keep the digits, relative to the repository root.</summary>
    public const string DefaultDirectory = ".cache/mnist-data";

    /// <summary>Why the epoch cannot run from <paramref name="directory"/>, or null when the training files are there.</summary>
    public static string? Missing(string directory)
    {
        var (images, labels) = Mnist.FileNamesOf(MnistSplit.Train);
        var missing = new[] { images, labels }.Where(n => Mnist.Find(directory, n) is null).ToArray();
        return missing.Length == 0 ? null
            : $"MNIST training files missing in '{Path.GetFullPath(directory)}': {string.Join(", ", missing)} (./build.sh bench-peers fetches them as ./build.sh train does)";
    }

    /// <summary>What one epoch did.</summary>
    /// <param name="Seconds">Wall time from reading the files to the end of the epoch.</param>
    /// <param name="Steps">Training steps taken.</param>
    /// <param name="TrainLoss">The epoch's mean training loss.</param>
    /// <param name="Parameters">Trainable parameters of the model.</param>
    public readonly record struct Result(double Seconds, long Steps, double TrainLoss, long Parameters);

    /// <summary>Reads the training digits from <paramref name="directory"/> and trains one epoch on <paramref name="device"/>.</summary>
    public static Result Run(Device device, string directory)
    {
        var sw = Stopwatch.StartNew();
        var train = Mnist.Load(directory, MnistSplit.Train);
        var norm = Normalization.Compute(train);
        using var loader = new DeviceDataLoader(device, train, new DataLoaderOptions
        {
            BatchSize = BatchSize, Seed = Seed, Transforms = [new RandomShift(Shift), new Normalize(norm)],
        });
        using var model = PeerModels.Cnn();
        using var net = model.Compile(device, [BatchSize, 1, 28, 28], Loss.CrossEntropy(), new CompileOptions { Seed = Seed });
        using var optimizer = new Adam(net.Parameters, new AdamOptions { LR = LearningRate });
        var cosine = new CosineAnnealingLR(optimizer, tMax: loader.BatchCount * ScheduleEpochs);
        using var trainer = new Trainer(net, optimizer, cosine, new TrainingOptions
        {
            Epochs = 1, BatchSize = BatchSize, Seed = Seed, ScheduleStepping = ScheduleStepping.PerStep,
        });
        var result = trainer.Fit(loader);
        device.Synchronize();
        double seconds = sw.Elapsed.TotalSeconds;
        return new Result(seconds, result.Steps, result.History[^1].TrainLoss, model.ParameterCount());
    }

    /// <summary>The process's peak resident set (VmHWM of /proc/self/status) in bytes, or -1 where there is none.</summary>
    public static long PeakRssBytes() => StatusBytes("VmHWM:");

    /// <summary>The process's resident set now (VmRSS of /proc/self/status) in bytes, or -1 where there is none.</summary>
    public static long RssBytes() => StatusBytes("VmRSS:");

    private static long StatusBytes(string field)
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path))
        {
            return -1;
        }

        foreach (string line in File.ReadLines(path))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                // "VmHWM:    123456 kB"
                return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return -1;
    }
}
