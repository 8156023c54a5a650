// Whole training steps for `./build.sh bench-peers`: the MLP and CNN of scripts/bench_peers.py, compiled models
// with their loss and optimizer (forward, backward, update).
using System;
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

    /// <summary>MLP 784-512-256-10, batch 128, cross-entropy, SGD (lr 0.01).</summary>
    public static IPeerWorkload Mlp(Device device) => new TrainingStepWorkload(
        device,
        new Sequential(new Linear(784, 512), new ReLU(), new Linear(512, 256), new ReLU(), new Linear(256, 10)),
        [128, 784], 10, ps => new Sgd(ps, new SgdOptions { Lr = 0.01 }),
        2.0 * 128 * ((784 * 512) + (512 * 256) + (256 * 10)));

    /// <summary>The conv net of issue 7 at batch 64, cross-entropy, Adam (lr 1e-3).</summary>
    public static IPeerWorkload Cnn(Device device) => new TrainingStepWorkload(
        device,
        new Sequential(
            new Conv2d(1, 32, 3, padding: 1), new ReLU(), new MaxPool2d(2),
            new Conv2d(32, 64, 3, padding: 1), new ReLU(), new MaxPool2d(2),
            new Flatten(), new Linear(3136, 128), new ReLU(), new Linear(128, 10)),
        [64, 1, 28, 28], 10, ps => new Adam(ps, new AdamOptions { Lr = 1e-3 }),
        2.0 * 64 * ((28 * 28 * 32 * 9) + (14 * 14 * 64 * 32 * 9) + (3136 * 128) + (128 * 10)));

    public void Step()
    {
        net.Forward();
        net.Backward();
        optimizer.Step();
        device.Synchronize();
    }

    public void Dispose()
    {
        optimizer.Dispose();
        net.Dispose();
        model.Dispose();
    }
}
