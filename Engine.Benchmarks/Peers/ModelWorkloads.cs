// Whole training steps for `./build.sh bench-peers`: the MLP and CNN of scripts/bench_peers.py, compiled models
// with their loss and optimizer (forward, backward, update).
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using Engine.Nn;
using Engine.Optim;

namespace Engine.Benchmarks.Peers;

/// <summary>One training step of a compiled model on fixed random data; FLOPs as the peer script counts them (3x the forward multiply-adds).</summary>
internal sealed class TrainingStepWorkload : IPeerWorkload
{
    private readonly Device device;
    private readonly Module model;
    private readonly CompiledModel net;
    private readonly Optimizer optimizer;

    private TrainingStepWorkload(Device device, Module model, Shape input, int classes, Func<ParameterSet, Optimizer> optimizer, double forwardFlops)
    {
        this.device = device;
        this.model = model;
        net = model.Compile(device, input, Loss.CrossEntropy());
        this.optimizer = optimizer(net.Parameters);
        var r = new Random(1);
        net.Input.CopyFrom(Enumerable.Range(0, (int)input.Length).Select(_ => (float)r.NextDouble()).ToArray());
        net.Target!.CopyFrom(Enumerable.Range(0, input[0]).Select(_ => (float)r.Next(classes)).ToArray());
        Flops = 3 * forwardFlops;
    }

    public double Flops { get; }

    /// <summary>Trainable parameters of the model (printed so that the report can compare them with PyTorch's).</summary>
    public long Parameters => model.ParameterCount();

    /// <summary>MLP 784-512-256-10, batch 128, cross-entropy, SGD (lr 0.01).</summary>
    public static IPeerWorkload Mlp(Device device) => new TrainingStepWorkload(
        device, PeerModels.Mlp(), [128, 784], 10, ps => new Sgd(ps, new SgdOptions { LR = 0.01 }), PeerModels.MlpForwardFlops(128));

    /// <summary>The conv net of issue 7 (the main job's CNN) at <paramref name="batch"/>, cross-entropy, Adam (lr 1e-3).</summary>
    public static IPeerWorkload Cnn(Device device, int batch) => new TrainingStepWorkload(
        device, PeerModels.Cnn(), [batch, 1, 28, 28], 10, ps => new Adam(ps, new AdamOptions { LR = 1e-3 }), PeerModels.CnnForwardFlops(batch));

    /// <summary>The CIFAR-style ResNet of <see cref="PeerModels.ResNet"/> at <paramref name="batch"/>, cross-entropy, SGD (lr 0.1, momentum 0.9).</summary>
    public static IPeerWorkload ResNet(Device device, int batch) => new TrainingStepWorkload(
        device, PeerModels.ResNet(), [batch, 3, 32, 32], 10, ps => new Sgd(ps, new SgdOptions { LR = 0.1, Momentum = 0.9 }), PeerModels.ResNetForwardFlops(batch));

    /// <summary>The loss of the last forward pass (for tests).</summary>
    internal float LastLoss()
    {
        var l = new float[1];
        net.Loss!.CopyTo(l);
        return l[0];
    }

    public void Step()
    {
        net.Forward();
        net.Backward();
        optimizer.Step();
        device.Synchronize();
    }

    /// <summary>Runs <paramref name="steps"/> steps with every node timed; prints one line per node (median ms).</summary>
    public void Profile(string name, int steps)
    {
        var prof = new NodeTimes(device);
        var opt = new List<double>();
        net.Profiler = prof;
        try
        {
            for (int i = 0; i < steps; i++)
            {
                net.Forward();
                net.Backward();
                long t0 = Stopwatch.GetTimestamp();
                optimizer.Step();
                device.Synchronize();
                opt.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }
        }
        finally
        {
            net.Profiler = null;
        }

        double total = prof.Print(name);
        double o = NodeTimes.Median(opt);
        Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "profile workload={0} node=optimizer ms={1:F4}", name, o));
        Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "profile workload={0} node=total ms={1:F4}", name, total + o));
    }

    public void Dispose()
    {
        optimizer.Dispose();
        net.Dispose();
        model.Dispose();
    }
}

/// <summary>Collects per-node wall times (the device is synchronized around each node).</summary>
internal sealed class NodeTimes(Device device) : CompiledModel.INodeProfiler
{
    public Dictionary<string, List<double>> Times { get; } = new();

    public Dictionary<string, List<double>> Cpu { get; } = new();

    private double cpu0;

    public static double Median(List<double> xs)
    {
        var s = xs.OrderBy(x => x).ToList();
        return s[s.Count / 2];
    }

    /// <summary>Prints one line per node (median, min and CPU ms); returns the sum of the medians.</summary>
    public double Print(string name)
    {
        double total = 0;
        foreach (var (key, times) in Times)
        {
            double med = Median(times);
            total += med;
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "profile workload={0} node={1} ms={2:F4} min_ms={3:F4} cpu_ms={4:F4}", name, key, med, times.Min(), Median(Cpu[key])));
        }

        return total;
    }

    public long Begin()
    {
        device.Synchronize();
        cpu0 = PeersMode.ProcessCpuMs();
        return Stopwatch.GetTimestamp();
    }

    public void End(string node, Layer layer, bool backward, long begin)
    {
        device.Synchronize();
        double ms = Stopwatch.GetElapsedTime(begin).TotalMilliseconds;
        double cpu = PeersMode.ProcessCpuMs() - cpu0;
        string key = (backward ? "bwd:" : "fwd:") + node + ":" + layer.Describe().Replace(' ', '_');
        if (!Times.TryGetValue(key, out var list))
        {
            Times[key] = list = new List<double>();
            Cpu[key] = new List<double>();
        }

        list.Add(ms);
        Cpu[key].Add(cpu);
    }
}

/// <summary>The forward pass of a model compiled as an inference plan (evaluation mode, no loss, no backward) on fixed random data.</summary>
internal sealed class InferenceWorkload : IPeerWorkload
{
    private readonly Device device;
    private readonly Module model;
    private readonly CompiledModel net;

    public InferenceWorkload(Device device, Module model, Shape input, double forwardFlops)
    {
        this.device = device;
        this.model = model;
        net = model.Compile(device, input, null, new CompileOptions { Training = false });
        var r = new Random(1);
        net.Input.CopyFrom(Enumerable.Range(0, (int)input.Length).Select(_ => (float)r.NextDouble()).ToArray());
        Flops = forwardFlops;
    }

    public double Flops { get; }

    public long Parameters => model.ParameterCount();

    /// <summary>The model's output (for tests).</summary>
    internal Tensor Output => net.Output;

    public void Step()
    {
        net.Forward();
        device.Synchronize();
    }

    /// <summary>Runs <paramref name="steps"/> forward passes with every node timed; prints one line per node (median ms).</summary>
    public void Profile(string name, int steps)
    {
        var prof = new NodeTimes(device);
        net.Profiler = prof;
        try
        {
            for (int i = 0; i < steps; i++)
            {
                net.Forward();
                device.Synchronize();
            }
        }
        finally
        {
            net.Profiler = null;
        }

        prof.Print(name);
    }

    public void Dispose()
    {
        net.Dispose();
        model.Dispose();
    }
}
