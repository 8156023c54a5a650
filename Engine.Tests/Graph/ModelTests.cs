// Whole models with a loss: an MLP, a CNN with batch norm and a residual network pass the gradient check; the
// loss API (targets, errors, reading the loss) and training actually lowering the loss.
using System;
using System.Linq;
using Engine.Nn;
using Engine.Optim;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Graph;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class ModelTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    private static float[] Classes(int n, int c, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)r.Next(c)).ToArray();
    }

    [Test]
    public void Mlp_with_cross_entropy_passes_the_gradient_check()
    {
        using var model = new Sequential(new Linear(5, 8), new Tanh(), new Linear(8, 8), new Gelu(), new Linear(8, 4));
        using var net = model.Compile(Dev, [6, 5], Loss.CrossEntropy());
        Assert.That(net.Target!.Shape, Is.EqualTo(new Shape(6)));
        GraphTestUtil.Randomize(net.Parameters, 90, 0.8f);
        GraphTestUtil.RandomInputs(net, 91);
        net.Target.CopyFrom(Classes(6, 4, 92));
        GraphTestUtil.AssertGradients(net);
    }

    [Test]
    public void Mlp_with_softmax_focal_loss_passes_the_gradient_check()
    {
        // focal_softmax is a row of the loss table, so it is a compiled model's loss like cross-entropy: class indices (N).
        using var model = new Sequential(new Linear(5, 8), new Tanh(), new Linear(8, 4));
        using var net = model.Compile(Dev, [7, 5], Loss.FocalSoftmax(gamma: 2f, alpha: 0.5f));
        Assert.That(net.Target!.Shape, Is.EqualTo(new Shape(7)));
        GraphTestUtil.Randomize(net.Parameters, 190, 0.8f);
        GraphTestUtil.RandomInputs(net, 191);
        net.Target.CopyFrom(Classes(7, 4, 192));
        GraphTestUtil.AssertGradients(net);
    }

    [Test]
    public void Cnn_with_batch_norm_and_relu_passes_the_gradient_check()
    {
        using var model = new Sequential(
            new Conv2d(1, 4, 3, padding: 1), new BatchNorm2d(4), new Relu(), new MaxPool2d(2),
            new Conv2d(4, 4, 3, padding: 1, bias: false), new BatchNorm2d(4), new LeakyRelu(0.1f),
            new Flatten(), new Linear(4 * 3 * 3, 3));
        using var net = model.Compile(Dev, [4, 1, 6, 6], Loss.CrossEntropy());
        GraphTestUtil.Randomize(net.Parameters, 93, 0.8f);
        GraphTestUtil.RandomInputs(net, 94);
        net.Target!.CopyFrom(Classes(4, 3, 95));
        GraphTestUtil.AssertGradients(net);
    }

    [Test]
    public void Residual_network_passes_the_gradient_check()
    {
        // Smooth activations: behind batch norm, many ReLU inputs sit within eps of their kink, where central
        // differences mean nothing. (The ReLU version of this network matches PyTorch in models.json.)
        static Module Block(int c) => new Residual(
            new Conv2d(c, c, 3, padding: 1, bias: false), new BatchNorm2d(c), new Elu(),
            new Conv2d(c, c, 3, padding: 1, bias: false), new BatchNorm2d(c));
        using var model = new Sequential(
            new Conv2d(2, 4, 3, padding: 1), new Gelu(),
            Block(4), new Elu(), Block(4), new Swish(),
            new GlobalAvgPool(), new Linear(4, 3));
        using var net = model.Compile(Dev, [3, 2, 5, 4], Loss.CrossEntropy(), new CompileOptions { InputGradients = true });
        Assert.That(net.Parameters.Select(p => p.Name), Does.Contain("2.0.weight").And.Contain("4.4.bias"));
        Assert.That(net.Buffers.Select(b => b.Name), Does.Contain("4.1.running_var"));
        GraphTestUtil.Randomize(net.Parameters, 96, 0.8f);
        GraphTestUtil.RandomInputs(net, 97);
        net.Target!.CopyFrom(Classes(3, 3, 98));
        GraphTestUtil.AssertGradients(net);
    }

    [Test]
    public void Activations_by_name_with_settings()
    {
        Assert.That(Activation.Named("leaky_relu", ("alpha", 0.2)).Op, Is.EqualTo(Engine.Ops.ActivationSpec.LeakyRelu(0.2f)));
        Assert.That(Activation.Named("gelu", ("approximate", "tanh")).Op, Is.EqualTo(Engine.Ops.ActivationSpec.Gelu(Engine.Ops.GeluApproximation.Tanh)));
        Assert.That(Activation.Named("relu").Describe(), Is.EqualTo("relu"));
        Assert.That(() => Activation.Named("elu", ("slope", 1)), Throws.ArgumentException.With.Message.Contain("slope"));
        Assert.That(() => Activation.Named("swoosh"), Throws.ArgumentException.With.Message.Contain("swoosh"));
        using var model = new Sequential(new Linear(3, 4), Activation.Named("softplus", ("beta", 2), ("threshold", 10)), Activation.Named("log_softmax", ("axis", -1)));
        using var net = model.Compile(Dev, [2, 3]);
        GraphTestUtil.Randomize(net.Parameters, 88);
        GraphTestUtil.RandomInputs(net, 89);
        GraphTestUtil.AssertGradients(net);
    }

    [Test]
    public void Forward_returns_the_loss_and_the_output()
    {
        using var model = new Sequential(new Linear(3, 2));
        using var net = model.Compile(Dev, [2, 3], Loss.Mse(), new CompileOptions { Training = false });
        net.Parameters.Values.CopyFrom([1f, 0f, 0f, 0f, 1f, 0f, 0.5f, -0.5f]);
        var r = net.Forward([1f, 2f, 3f, 4f, 5f, 6f], [0f, 0f, 0f, 0f]);
        Assert.That(r.Output.ToArray(), Is.EqualTo(new[] { 1.5f, 1.5f, 4.5f, 4.5f }));
        Assert.That(r.Loss, Is.SameAs(net.Loss));
        Assert.That(net.ReadLoss(), Is.EqualTo(((1.5 * 1.5 * 2) + (4.5 * 4.5 * 2)) / 4).Within(1e-5), "an inference plan computes the loss too");
    }

    [Test]
    public void A_target_of_the_wrong_shape_is_rejected()
    {
        using var model = new Sequential(new Linear(3, 2));
        using var net = model.Compile(Dev, [2, 3], Loss.CrossEntropy());
        Assert.That(() => net.Forward(Tensor.Zeros(Dev, [2, 3]), Tensor.Zeros(Dev, [2, 2])), Throws.ArgumentException.With.Message.Contain("target is [2, 2]"));
        using var conv = new Sequential(new Conv2d(1, 2, 3));
        Assert.That(() => conv.Compile(Dev, [1, 1, 3, 3], Loss.Triplet()), Throws.InstanceOf<ShapeMismatchException>()
            .With.Message.Contain("Layer 'loss'").And.Message.Contain("[1, 2, 1, 1]"));

        // Scores (N, C, d...) are cross-entropy's segmentation shape: one class index per position.
        using var perPixel = conv.Compile(Dev, [1, 1, 3, 3], Loss.CrossEntropy());
        Assert.That(perPixel.Target!.Shape, Is.EqualTo(new Shape(1, 1, 1)));
    }

    [Test]
    public void Training_lowers_the_loss()
    {
        using var model = new Sequential(new Linear(4, 16), new Relu(), new Linear(16, 3));
        using var net = model.Compile(Dev, [12, 4], Loss.CrossEntropy());
        using var opt = new Adam(net.Parameters, new AdamOptions { LR = 0.05 });
        var x = HostMath.Random(48, 99);
        var y = Enumerable.Range(0, 12).Select(i => (float)(i % 3)).ToArray();
        net.ForwardBackward(x, y);
        float first = net.ReadLoss();
        for (int i = 0; i < 30; i++)
        {
            opt.Step();
            net.ForwardBackward(x, y);
        }

        Assert.That(net.ReadLoss(), Is.LessThan(first * 0.5f), $"loss went from {first} to {net.ReadLoss()}");
    }
}

/// <summary>The compiled model with the device data loader, including its smaller last batch.</summary>
public sealed class LoaderTests
{
    [Test]
    public void Training_with_the_device_data_loader_and_a_partial_last_batch()
    {
        var dev = TestDevices.Get(new DeviceConfig("cpu-host", DeviceKind.Cpu, ForceKernels: false));
        var rng = new Random(3);
        int n = 50;
        var labels = Enumerable.Range(0, n).Select(_ => rng.Next(3)).ToArray();
        var features = Enumerable.Range(0, n * 4).Select(i => labels[i / 4] + ((float)rng.NextDouble() * 0.5f)).ToArray();
        var data = new Engine.Data.InMemoryDataset(features, labels, [4], 3);
        using var loader = new Engine.Data.DeviceDataLoader(dev, data, new Engine.Data.DataLoaderOptions { BatchSize = 16, Seed = 1 });
        using var model = new Sequential(new Linear(4, 8), new Relu(), new Linear(8, 3));
        using var net = model.Compile(dev, [16, 4], Loss.CrossEntropy());
        using var opt = new Adam(net.Parameters, new AdamOptions { LR = 0.05 });
        var sizes = new System.Collections.Generic.List<int>();
        float first = float.NaN, last = 0;
        for (int epoch = 0; epoch < 15; epoch++)
        {
            foreach (Engine.Data.DeviceBatch b in loader.Epoch(epoch))
            {
                var step = net.ForBatchSize(b.Count);
                step.ForwardBackward(b.Features, b.Labels);
                opt.Step();
                last = step.ReadLoss();
                first = float.IsNaN(first) ? last : first;
                if (epoch == 0)
                {
                    sizes.Add(b.Count);
                }
            }
        }

        Assert.That(sizes, Is.EqualTo(new[] { 16, 16, 16, 2 }));
        Assert.That(last, Is.LessThan(first * 0.5f), $"loss went from {first} to {last}");
    }
}
