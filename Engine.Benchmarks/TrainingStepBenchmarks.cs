// The bench-peers training steps (mlp_step, cnn_step) under BenchmarkDotNet, so its memory diagnoser shows what one
// warm step allocates: the engine promises no managed allocation inside a training step.
using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Attributes;
using Engine.Benchmarks.Peers;

namespace Engine.Benchmarks;

[MemoryDiagnoser]
public class TrainingStepBenchmarks : IWorkPerInvocation
{
    private IPeerWorkload step = null!;

    [ParamsSource(nameof(Devices))]
    public string DeviceName { get; set; } = "cpu";

    /// <summary>A training-step workload of bench-peers.</summary>
    [Params("mlp_step", "cnn_step")]
    public string Workload { get; set; } = "mlp_step";

    public static IEnumerable<string> Devices() => BenchDevices.Names().Where(n => n != "cpu-kernels");

    public double Work => Workload == "mlp_step"
        ? 3 * 2.0 * 128 * ((784 * 512) + (512 * 256) + (256 * 10))
        : 3 * 2.0 * 64 * ((28 * 28 * 32 * 9) + (14 * 14 * 64 * 32 * 9) + (3136 * 128) + (128 * 10));

    public string Unit => "GFLOP/s";

    [GlobalSetup]
    public void Setup()
    {
        step = PeerWorkloads.Create(Workload, BenchDevices.Get(DeviceName), out string? missing)
            ?? throw new System.InvalidOperationException($"{Workload}: {missing}");
        // Warm up like bench-peers (at least 30 steps and 2 s), so that tiered JIT compilation has finished
        // replacing the hot methods before BenchmarkDotNet counts allocations (the JIT itself allocates).
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 30 || sw.Elapsed.TotalSeconds < 2; i++)
        {
            step.Step();
        }
    }

    /// <summary>Forward, backward and optimizer update, then waits for the device.</summary>
    [Benchmark]
    public void Step() => step.Step();

    [GlobalCleanup]
    public void Cleanup() => step.Dispose();
}
