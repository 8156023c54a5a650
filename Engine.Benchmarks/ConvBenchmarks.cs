// conv2d forward and backward on typical CNN layers, with a planned (caller-owned) workspace, in GFLOP/s of the forward.
using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Attributes;
using Engine.Ops;

namespace Engine.Benchmarks;

public class ConvBenchmarks : IWorkPerInvocation
{
    private Device dev = null!;
    private Tensor x = null!;
    private Tensor w = null!;
    private Tensor b = null!;
    private Tensor y = null!;
    private Tensor dx = null!;
    private Tensor dw = null!;
    private Tensor db = null!;
    private Tensor? ws;
    private Conv2dOptions options = null!;

    [ParamsSource(nameof(Devices))]
    public string DeviceName { get; set; } = "cpu";

    /// <summary>N x Cin x H x W -> Cout, kernel, groups.</summary>
    [Params("64x1x28x28-32-5x5", "32x32x28x28-64-3x3", "32x64x28x28-64-3x3-dw", "32x64x28x28-64-1x1")]
    public string Layer { get; set; } = "32x32x28x28-64-3x3";

    public static IEnumerable<string> Devices() => BenchDevices.Names().Where(n => n != "cpu-kernels");

    public double Work { get; private set; }

    public string Unit => "GFLOP/s";

    [GlobalSetup]
    public void Setup()
    {
        dev = BenchDevices.Get(DeviceName);
        var parts = Layer.Split('-');
        var d = parts[0].Split('x').Select(int.Parse).ToArray();
        int cout = int.Parse(parts[1]);
        int k = int.Parse(parts[2].Split('x')[0]);
        int groups = parts.Length > 3 ? d[1] : 1;
        options = new Conv2dOptions { Padding = ConvPadding.Same, Groups = groups };
        var xs = new Shape(d);
        var wsh = new Shape(cout, d[1] / groups, k, k);
        var geo = Conv2dOp.Describe(xs, wsh, options);
        var r = new System.Random(1);
        float[] Rand(long n) => Enumerable.Range(0, (int)n).Select(_ => (float)r.NextDouble() - 0.5f).ToArray();
        x = Tensor.FromHost(dev, Rand(xs.Length), xs);
        w = Tensor.FromHost(dev, Rand(wsh.Length), wsh);
        b = Tensor.FromHost(dev, Rand(cout), new Shape(cout));
        y = Tensor.Zeros(dev, geo.OutputShape);
        dx = Tensor.Zeros(dev, xs);
        dw = Tensor.Zeros(dev, wsh);
        db = Tensor.Zeros(dev, b.Shape);
        ws = geo.WorkspaceElements() > 0 ? Tensor.Empty(dev, new Shape((int)geo.WorkspaceElements())) : null;
        Work = 2.0 * geo.OutputShape.Length * (d[1] / groups) * k * k;
    }

    [Benchmark]
    public void Forward()
    {
        Conv2dOp.Forward(x, w, b, y, options, ws);
        dev.Synchronize();
    }

    [Benchmark]
    public void Backward()
    {
        Conv2dOp.Backward(x, w, y, dx, dw, db, options, ws);
        dev.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { x, w, b, y, dx, dw, db, ws })
        {
            t?.Dispose();
        }
    }
}
