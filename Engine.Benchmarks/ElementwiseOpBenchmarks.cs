// Host-path speed of the table-driven ops: elementwise activations (forward and backward), pointwise and
// cross-entropy losses, and optimizer steps, on the CPU device, so a change to how those ops are written can be
// compared before and after (`./build.sh bench --filter '*ElementwiseOp*'`).
using System;
using BenchmarkDotNet.Attributes;
using Engine.Nn;
using Engine.Ops;
using Engine.Optim;

namespace Engine.Benchmarks;

public class ElementwiseOpBenchmarks : IWorkPerInvocation
{
    private const int N = 1 << 20;
    private const int Rows = 1024;
    private const int Classes = 100;
    private Device device = null!;
    private Tensor x = null!, y = null!, g = null!, dx = null!;
    private Tensor logits = null!, labels = null!, dlogits = null!, loss = null!;
    private ParameterSet set = null!;
    private Optimizer optimizer = null!;

    /// <summary>What one invocation runs: an activation's forward + backward, a loss's forward + backward, or an optimizer step.</summary>
    [Params("relu", "sigmoid", "tanh", "gelu", "elu", "softplus", "swish", "mse", "cross_entropy", "sgd", "adam")]
    public string Op { get; set; } = "relu";

    public double Work => 4.0 * N * 4;

    public string Unit => "GB/s";

    [GlobalSetup]
    public void Setup()
    {
        device = BenchDevices.Get("cpu");
        var r = new Random(1);
        var h = new float[N];
        for (int i = 0; i < N; i++)
        {
            h[i] = (float)((r.NextDouble() * 12) - 6);
        }

        x = Tensor.FromHost(device, h, new Shape(N));
        g = Tensor.FromHost(device, h, new Shape(N));
        y = Tensor.Empty(device, x.Shape);
        dx = Tensor.Empty(device, x.Shape);
        var lab = new float[Rows];
        for (int i = 0; i < Rows; i++)
        {
            lab[i] = i % Classes;
        }

        logits = Tensor.FromHost(device, h.AsSpan(0, Rows * Classes).ToArray(), new Shape(Rows, Classes));
        labels = Tensor.FromHost(device, lab, new Shape(Rows));
        dlogits = Tensor.Empty(device, logits.Shape);
        loss = Tensor.Empty(device, new Shape(1));
        set = ParameterSet.Create(device, [("w", new Shape(N), ParameterRole.Weight)]);
        set.Values.CopyFrom(h);
        set.Grads.CopyFrom(h);
        optimizer = Op == "sgd"
            ? new Sgd(set, new SgdOptions { LR = 1e-6, Momentum = 0.9, WeightDecay = 1e-4 })
            : new Adam(set, new AdamOptions { LR = 1e-6 });
        for (int i = 0; i < 5; i++)
        {
            Run();
        }
    }

    [Benchmark]
    public void Run()
    {
        switch (Op)
        {
            case "mse":
                Losses.Forward(LossSpec.Mse(), x, g, loss);
                Losses.Backward(LossSpec.Mse(), x, g, dx);
                break;
            case "cross_entropy":
                Losses.Forward(LossSpec.CrossEntropy(), logits, labels, loss);
                Losses.Backward(LossSpec.CrossEntropy(), logits, labels, dlogits);
                break;
            case "sgd" or "adam":
                optimizer.Step();
                break;
            default:
                var spec = Op switch
                {
                    "relu" => ActivationSpec.Relu,
                    "sigmoid" => ActivationSpec.Sigmoid,
                    "tanh" => ActivationSpec.Tanh,
                    "gelu" => ActivationSpec.Gelu(),
                    "elu" => ActivationSpec.Elu(),
                    "softplus" => ActivationSpec.Softplus(),
                    "swish" => ActivationSpec.Swish(),
                    _ => throw new ArgumentException($"unknown benchmark op {Op}"),
                };
                Activations.Forward(spec, x, y);
                Activations.Backward(spec, x, y, g, dx);
                break;
        }

        device.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        optimizer.Dispose();
        set.Dispose();
        foreach (var t in new[] { x, y, g, dx, logits, labels, dlogits, loss })
        {
            t.Dispose();
        }
    }
}
