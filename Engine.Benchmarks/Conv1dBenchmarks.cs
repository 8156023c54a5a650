// conv1d forward and backward on temporal-conv-net layers, in GFLOP/s of the forward, beside the conv2d layer of the same
// work (N, Cin, 1, L): conv1d runs conv2d's implementations with H = 1, so the two should run at the same rate.
using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Attributes;
using Engine.Ops;

namespace Engine.Benchmarks;

public class Conv1dBenchmarks : IWorkPerInvocation
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
    private Conv1dOptions options = null!;
    private Conv2dOptions options2d = null!;
    private Tensor x4 = null!;
    private Tensor w4 = null!;
    private Tensor y4 = null!;

    [ParamsSource(nameof(Devices))]
    public string DeviceName { get; set; } = "cpu";

    /// <summary>N x Cin x L -> Cout, kernel K, dilation d.</summary>
    [Params("32x64x256-64-3-1", "32x64x256-64-3-4", "16x128x1000-128-5-1")]
    public string Layer { get; set; } = "32x64x256-64-3-1";

    public static IEnumerable<string> Devices() => BenchDevices.Names().Where(n => n != "cpu-kernels");

    /// <summary>Forward FLOPs with "same" padding (Lo = L), from <see cref="Layer"/> alone (the throughput column sets only the parameters).</summary>
    public double Work
    {
        get
        {
            var parts = Layer.Split('-');
            var d = parts[0].Split('x').Select(double.Parse).ToArray();
            return 2.0 * d[0] * double.Parse(parts[1]) * d[2] * d[1] * double.Parse(parts[2]);
        }
    }

    public string Unit => "GFLOP/s";

    [GlobalSetup]
    public void Setup()
    {
        dev = BenchDevices.Get(DeviceName);
        var parts = Layer.Split('-');
        var d = parts[0].Split('x').Select(int.Parse).ToArray();
        int cout = int.Parse(parts[1]), k = int.Parse(parts[2]), dil = int.Parse(parts[3]);
        options = new Conv1dOptions { SamePadding = true, Dilation = dil };
        options2d = new Conv2dOptions { Padding = ConvPadding.Same, Dilation = (1, dil) };
        var xs = new Shape(d);
        var wsh = new Shape(cout, d[1], k);
        var geo = Conv1dOp.Describe(xs, wsh, options);
        var r = new System.Random(1);
        float[] Rand(long n) => Enumerable.Range(0, (int)n).Select(_ => (float)r.NextDouble() - 0.5f).ToArray();
        x = Tensor.FromHost(dev, Rand(xs.Length), xs);
        w = Tensor.FromHost(dev, Rand(wsh.Length), wsh);
        b = Tensor.FromHost(dev, Rand(cout), new Shape(cout));
        y = Tensor.Zeros(dev, geo.OutputShape);
        dx = Tensor.Zeros(dev, xs);
        dw = Tensor.Zeros(dev, wsh);
        db = Tensor.Zeros(dev, b.Shape);
        x4 = x.Reshape(new Shape(d[0], d[1], 1, d[2]));
        w4 = w.Reshape(new Shape(cout, d[1], 1, k));
        y4 = y.Reshape(new Shape(d[0], cout, 1, geo.OutW));
        ws = geo.WorkspaceElements() > 0 ? Tensor.Empty(dev, new Shape((int)geo.WorkspaceElements())) : null;
    }

    [Benchmark]
    public void Forward()
    {
        Conv1dOp.Forward(x, w, b, y, options, ws);
        dev.Synchronize();
    }

    [Benchmark]
    public void Backward()
    {
        Conv1dOp.Backward(x, w, y, dx, dw, db, options, ws);
        dev.Synchronize();
    }

    /// <summary>The same work as a conv2d of height 1 (the reference rate).</summary>
    [Benchmark]
    public void ForwardAsConv2d()
    {
        Conv2dOp.Forward(x4, w4, b, y4, options2d, ws);
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
