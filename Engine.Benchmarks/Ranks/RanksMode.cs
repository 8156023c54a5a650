// `Engine.Benchmarks ranks ...` (run by scripts/bench-ranks.sh, one process per rank under mpirun, or alone for one
// rank): all-reduce bandwidth of the MPI process group, and the time of a data-parallel training step with how much of
// its gradient communication ran hidden behind backward. Prints machine-readable lines; rank 0 prints for all.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Runtime.InteropServices;
using Engine.Backends.Cpu;
using Engine.Distributed;
using Engine.Nn;
using Engine.Optim;
using Engine.Training;

namespace Engine.Benchmarks.Ranks;

/// <summary>
/// Usage: <c>ranks allreduce [--seconds S]</c> prints <c>allreduce ranks=R bytes=B median_us=.. min_us=.. algbw_gbs=..
/// busbw_gbs=.. reps=..</c> per size; <c>ranks step --model cnn|mlp --batch B [--no-overlap] [--seconds S]</c> prints
/// <c>step ranks=R model=M batch_per_rank=B overlap=0|1 median_ms=.. min_ms=.. comm_ms=.. exposed_ms=.. hidden_pct=.. buckets=N reps=..</c>.
/// </summary>
public static class RanksMode
{
    public static int Run(string[] args)
    {
        using var group = ProcessGroup.FromEnvironment(TimeSpan.FromSeconds(120));
        string what = args.Length > 0 ? args[0] : string.Empty;
        double seconds = Option(args, "--seconds", 3.0);
        var inv = CultureInfo.InvariantCulture;
        if (group.IsRoot)
        {
            Console.WriteLine(string.Format(inv, "info side=ranks ranks={0} backend={1} host_threads={2} cpus={3} runtime={4}",
                group.Size, group.Backend, HostParallel.Degree, Environment.ProcessorCount, Environment.Version));
        }

        switch (what)
        {
            case "allreduce":
                AllReduce(group, seconds);
                return 0;
            case "step":
                Step(group, args.SkipWhile(a => a != "--model").Skip(1).FirstOrDefault() ?? "cnn", (int)Option(args, "--batch", 32), !args.Contains("--no-overlap"), seconds);
                return 0;
            default:
                Console.Error.WriteLine("usage: ranks allreduce [--seconds S] | ranks step --model cnn|mlp --batch B [--no-overlap] [--seconds S]");
                return 2;
        }
    }

    private static unsafe void AllReduce(ProcessGroup group, double seconds)
    {
        foreach (int bytes in new[] { 4 << 10, 64 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20 })
        {
            int n = bytes / sizeof(float);
            float* data = (float*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
            try
            {
                new Span<float>(data, n).Fill(1f);
                var times = Timed(group, seconds, () => group.AllReduceSum(new Span<float>(data, n)));
                double median = Median(times);
                if (group.IsRoot)
                {
                    double algbw = bytes / median / 1e9;
                    Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "allreduce ranks={0} bytes={1} median_us={2:F1} min_us={3:F1} algbw_gbs={4:F3} busbw_gbs={5:F3} reps={6}",
                        group.Size, bytes, median * 1e6, times.Min() * 1e6, algbw, algbw * 2 * (group.Size - 1) / group.Size, times.Count));
                }
            }
            finally
            {
                NativeMemory.AlignedFree(data);
            }
        }
    }

    private static void Step(ProcessGroup group, string model, int batch, bool overlap, double seconds)
    {
        using var device = Device.Create(DeviceKind.Cpu, new DeviceOptions { HonorEnvironment = false });
        using var net = model == "mlp"
            ? new Sequential(new Linear(784, 512), new Relu(), new Linear(512, 256), new Relu(), new Linear(256, 10))
            : new Sequential(
                new Conv2d(1, 32, 3, padding: 1), new Relu(), new MaxPool2d(2),
                new Conv2d(32, 64, 3, padding: 1), new Relu(), new MaxPool2d(2),
                new Flatten(), new Linear(3136, 128), new Relu(), new Linear(128, 10));
        Shape input = model == "mlp" ? new Shape(batch, 784) : new Shape(batch, 1, 28, 28);
        using var compiled = net.Compile(device, input, Loss.CrossEntropy());
        using var adam = new Adam(compiled.Parameters, new AdamOptions { LR = 1e-4 });
        using var trainer = new Trainer(compiled, adam, null, new TrainingOptions
        {
            BatchSize = batch,
            Distributed = group.Size > 1 ? new DistributedOptions { Group = group, OverlapCommunication = overlap } : null,
        });
        var r = new Random(1 + group.Rank);
        using var x = Tensor.FromHost(device, [.. Enumerable.Range(0, (int)input.Length).Select(_ => (float)r.NextDouble())], input);
        using var y = Tensor.FromHost(device, [.. Enumerable.Range(0, batch).Select(_ => (float)r.Next(10))], new Shape(batch));
        var reducer = trainer.Reducer;
        double comm0 = 0, exposed0 = 0;
        long steps0 = 0;
        var times = Timed(group, seconds, () => trainer.TrainStep(x, y), () =>
        {
            comm0 = reducer?.CommunicationSeconds ?? 0;
            exposed0 = reducer?.ExposedSeconds ?? 0;
            steps0 = reducer?.Steps ?? 0;
        });
        double stepsDone = reducer is null ? 1 : Math.Max(1, reducer.Steps - steps0);
        double comm = reducer is null ? 0 : (reducer.CommunicationSeconds - comm0) / stepsDone;
        double exposed = reducer is null ? 0 : (reducer.ExposedSeconds - exposed0) / stepsDone;

        // Every rank's median, so that the slowest rank's can be reported.
        double[] mine = [Median(times), times.Min(), comm, exposed];
        var all = new double[mine.Length * group.Size];
        group.AllGather(MemoryMarshal.AsBytes(mine.AsSpan()), MemoryMarshal.AsBytes(all.AsSpan()));
        if (group.IsRoot)
        {
            double median = Enumerable.Range(0, group.Size).Max(k => all[k * 4]);
            double min = Enumerable.Range(0, group.Size).Max(k => all[(k * 4) + 1]);
            double c = Enumerable.Range(0, group.Size).Average(k => all[(k * 4) + 2]);
            double e = Enumerable.Range(0, group.Size).Average(k => all[(k * 4) + 3]);
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
                "step ranks={0} model={1} batch_per_rank={2} overlap={3} median_ms={4:F3} min_ms={5:F3} comm_ms={6:F3} exposed_ms={7:F3} hidden_pct={8:F1} buckets={9} params={10} reps={11}",
                group.Size, model, batch, overlap ? 1 : 0, median * 1e3, min * 1e3, c * 1e3, e * 1e3, c > 0 ? 100 * Math.Max(0, 1 - (e / c)) : 0,
                reducer?.BucketCount ?? 0, compiled.Parameters.TotalLength, times.Count));
        }
    }

    /// <summary>
    /// Warms up for about 2 s (JIT tiering), then times <paramref name="action"/> for about <paramref name="seconds"/>.
    /// Rank 0 sets both counts from its first five runs and broadcasts them: every rank must make the same calls.
    /// </summary>
    private static List<double> Timed(ProcessGroup group, double seconds, Action action, Action? beforeTimed = null)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 5; i++)
        {
            action();
        }

        double each = clock.Elapsed.TotalSeconds / 5;
        float[] plan = [(float)Math.Min(2000, Math.Ceiling(2 / each)), (float)Math.Clamp(seconds / each, 5, 2000)];
        group.Broadcast(plan, 0);
        for (int i = 0; i < (int)plan[0]; i++)
        {
            action();
        }

        group.Barrier();
        beforeTimed?.Invoke();
        var times = new List<double>((int)plan[1]);
        for (int i = 0; i < (int)plan[1]; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            action();
            times.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }

        return times;
    }

    private static double Option(string[] args, string name, double fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? double.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static double Median(List<double> xs)
    {
        var s = xs.OrderBy(v => v).ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[(s.Count / 2) - 1] + s[s.Count / 2]) / 2;
    }
}
