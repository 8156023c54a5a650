// The soak (`./build.sh soak [STEPS] [kernels]`): one long training run on the CPU device (its host path, or with `kernels`
// its kernel path, the ILGPU simulator: about a step a second), sampling resident
// memory, the managed heap, the caching allocator's bytes and the kernel cache's size; the slopes over the second half
// (after warm-up) say whether anything grows with the step count.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Engine.Training;

namespace Engine.Reliability.Runs;

/// <summary>One sample of the soak.</summary>
internal readonly record struct SoakSample(long Step, long ResidentBytes, long ManagedBytes, long AllocatorReserved, long AllocatorInUse, int Kernels);

/// <summary>The samples and the per-1000-step slopes over the second half.</summary>
internal sealed record SoakResult(IReadOnlyList<SoakSample> Samples, double ResidentSlope, double ManagedSlope, double ReservedSlope, int KernelGrowth)
{
    /// <summary>Allocator bytes and kernel count unchanged over the second half, managed heap under 4 KiB and resident memory under 64 KiB per 1000 steps.</summary>
    public bool Flat => ReservedSlope == 0 && KernelGrowth == 0 && ManagedSlope < 4096 && ResidentSlope < 65536;
}

/// <summary>The soak run.</summary>
internal static class Soak
{
    /// <summary>Trains <paramref name="steps"/> steps, printing a line per sample and the slopes to <paramref name="log"/>.</summary>
    public static SoakResult Run(int steps, TextWriter log, bool kernels = false, int samples = 20)
    {
        const int batch = 4, perEpoch = 120;
        int epochs = Math.Max(1, (steps + perEpoch - 1) / perEpoch);
        using var run = new TinyRun(epochs, null, batchSize: batch, kernels: kernels);
        var list = new List<SoakSample>();
        long every = Math.Max(1, (long)epochs * perEpoch / samples);
        var clock = Stopwatch.StartNew();
        var progress = new Sampler(p =>
        {
            if (p.Phase == TrainingPhase.Training && p.Step % every == 0)
            {
                using var self = Process.GetCurrentProcess();
                var stats = run.Device.Allocator.Stats;
                var s = new SoakSample(p.Step, self.WorkingSet64, GC.GetTotalMemory(forceFullCollection: true), stats.BytesReserved, stats.BytesInUse, run.Device.Kernels.Count);
                list.Add(s);
                log.WriteLine($"step {s.Step,7}: resident {s.ResidentBytes / 1024,8} KiB, managed {s.ManagedBytes / 1024,7} KiB, allocator {s.AllocatorReserved,9} B reserved / {s.AllocatorInUse,9} B in use, kernels {s.Kernels,3}  ({clock.Elapsed.TotalSeconds:F0} s)");
            }
        });
        run.Trainer.Fit(TinyRun.Blobs(perEpoch * batch), null, progress);
        var half = list.Skip(list.Count / 2).ToList();
        var result = new SoakResult(list, Slope(half, s => s.ResidentBytes), Slope(half, s => s.ManagedBytes), Slope(half, s => s.AllocatorReserved),
            half.Count == 0 ? 0 : half[^1].Kernels - half[0].Kernels);
        log.WriteLine($"soak: {run.Trainer.StepCount} steps in {clock.Elapsed.TotalSeconds:F0} s; slopes over the second half, per 1000 steps: resident {result.ResidentSlope:F0} B, " +
            $"managed {result.ManagedSlope:F0} B, allocator reserved {result.ReservedSlope:F0} B; kernel cache grew by {result.KernelGrowth}; {(result.Flat ? "flat" : "NOT FLAT")}");
        return result;
    }

    /// <summary>Least-squares slope of <paramref name="value"/> against the step, in bytes per 1000 steps.</summary>
    private static double Slope(List<SoakSample> samples, Func<SoakSample, long> value)
    {
        if (samples.Count < 2)
        {
            return 0;
        }

        double mx = samples.Average(s => (double)s.Step), my = samples.Average(s => (double)value(s));
        double num = samples.Sum(s => (s.Step - mx) * (value(s) - my)), den = samples.Sum(s => (s.Step - mx) * (s.Step - mx));
        return den == 0 ? 0 : num / den * 1000;
    }

    private sealed class Sampler(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
