// Square float32 GEMM from 128 to 2048 on each device, in GFLOP/s (the device is synchronized before returning).
using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Attributes;
using Engine.Ops;

namespace Engine.Benchmarks;

public class GemmBenchmarks : IWorkPerInvocation
{
    private Device dev = null!;
    private Tensor a = null!;
    private Tensor b = null!;
    private Tensor c = null!;

    [ParamsSource(nameof(Devices))]
    public string DeviceName { get; set; } = "cpu";

    [Params(128, 256, 512, 1024, 2048)]
    public int Size { get; set; }

    public static IEnumerable<string> Devices() => BenchDevices.Names().Where(n => n != "cpu-kernels");

    public double Work => 2.0 * Size * Size * Size;

    public string Unit => "GFLOP/s";

    [GlobalSetup]
    public void Setup()
    {
        dev = BenchDevices.Get(DeviceName);
        var r = new System.Random(1);
        var data = Enumerable.Range(0, Size * Size).Select(_ => (float)r.NextDouble()).ToArray();
        a = Tensor.FromHost(dev, data, new Shape(Size, Size));
        b = Tensor.FromHost(dev, data, new Shape(Size, Size));
        c = Tensor.Zeros(dev, new Shape(Size, Size));
    }

    [Benchmark]
    public void Gemm()
    {
        Ops.Gemm.Run(a, b, c);
        dev.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        a?.Dispose();
        b?.Dispose();
        c?.Dispose();
    }
}

/// <summary>The ILGPU kernels on ILGPU's CPU accelerator, a simulator (~1M threads/s): small sizes only.</summary>
public class GemmSimulatorBenchmarks : IWorkPerInvocation
{
    private Device dev = null!;
    private Tensor a = null!;
    private Tensor c = null!;

    [Params("kernel.reference", "kernel.tiled")]
    public string Variant { get; set; } = "kernel.tiled";

    [Params(64, 128)]
    public int Size { get; set; }

    public double Work => 2.0 * Size * Size * Size;

    public string Unit => "GFLOP/s";

    [GlobalSetup]
    public void Setup()
    {
        dev = BenchDevices.Get("cpu-kernels");
        a = Tensor.Zeros(dev, new Shape(Size, Size));
        c = Tensor.Zeros(dev, new Shape(Size, Size));
    }

    [Benchmark]
    public void Gemm()
    {
        Ops.Gemm.Run(a, a, c, variant: Variant);
        dev.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        a?.Dispose();
        c?.Dispose();
    }
}
