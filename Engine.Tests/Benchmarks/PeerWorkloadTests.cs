// The model workloads of `./build.sh bench-peers` build, run one step each and have the parameter counts of their
// PyTorch twins (Fixtures/peers/params.json, written by `scripts/bench_peers.py params --write`); the MNIST epoch
// runs on a tiny IDX folder. No timing here: speed lives in the benchmark itself.
using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Engine.Benchmarks.Peers;
using Engine.Data.Mnist;
using Engine.Tests.Data;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Benchmarks;

public sealed class PeerWorkloadTests
{
    private static Device Host => TestDevices.Get(new DeviceConfig("cpu-host", DeviceKind.Cpu, ForceKernels: false));

    /// <summary>PyTorch's parameter count of each model workload, from the generator in scripts/bench_peers.py.</summary>
    private static long TorchParams(string workload)
    {
        var doc = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "peers", "params.json")))!;
        return doc["params"]![workload]!.GetValue<long>();
    }

    [TestCase("mlp_step")]
    [TestCase("cnn_step")]
    [TestCase("cnn_b256")]
    [TestCase("resnet_step")]
    public void A_training_step_workload_steps_to_a_finite_loss_with_pytorchs_parameter_count(string name)
    {
        using var w = PeerWorkloads.Create(name, Host, out string? missing);
        Assert.That(missing, Is.Null);
        var step = (TrainingStepWorkload)w!;
        Assert.That(step.Parameters, Is.EqualTo(TorchParams(name)));
        step.Step();
        float first = step.LastLoss();
        step.Step();
        float second = step.LastLoss();
        // Random labels over 10 classes: the first loss is near ln 10; the update changes it.
        Assert.That(float.IsFinite(first) && float.IsFinite(second), $"losses {first}, {second}");
        Assert.That(first, Is.InRange(1.0f, 5.0f));
        Assert.That(second, Is.Not.EqualTo(first));
        Assert.That(step.Flops, Is.GreaterThan(0));
    }

    [Test]
    public void The_batch_one_inference_workload_gives_ten_finite_logits()
    {
        using var w = (InferenceWorkload)PeerWorkloads.Create("infer_b1", Host, out _)!;
        Assert.That(w.Parameters, Is.EqualTo(TorchParams("infer_b1")));
        w.Step();
        Assert.That(w.Output.Shape, Is.EqualTo(new Shape(1, 10)));
        Assert.That(w.Output.ToArray().All(float.IsFinite));
    }

    [Test]
    public void The_resnet_flop_count_adds_up_its_convolutions()
    {
        // Stem, stage 1 (4 convs at 32x32x16), stage 2 (16x16x32: 16->32 3x3, 3 x 32->32 3x3, 1x1 16->32), stage 3, fc.
        double macs = (32 * 32 * 16 * 27) + (4 * 32 * 32 * 16 * 144)
            + (16 * 16 * 32 * ((16 * 9) + (3 * 32 * 9) + 16)) + (8 * 8 * 64 * ((32 * 9) + (3 * 64 * 9) + 32)) + 640;
        Assert.That(PeerModels.ResNetForwardFlops(2), Is.EqualTo(2 * 2 * macs));
    }

    [Test]
    public void The_mnist_epoch_reads_idx_files_and_trains_one_epoch_with_the_main_jobs_model()
    {
        using var tmp = new TempDir();
        const int count = 70;   // two full batches of 32 and a last one of 6
        var rng = new Random(5);
        var px = new byte[count * 784];
        rng.NextBytes(px);
        var (images, labels) = Mnist.FileNamesOf(MnistSplit.Train);
        IdxFile.Write(tmp[images], px, [count, 28, 28]);
        IdxFile.Write(tmp[labels], [.. Enumerable.Range(0, count).Select(i => (byte)(i % 10))], [count]);
        Assert.That(MnistEpoch.Missing(tmp.Path), Is.Null);
        var r = MnistEpoch.Run(Host, tmp.Path);
        Assert.That(r.Steps, Is.EqualTo(3));
        Assert.That(r.Parameters, Is.EqualTo(TorchParams("mnist_epoch")));
        Assert.That(double.IsFinite(r.TrainLoss) && r.TrainLoss > 0, $"loss {r.TrainLoss}");
        Assert.That(r.Seconds, Is.GreaterThan(0));
        Assert.That(MnistEpoch.PeakRssBytes(), OperatingSystem.IsLinux() ? Is.GreaterThan(0) : Is.EqualTo(-1));
    }

    [Test]
    public void The_mnist_epoch_names_the_folder_and_the_missing_files()
    {
        using var tmp = new TempDir();
        string? why = MnistEpoch.Missing(tmp.Path);
        Assert.That(why, Does.Contain(tmp.Path).And.Contain("train-images-idx3-ubyte").And.Contain("train-labels-idx1-ubyte"));
    }
}
