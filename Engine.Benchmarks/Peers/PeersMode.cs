// `Engine.Benchmarks peers ...`: times workloads on the engine and prints machine-readable lines for bench-peers.sh.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Runtime.InteropServices;
using Engine.Backends.Cpu;

namespace Engine.Benchmarks.Peers;

/// <summary>
/// Usage: <c>peers [--device cpu] [--seconds S] [--peak] [--memory] [--serial] [--profile N] WORKLOAD...</c>. Each workload is warmed up,
/// then run repeatedly for about S seconds (at least 3 times); one line per workload:
/// <c>result side=engine workload=NAME median_ms=.. min_ms=.. reps=.. flops=.. gflops=.. cpu_ms=.. thread_cpu_min_ms=..</c>
/// (cpu_ms: process CPU time per run; thread_cpu_min_ms: the calling thread's least), or
/// <c>unavailable side=engine workload=NAME reason=...</c>. <c>--peak</c> adds <c>peak ...</c> (FMA GFLOP/s);
/// <c>--memory</c> adds <c>memory side=engine workload=NAME peak_bytes=.. reserved_bytes=..</c> (device memory the
/// workload rented at its peak, from setup to the last timed run, and what the allocator holds).
/// Tuning aids: workloads <c>gemm_MxNxK[_nt|_tn|_tt]</c>, <c>--serial</c> (GEMMs on the calling thread only) and
/// <c>--kernel-probe KC PANELS</c> (the micro-kernel alone on cache-resident panels), <c>--conv-probe</c> (the host
/// convolution's pieces), <c>--profile N</c> (training steps or inference passes: N more with every node timed), <c>--alloc N</c>
/// (managed bytes allocated over N more warm runs, calling thread and whole process) and workloads
/// <c>conv_NxCxHxW_CoutxK_pP[_bwd|_dw][@variant]</c>; <c>--devices</c> lists every device and whether it is usable.
/// A model workload also prints <c>info side=engine workload=NAME params=N</c>. <c>mnist_epoch</c> and <c>mnist_rss</c>
/// (<see cref="MnistEpoch"/>, digits from <c>--data DIR</c>, default .cache/mnist-data) run alone in their process: one
/// epoch, timed once, and <c>rss side=engine workload=mnist_rss peak_bytes=..</c> (the process's VmHWM after it).
/// </summary>
public static class PeersMode
{
    public static int Run(string[] args)
    {
        string deviceName = "cpu";
        double seconds = 1.0;
        bool peak = false;
        bool memory = false;
        int profile = 0;
        int alloc = 0;
        string dataDir = MnistEpoch.DefaultDirectory;
        var names = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--device":
                    deviceName = args[++i];
                    break;
                case "--seconds":
                    seconds = double.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--serial":
                    Backends.Cpu.GemmDriver.ParallelMinFlops = long.MaxValue;
                    break;
                case "--kernel-probe":
                    KernelProbe.Run(int.Parse(args[++i], CultureInfo.InvariantCulture), int.Parse(args[++i], CultureInfo.InvariantCulture));
                    return 0;
                case "--profile":
                    profile = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--alloc":
                    alloc = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--devices":
                    foreach (var d in Device.ListDevices())
                    {
                        Console.WriteLine($"device {d}{(d.IsUsable ? "" : " (unusable: " + d.UnusableReason + ")")}");
                    }

                    return 0;
                case "--conv-probe":
                    ConvProbe.Run();
                    return 0;
                case "--peak":
                    peak = true;
                    break;
                case "--memory":
                    memory = true;
                    break;
                case "--data":
                    dataDir = args[++i];
                    break;
                default:
                    names.Add(args[i]);
                    break;
            }
        }

        if (names.Count == 0 && !peak)
        {
            Console.Error.WriteLine($"usage: peers [--device cpu] [--seconds S] [--peak] WORKLOAD...  (workloads: {string.Join(" ", PeerWorkloads.Names)})");
            return 2;
        }

        var inv = CultureInfo.InvariantCulture;
        var dev = BenchDevices.Get(deviceName);
        Console.WriteLine(string.Format(inv, "info side=engine device={0} path={1} kernel={2} threads={3} runtime={4}",
            deviceName, dev.Path, CpuGemm.BestKernel, HostParallel.Degree, Environment.Version));
        if (peak)
        {
            double one = FmaPeak.Measure(1);
            double all = FmaPeak.Measure(Environment.ProcessorCount);
            Console.WriteLine(string.Format(inv, "peak side=engine width={0} threads={1} gflops={2:F1} single_thread_gflops={3:F1}",
                FmaPeak.Width, Environment.ProcessorCount, all, one));
        }

        if (names.Any(PeerWorkloads.EpochNames.Contains))
        {
            return RunEpoch(dev, names, dataDir);
        }

        foreach (var name in names)
        {
            dev.Synchronize();
            dev.Allocator.ResetPeak();
            long inUse0 = dev.Allocator.Stats.BytesInUse;
            using var w = PeerWorkloads.Create(name, dev, out string? missing);
            if (w is null)
            {
                Console.WriteLine($"unavailable side=engine workload={name} reason={missing}");
                continue;
            }

            if (w.Parameters > 0)
            {
                Console.WriteLine(string.Format(inv, "info side=engine workload={0} params={1}", name, w.Parameters));
            }

            var proc = Process.GetCurrentProcess();
            var cpu0 = proc.TotalProcessorTime;
            var times = Time(w, seconds, out double warmCpuMs);
            proc.Refresh();
            double cpuMs = ((proc.TotalProcessorTime - cpu0).TotalMilliseconds - warmCpuMs) / times.Count;
            Console.WriteLine(string.Format(inv, "result side=engine workload={0} median_ms={1:F4} min_ms={2:F4} reps={3} flops={4:F0} gflops={5:F1} cpu_ms={6:F4} thread_cpu_min_ms={7:F4}",
                name, Median(times), times.Min(), times.Count, w.Flops, w.Flops / Median(times) / 1e6, cpuMs, ThreadCpuMinMs));
            if (memory)
            {
                dev.Synchronize();
                var st = dev.Allocator.Stats;
                Console.WriteLine(string.Format(inv, "memory side=engine workload={0} peak_bytes={1} reserved_bytes={2}",
                    name, st.PeakBytesInUse - inUse0, st.BytesReserved));
            }

            if (profile > 0 && w is TrainingStepWorkload t)
            {
                t.Profile(name, profile);
            }
            else if (profile > 0 && w is InferenceWorkload inf)
            {
                inf.Profile(name, profile);
            }

            if (alloc > 0)
            {
                // Managed bytes allocated over N more warm runs: by the calling thread, and by the whole process.
                long thread0 = GC.GetAllocatedBytesForCurrentThread(), all0 = GC.GetTotalAllocatedBytes(precise: true);
                for (int r = 0; r < alloc; r++)
                {
                    w.Step();
                }

                long thread = GC.GetAllocatedBytesForCurrentThread() - thread0, all = GC.GetTotalAllocatedBytes(precise: true) - all0;
                Console.WriteLine(string.Format(inv, "alloc side=engine workload={0} runs={1} thread_bytes={2} process_bytes={3}", name, alloc, thread, all));
            }
        }

        return 0;
    }

    /// <summary>
    /// mnist_epoch and/or mnist_rss: one epoch, timed once, in a process that ran nothing else (so that its peak
    /// resident memory is the epoch's).
    /// </summary>
    private static int RunEpoch(Device dev, List<string> names, string dataDir)
    {
        var inv = CultureInfo.InvariantCulture;
        if (names.Any(n => !PeerWorkloads.EpochNames.Contains(n)))
        {
            Console.Error.WriteLine($"{string.Join(" and ", PeerWorkloads.EpochNames)} run in a process of their own (their peak memory must be the epoch's); got: {string.Join(" ", names)}");
            return 2;
        }

        if (MnistEpoch.Missing(dataDir) is { } why)
        {
            foreach (var name in names)
            {
                Console.WriteLine($"unavailable side=engine workload={name} reason={why}");
            }

            return 0;
        }

        // Resident memory before the epoch: the runtime and the opened device (PyTorch's: the interpreter and torch).
        long before = MnistEpoch.RssBytes();
        var proc = Process.GetCurrentProcess();
        var cpu0 = proc.TotalProcessorTime;
        var r = MnistEpoch.Run(dev, dataDir);
        proc.Refresh();
        double ms = r.Seconds * 1e3, cpuMs = (proc.TotalProcessorTime - cpu0).TotalMilliseconds;
        long rss = MnistEpoch.PeakRssBytes();
        Console.WriteLine(string.Format(inv, "info side=engine workload=mnist_epoch params={0} steps={1} train_loss={2:F4}", r.Parameters, r.Steps, r.TrainLoss));
        foreach (var name in names.Distinct())
        {
            Console.WriteLine(name == "mnist_epoch"
                ? string.Format(inv, "result side=engine workload=mnist_epoch median_ms={0:F1} min_ms={0:F1} reps=1 flops=0 gflops=0 cpu_ms={1:F1} thread_cpu_min_ms=0", ms, cpuMs)
                : string.Format(inv, "rss side=engine workload=mnist_rss peak_bytes={0} before_epoch_bytes={1}", rss, before));
        }

        return 0;
    }

    /// <summary>
    /// Warms up (at least 5 runs and 2 s, so that tiered JIT compilation has replaced every hot method with its
    /// optimized code; at most 20 s once 3 runs are done), then runs for about <paramref name="seconds"/> (3 to 1000 runs).
    /// </summary>
    private static List<double> Time(IPeerWorkload w, double seconds, out double warmCpuMs)
    {
        var proc = Process.GetCurrentProcess();
        var cpu0 = proc.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        int warm = 0;
        while (warm < 3 || ((warm < 5 || sw.Elapsed.TotalSeconds < 2) && sw.Elapsed.TotalSeconds < 20))
        {
            w.Step();
            warm++;
        }

        proc.Refresh();
        warmCpuMs = (proc.TotalProcessorTime - cpu0).TotalMilliseconds;
        double each = sw.Elapsed.TotalSeconds / warm;
        int reps = (int)Math.Clamp(seconds / each, 3, 1000);
        var times = new List<double>(reps);
        ThreadCpuMinMs = double.MaxValue;
        for (int r = 0; r < reps; r++)
        {
            double c0 = ThreadCpuMs();
            long t0 = Stopwatch.GetTimestamp();
            w.Step();
            times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            ThreadCpuMinMs = Math.Min(ThreadCpuMinMs, ThreadCpuMs() - c0);
        }

        return times;
    }

    /// <summary>Least CPU time of the calling thread over the timed runs (with --serial: the whole GEMM).</summary>
    private static double ThreadCpuMinMs;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec ts);

    /// <summary>CPU time of the whole process (every thread), in ms.</summary>
    internal static double ProcessCpuMs()
    {
        if (!OperatingSystem.IsLinux() || ClockGetTime(2 /* CLOCK_PROCESS_CPUTIME_ID */, out var ts) != 0)
        {
            return 0;
        }

        return (ts.Seconds * 1e3) + (ts.Nanoseconds / 1e6);
    }

    private static double ThreadCpuMs()
    {
        if (!OperatingSystem.IsLinux() || ClockGetTime(3 /* CLOCK_THREAD_CPUTIME_ID */, out var ts) != 0)
        {
            return 0;
        }

        return (ts.Seconds * 1e3) + (ts.Nanoseconds / 1e6);
    }

    private static double Median(List<double> xs)
    {
        var s = xs.OrderBy(x => x).ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[(s.Count / 2) - 1] + s[s.Count / 2]) / 2;
    }
}
