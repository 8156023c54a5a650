// Float32 GEMM benchmarks: square sizes from 128 to 2048 on each device, and training-step shapes on the host path.
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
        Ops.GemmOp.Run(a, b, c);
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
        Ops.GemmOp.Run(a, a, c, variant: Variant);
        dev.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        a?.Dispose();
        c?.Dispose();
    }
}

/// <summary>
/// The host GEMM on the shapes a training step makes (MLP 784-512-256-10 at batch 128, im2col of a 3x3 conv on
/// 28x28 and 14x14 maps), in GFLOP/s: skinny and small shapes where packing and threading overheads show.
/// </summary>
public class GemmShapeBenchmarks : IWorkPerInvocation
{
    private Device dev = null!;
    private Tensor a = null!;
    private Tensor b = null!;
    private Tensor c = null!;
    private int m;
    private int n;
    private int k;
    private bool ta;
    private bool tb;

    /// <summary>M x N x K, then op flags: N (as stored) or T (transposed) for A and B.</summary>
    [Params("64x10x128:NN", "128x512x784:NT", "128x784x512:NN", "512x784x128:TN", "128x10x256:NT", "32x50176x9:NN", "64x12544x288:NN")]
    public string Shape { get; set; } = "128x512x784:NT";

    public double Work
    {
        get
        {
            Parse();
            return 2.0 * m * n * k;
        }
    }

    public string Unit => "GFLOP/s";

    [GlobalSetup]
    public void Setup()
    {
        Parse();
        dev = BenchDevices.Get("cpu");
        var r = new System.Random(1);
        float[] Fill(int len) => Enumerable.Range(0, len).Select(_ => (float)r.NextDouble()).ToArray();
        a = Tensor.FromHost(dev, Fill(m * k), ta ? new Shape(k, m) : new Shape(m, k));
        b = Tensor.FromHost(dev, Fill(k * n), tb ? new Shape(n, k) : new Shape(k, n));
        c = Tensor.Zeros(dev, new Shape(m, n));
    }

    [Benchmark]
    public void Gemm()
    {
        Ops.GemmOp.Run(a, b, c, ta, tb);
        dev.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        a?.Dispose();
        b?.Dispose();
        c?.Dispose();
    }

    private void Parse()
    {
        var parts = Shape.Split(':');
        var d = parts[0].Split('x').Select(int.Parse).ToArray();
        (m, n, k) = (d[0], d[1], d[2]);
        ta = parts[1][0] == 'T';
        tb = parts[1][1] == 'T';
    }
}
