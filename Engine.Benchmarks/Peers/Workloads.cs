// The workloads `./build.sh bench-peers` times on the engine; PyTorch runs the same ones (scripts/bench_peers.py).
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Ops;

namespace Engine.Benchmarks.Peers;

/// <summary>One timed unit of work (a GEMM, a training step) prepared on a device.</summary>
public interface IPeerWorkload : IDisposable
{
    /// <summary>Floating-point operations per <see cref="Step"/> (multiply-add = 2), for GFLOP/s.</summary>
    double Flops { get; }

    /// <summary>Runs the work once and waits for the device.</summary>
    void Step();

    /// <summary>Trainable parameters of the workload's model, or 0 for a workload without one (a GEMM).</summary>
    long Parameters => 0;
}

/// <summary>The workload catalogue: names shared with the PyTorch peer script, and how to build each.</summary>
public static class PeerWorkloads
{
    /// <summary>Name, then a factory or the reason it cannot run yet.</summary>
    private static readonly (string Name, Func<Device, IPeerWorkload>? Create, string? Missing)[] Catalogue =
    [
        ("gemm256", d => new SquareGemm(d, 256), null),
        ("gemm512", d => new SquareGemm(d, 512), null),
        ("gemm1024", d => new SquareGemm(d, 1024), null),
        ("gemm2048", d => new SquareGemm(d, 2048), null),

        // MLP 784-512-256-10, batch 128, cross-entropy, SGD: one full training step (forward, backward, update).
        ("mlp_step", TrainingStepWorkload.Mlp, null),

        // conv(1->32,3x3,p1)-ReLU-maxpool2-conv(32->64,3x3,p1)-ReLU-maxpool2-dense(3136->128)-ReLU-dense(128->10),
        // batch 64, cross-entropy, Adam: one full training step.
        ("cnn_step", d => TrainingStepWorkload.Cnn(d, 64), null),

        // The same CNN step at batch 256.
        ("cnn_b256", d => TrainingStepWorkload.Cnn(d, 256), null),

        // CIFAR-style ResNet (stem, 3 stages x 2 basic blocks, 16/32/64 channels, batch norm, global average pooling)
        // on [64, 3, 32, 32], cross-entropy, SGD momentum 0.9: one full training step.
        ("resnet_step", d => TrainingStepWorkload.ResNet(d, 64), null),

        // The CNN's forward pass on one image, inference plan (evaluation mode, no backward): latency per image.
        ("infer_b1", d => new InferenceWorkload(d, PeerModels.Cnn(), [1, 1, 28, 28], PeerModels.CnnForwardFlops(1)), null),
    ];

    /// <summary>
    /// Workloads timed once per process (<see cref="MnistEpoch"/>): one epoch over the real digits, and the peak
    /// resident memory of the process that ran it. They run in a process of their own.
    /// </summary>
    public static IReadOnlyList<string> EpochNames { get; } = ["mnist_epoch", "mnist_rss"];

    /// <summary>Every workload name, in report order.</summary>
    public static IReadOnlyList<string> Names => Catalogue.Select(c => c.Name).Concat(EpochNames).ToList();

    /// <summary>Builds <paramref name="name"/>, or returns null with the reason it is unavailable.</summary>
    public static IPeerWorkload? Create(string name, Device device, out string? missing)
    {
        if (ConvWorkload.TryCreate(name, device) is { } conv)
        {
            missing = null;
            return conv;
        }

        if (TryParseShape(name, out int m, out int n, out int k, out bool ta, out bool tb))
        {
            missing = null;
            return new ShapedGemm(device, m, n, k, ta, tb);
        }

        foreach (var (entry, create, why) in Catalogue)
        {
            if (entry == name)
            {
                missing = why;
                return create?.Invoke(device);
            }
        }

        throw new ArgumentException($"unknown workload '{name}'; known: {string.Join(", ", Names)}", nameof(name));
    }

    /// <summary>Ad hoc shapes for tuning: <c>gemm_MxNxK</c>, optionally suffixed <c>_nt</c>, <c>_tn</c> or <c>_tt</c> (op(A), op(B)).</summary>
    private static bool TryParseShape(string name, out int m, out int n, out int k, out bool ta, out bool tb)
    {
        m = n = k = 0;
        ta = tb = false;
        var parts = name.Split('_');
        if (parts.Length is < 2 or > 3 || parts[0] != "gemm")
        {
            return false;
        }

        var dims = parts[1].Split('x');
        if (dims.Length != 3 || !int.TryParse(dims[0], out m) || !int.TryParse(dims[1], out n) || !int.TryParse(dims[2], out k))
        {
            return false;
        }

        if (parts.Length == 3)
        {
            ta = parts[2][0] == 't';
            tb = parts[2][1] == 't';
        }

        return true;
    }

    /// <summary>C (M x N) = op(A) * op(B) with op(A) M x K and op(B) K x N.</summary>
    private sealed class ShapedGemm : IPeerWorkload
    {
        private readonly Device dev;
        private readonly Tensor a;
        private readonly Tensor b;
        private readonly Tensor c;
        private readonly bool ta;
        private readonly bool tb;

        public ShapedGemm(Device device, int m, int n, int k, bool transA, bool transB)
        {
            dev = device;
            ta = transA;
            tb = transB;
            var r = new Random(1);
            float[] Fill(int len) => Enumerable.Range(0, len).Select(_ => (float)r.NextDouble()).ToArray();
            a = Tensor.FromHost(dev, Fill(m * k), ta ? new Shape(k, m) : new Shape(m, k));
            b = Tensor.FromHost(dev, Fill(k * n), tb ? new Shape(n, k) : new Shape(k, n));
            c = Tensor.Zeros(dev, new Shape(m, n));
            Flops = 2.0 * m * n * k;
        }

        public double Flops { get; }

        public void Step()
        {
            GemmOp.Run(a, b, c, ta, tb);
            dev.Synchronize();
        }

        public void Dispose()
        {
            a.Dispose();
            b.Dispose();
            c.Dispose();
        }
    }

    /// <summary>C = A * B on n x n float32 matrices of uniform [0, 1) values, through the public op.</summary>
    private sealed class SquareGemm : IPeerWorkload
    {
        private readonly Device dev;
        private readonly Tensor a;
        private readonly Tensor b;
        private readonly Tensor c;

        public SquareGemm(Device device, int n)
        {
            dev = device;
            var r = new Random(1);
            var ha = new float[n * n];
            var hb = new float[n * n];
            for (int i = 0; i < ha.Length; i++)
            {
                ha[i] = (float)r.NextDouble();
                hb[i] = (float)r.NextDouble();
            }

            a = Tensor.FromHost(dev, ha, new Shape(n, n));
            b = Tensor.FromHost(dev, hb, new Shape(n, n));
            c = Tensor.Zeros(dev, new Shape(n, n));
            Flops = 2.0 * n * n * n;
        }

        public double Flops { get; }

        public void Step()
        {
            GemmOp.Run(a, b, c);
            dev.Synchronize();
        }

        public void Dispose()
        {
            a.Dispose();
            b.Dispose();
            c.Dispose();
        }
    }
}

/// <summary>
/// One convolution call for tuning: <c>conv_NxCxHxW_CoutxK_pP[sS][_bwd|_dw][@variant]</c> (square kernel K, padding P,
/// stride S, 1 when left out; <c>_bwd</c>: dx, dw and db; <c>_dw</c>: dw and db only, as for a first layer).
/// </summary>
internal sealed class ConvWorkload : IPeerWorkload
{
    private readonly Device dev;
    private readonly Tensor x, w, b, y, ws;
    private readonly Tensor? dx;
    private readonly Tensor dw, db;
    private readonly Conv2dOptions options;
    private readonly bool backward;
    private readonly string? variant;

    private ConvWorkload(Device device, int[] d, int pad, int stride, string mode, string? variant)
    {
        dev = device;
        this.variant = variant;
        backward = mode != "fwd";
        options = new Conv2dOptions { Padding = ConvPadding.Symmetric(pad, pad), Stride = (stride, stride) };
        var r = new Random(1);
        float[] Fill(int len) => Enumerable.Range(0, len).Select(_ => (float)r.NextDouble() - 0.5f).ToArray();
        x = Tensor.FromHost(dev, Fill(d[0] * d[1] * d[2] * d[3]), new Shape(d[0], d[1], d[2], d[3]));
        w = Tensor.FromHost(dev, Fill(d[4] * d[1] * d[5] * d[5]), new Shape(d[4], d[1], d[5], d[5]));
        b = Tensor.FromHost(dev, Fill(d[4]), new Shape(d[4]));
        var geo = Conv2dOp.Describe(x.Shape, w.Shape, options);
        y = Tensor.FromHost(dev, Fill((int)geo.OutputShape.Length), geo.OutputShape);
        ws = Tensor.Empty(dev, new Shape((int)Math.Max(1, geo.WorkspaceElements())));
        dx = mode == "bwd" ? Tensor.Empty(dev, x.Shape) : null;
        dw = Tensor.Empty(dev, w.Shape);
        db = Tensor.Empty(dev, b.Shape);
        Flops = 2.0 * geo.OutputShape.Length * d[1] * d[5] * d[5] * (mode == "bwd" ? 2 : 1);
    }

    public double Flops { get; }

    public static ConvWorkload? TryCreate(string name, Device device)
    {
        string? variant = null;
        int at = name.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            variant = name[(at + 1)..];
            name = name[..at];
        }

        var parts = name.Split('_');
        if (parts.Length is < 4 or > 5 || parts[0] != "conv" || parts[3][0] != 'p')
        {
            return null;
        }

        var d = parts[1].Split('x').Concat(parts[2].Split('x')).Select(int.Parse).ToArray();
        var ps = parts[3][1..].Split('s');
        int stride = ps.Length > 1 ? int.Parse(ps[1]) : 1;
        return new ConvWorkload(device, d, int.Parse(ps[0]), stride, parts.Length == 5 ? parts[4] : "fwd", variant);
    }

    public void Step()
    {
        if (backward)
        {
            Conv2dOp.Backward(x, w, y, dx, dw, db, options, ws, variant: variant);
        }
        else
        {
            Conv2dOp.Forward(x, w, b, y, options, ws, variant);
        }

        dev.Synchronize();
    }

    public void Dispose()
    {
        foreach (var t in new[] { x, w, b, y, ws, dx, dw, db })
        {
            t?.Dispose();
        }
    }
}
