// Scenario "train": a small model trained data-parallel on synthetic data with the engine's Trainer; each rank writes
// its final parameters and buffers (state.rankR.bin) and a summary with every epoch's task metrics (summary.rankR.txt)
// into --out. Options pick the model (mlp or cnn with batch norm on class labels, reg on float targets with MSE,
// triplet on triples with the triplet loss), the total batch (split over the ranks), a separate validation set,
// checkpoints and resume, a stop by rank 0's token, a rank that dies or hangs at a step, a rank that builds another
// model, and an allocation count.
using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using Engine;
using Engine.Data;
using Engine.Distributed;
using Engine.Nn;
using Engine.Optim;
using Engine.Training;

namespace Engine.Tests.RankHost;

internal static class TrainRun
{
    public static int Run(ProcessGroup group, HostOptions o)
    {
        string model = o.String("model", "mlp");
        int total = o.Int("batch", 32);
        if (total % group.Size != 0)
        {
            throw new ArgumentException($"--batch {total} is not divisible by the {group.Size} ranks");
        }

        int batch = total / group.Size;
        long seed = o.Int("seed", 1);
        string outDir = o.String("out", ".");
        Directory.CreateDirectory(outDir);
        using var device = Device.Create(DeviceKind.Cpu);
        int samples = o.Int("samples", model == "cnn" ? 128 : 256);
        var data = Data(model, samples, seed);

        // --val-samples N: validate on N other samples (an odd N gives the ranks uneven shards), else on the training data.
        var validation = o.Maybe("val-samples") is null ? data : Data(model, o.Int("val-samples", 0), seed + 100);
        int hidden = o.Flag("mismatch") && group.Rank == 1 ? 17 : 16;
        var trip = new Tripwire(group.Rank == 1 ? o.Int("die-at-step", -1) : -1, group.Rank == 1 ? o.Int("hang-at-step", -1) : -1);
        using var net = Build(model, hidden, trip);

        // --scramble-init: ranks other than 0 start from other weights; the trainer's broadcast must fix that.
        int initSeed = o.Flag("scramble-init") && group.Rank != 0 ? 1000 + group.Rank : (int)seed;
        var loss = model switch { "reg" => Loss.Mse(), "triplet" => Loss.Triplet(), _ => Loss.CrossEntropy() };
        int rows = model == "triplet" ? 3 * batch : batch;
        using var compiled = net.Compile(device, [rows, .. data.SampleShape.ToArray()], loss, new CompileOptions { Seed = initSeed });
        using var sgd = new Sgd(compiled.Parameters, new SgdOptions { LR = o.Double("lr", 0.1), Momentum = 0.9 });
        var options = new TrainingOptions
        {
            Epochs = o.Int("epochs", 2),
            BatchSize = batch,
            Seed = seed,
            Transforms = model == "cnn" ? [new RandomShift(1)] : [],
            Checkpoints = o.Maybe("checkpoints") is { } dir ? new CheckpointOptions { Directory = dir, EverySteps = o.Int("every-steps", 0), EveryEpochs = 1, Keep = 0 } : null,
            Distributed = group.Size > 1 ? new DistributedOptions
            {
                Group = group, BucketBytes = o.Int("bucket-bytes", 256), OverlapCommunication = !o.Flag("no-overlap"),
            } : null,
        };
        // Ranks get here at different times (JIT, a loaded machine): meet once with a generous timeout, so that --timeout
        // (short in the failure tests) bounds the training's waits only.
        var timeout = group.Timeout;
        group.Timeout = TimeSpan.FromMinutes(5);
        group.Barrier();
        group.Timeout = timeout;
        if (o.Flag("alloc"))
        {
            return Allocations(device, compiled, sgd, (InMemoryDataset)data, options, batch, outDir, group);
        }

        using var trainer = new Trainer(compiled, sgd, null, options);
        if (o.Flag("resume"))
        {
            string from = trainer.LoadCheckpoint(o.String("checkpoints", "."));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rank {group.Rank} resumed from {Path.GetFileName(from)} at step {trainer.StepCount}"));
        }

        using var cancel = new CancellationTokenSource();
        int stopAt = o.Int("stop-at-step", -1);
        var progress = new SyncProgress(p =>
        {
            if (p.Phase == TrainingPhase.Training && p.Step == stopAt)
            {
                cancel.Cancel();   // rank 0's token only: the other ranks must stop at the same step
            }
        });
        var clock = Stopwatch.StartNew();
        var result = trainer.Fit(data, validation, progress, cancel.Token);
        var state = compiled.Parameters.Values.ToArray().Concat(compiled.Buffers.Values?.ToArray() ?? []).ToArray();
        File.WriteAllBytes(Path.Combine(outDir, $"state.rank{group.Rank}.bin"), MemoryMarshal.AsBytes(state.AsSpan()).ToArray());
        var summary = new StringBuilder();
        summary.Append(CultureInfo.InvariantCulture, $"reason {result.Reason}\nsteps {result.Steps}\nseconds {clock.Elapsed.TotalSeconds:F2}\n");
        foreach (var m in result.History)
        {
            summary.Append(CultureInfo.InvariantCulture, $"epoch {m.Epoch} loss {m.TrainLoss:R} accuracy {m.TrainAccuracy:R} val_loss {m.ValidationLoss:R} val_accuracy {m.ValidationAccuracy:R}\n");
            summary.Append(CultureInfo.InvariantCulture, $"metrics {m.Epoch} train{Listed(m.TrainMetrics)} val{Listed(m.ValidationMetrics)}\n");
        }

        File.WriteAllText(Path.Combine(outDir, $"summary.rank{group.Rank}.txt"), summary.ToString());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rank {group.Rank} done: {result.Reason} after {result.Steps} steps"));
        return 0;
    }

    /// <summary>Bytes allocated by a one-epoch Fit of 3 steps and of as many as the data hold once warm (the calling thread, and the whole process).</summary>
    private static int Allocations(Device device, CompiledModel net, Optimizer opt, InMemoryDataset data, TrainingOptions options, int batch, string outDir, ProcessGroup group)
    {
        DeviceDataLoader Loader(int steps) => new(device, data.Subset(Enumerable.Range(0, steps * batch * group.Size).ToArray()), new DataLoaderOptions
        {
            BatchSize = batch, Seed = 3, ShardCount = group.Size, ShardIndex = group.Rank,
        });
        using var few = Loader(3);
        using var many = Loader(data.Count / (batch * group.Size));
        var epoch = options with { Epochs = 1, Checkpoints = null };
        (long Thread, long Process) Measure(DeviceDataLoader loader)
        {
            for (int i = 0; i < 20; i++)
            {
                using var warm = new Trainer(net, opt, null, epoch);
                warm.Fit(loader);
            }

            using var trainer = new Trainer(net, opt, null, epoch);
            long thread = GC.GetAllocatedBytesForCurrentThread(), process = GC.GetTotalAllocatedBytes(precise: true);
            trainer.Fit(loader);
            return (GC.GetAllocatedBytesForCurrentThread() - thread, GC.GetTotalAllocatedBytes(precise: true) - process);
        }

        var a = Measure(few);
        var b = Measure(many);
        string line = string.Create(CultureInfo.InvariantCulture,
            $"rank {group.Rank} alloc thread {a.Thread} {b.Thread} process {a.Process} {b.Process}");
        Console.WriteLine(line);
        File.WriteAllText(Path.Combine(outDir, $"alloc.rank{group.Rank}.txt"), line + "\n");
        return 0;
    }

    /// <summary>" name=value" for every metric, values round-trippable.</summary>
    private static string Listed(MetricValues values) =>
        string.Concat(values.Select(kv => string.Create(CultureInfo.InvariantCulture, $" {kv.Key}={kv.Value:R}")));

    private static IDataset Data(string model, int count, long seed) => model switch
    {
        "cnn" => Images(count, seed),
        "reg" => Regression(count, 8, seed),
        "triplet" => new TripletDataset(Blobs(count, 8, seed), seed),
        _ => Blobs(count, 8, seed),
    };

    private static Sequential Build(string model, int hidden, Tripwire trip) => model switch
    {
        "mlp" => new Sequential(trip, new Linear(8, hidden), new Relu(), new Linear(hidden, 16), new Relu(), new Linear(16, 3)),
        "reg" => new Sequential(trip, new Linear(8, hidden), new Relu(), new Linear(hidden, 2)),
        "triplet" => new Sequential(trip, new Linear(8, hidden), new Relu(), new Linear(hidden, 4)),
        "cnn" => new Sequential(trip, new Conv2d(1, 4, 3, padding: 1), new BatchNorm2d(4), new Relu(), new MaxPool2d(2),
            new Flatten(), new Linear(4 * 4 * 4, hidden), new BatchNorm1d(hidden), new Relu(), new Linear(hidden, 4)),
        _ => throw new ArgumentException($"--model must be mlp, cnn, reg or triplet, not '{model}'"),
    };

    /// <summary>Two float targets per sample: a linear and a nonlinear function of <paramref name="features"/> inputs, plus noise.</summary>
    private static InMemoryDataset Regression(int count, int features, long seed)
    {
        var rng = new Random((int)seed + 23);
        var f = new float[count * features];
        var t = new float[count * 2];
        for (int i = 0; i < count; i++)
        {
            double sum = 0, wave = 0;
            for (int j = 0; j < features; j++)
            {
                double x = (2 * rng.NextDouble()) - 1;
                f[(i * features) + j] = (float)x;
                sum += x * ((j % 3) - 1);
                wave += Math.Sin(x * (j + 1));
            }

            t[2 * i] = (float)(sum + (0.05 * (rng.NextDouble() - 0.5)));
            t[(2 * i) + 1] = (float)((0.5 * wave) + (0.05 * (rng.NextDouble() - 0.5)));
        }

        return new InMemoryDataset(f, new Shape(features), t, new Shape(2));
    }

    /// <summary>Three blobs in <paramref name="features"/> dimensions.</summary>
    public static InMemoryDataset Blobs(int count, int features, long seed)
    {
        var rng = new Random((int)seed + 11);
        var f = new float[count * features];
        var l = new int[count];
        for (int i = 0; i < count; i++)
        {
            l[i] = i % 3;
            for (int j = 0; j < features; j++)
            {
                f[(i * features) + j] = (float)((((l[i] * 7) + j) % 5) - 2 + (0.8 * (rng.NextDouble() - 0.5)));
            }
        }

        return new InMemoryDataset(f, l, new Shape(features), 3);
    }

    /// <summary>8x8 images of four classes: a bright quadrant per class, plus noise.</summary>
    private static InMemoryDataset Images(int count, long seed)
    {
        var rng = new Random((int)seed + 17);
        var f = new float[count * 64];
        var l = new int[count];
        for (int i = 0; i < count; i++)
        {
            l[i] = i % 4;
            for (int y = 0; y < 8; y++)
            {
                for (int x = 0; x < 8; x++)
                {
                    bool lit = ((y / 4) * 2) + (x / 4) == l[i];
                    f[(i * 64) + (y * 8) + x] = (lit ? 1f : 0f) + (float)(0.6 * (rng.NextDouble() - 0.5));
                }
            }
        }

        return new InMemoryDataset(f, l, new Shape(1, 8, 8), 4);
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
