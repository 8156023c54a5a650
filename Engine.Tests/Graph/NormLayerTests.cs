// Batch norm, layer norm, dropout and concatenation inside compiled models: modes, running statistics, views,
// and gradients.
using System;
using System.Linq;
using Engine.Nn;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Graph;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class NormLayerTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    [Test]
    public void Cnn_with_batch_norm_in_training_mode()
    {
        using var model = new Sequential(
            new Conv2d(2, 3, 3, padding: 1), new BatchNorm2d(3), new MaxPool2d(2), new Flatten(), new Linear(3 * 2 * 2, 2));
        using var net = model.Compile(Dev, [3, 2, 4, 5]);
        Assert.That(net.Parameters.Select(p => p.Name), Is.EqualTo(new[] { "0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias" }));
        Assert.That(net.Buffers.Select(b => b.Name), Is.EqualTo(new[] { "1.running_mean", "1.running_var" }));
        Assert.That(net.Parameters["1.weight"].Role, Is.EqualTo(ParameterRole.NormScale));
        GraphTestUtil.Randomize(net.Parameters, 70);
        GraphTestUtil.RandomInputs(net, 71);
        GraphTestUtil.AssertGradients(net);
        Assert.That(net.Buffers["1.running_var"].Value.ToArray(), Is.All.EqualTo(1f), "the gradient check restores the running statistics");
    }

    [Test]
    public void Batch_norm_updates_running_statistics_in_training_mode_and_uses_them_in_evaluation_mode()
    {
        using var model = new Sequential(new BatchNorm1d(3, momentum: 0.25f));
        using var net = model.Compile(Dev, [4, 3]);
        var x = HostMath.Random(12, 72, -2f, 2f);
        net.Forward(x);
        var mean = new double[3];
        var varUnbiased = new double[3];
        for (int c = 0; c < 3; c++)
        {
            var col = Enumerable.Range(0, 4).Select(n => (double)x[(n * 3) + c]).ToArray();
            mean[c] = col.Average();
            varUnbiased[c] = col.Sum(v => (v - mean[c]) * (v - mean[c])) / 3;
        }

        HostMath.AssertClose(net.Buffers["0.running_mean"].Value.ToArray(), mean.Select(m => 0.25 * m).ToArray(), 1e-5, 1e-4, "running mean");
        HostMath.AssertClose(net.Buffers["0.running_var"].Value.ToArray(), varUnbiased.Select(v => 0.75 + (0.25 * v)).ToArray(), 1e-5, 1e-4, "running var");

        // Evaluation mode: (x - running_mean) / sqrt(running_var + eps), and the running statistics stay put.
        net.Training = false;
        var rm = net.Buffers["0.running_mean"].Value.ToArray();
        var rv = net.Buffers["0.running_var"].Value.ToArray();
        var y = net.Forward(x).Output.ToArray();
        var want = x.Select((v, i) => (v - rm[i % 3]) / Math.Sqrt(rv[i % 3] + 1e-5)).ToArray();
        HostMath.AssertClose(y, want, 1e-5, 1e-4, "eval output");
        Assert.That(net.Buffers["0.running_mean"].Value.ToArray(), Is.EqualTo(rm));

        // An inference plan of the same model shares the buffers and agrees.
        using var infer = model.Compile(Dev, [4, 3], options: new CompileOptions { Training = false });
        HostMath.AssertClose(infer.Forward(x).Output.ToArray(), want, 1e-5, 1e-4, "inference plan");
    }

    [Test]
    public void Batch_norm_in_evaluation_mode_has_a_backward()
    {
        using var model = new Sequential(new Linear(4, 5), new BatchNorm1d(5), new Linear(5, 2));
        using var net = model.Compile(Dev, [3, 4]);
        net.Buffers["1.running_mean"].Value.CopyFrom(HostMath.Random(5, 73));
        net.Buffers["1.running_var"].Value.CopyFrom(HostMath.Random(5, 74, 0.5f, 1.5f));
        net.Training = false;
        GraphTestUtil.Randomize(net.Parameters, 75);
        GraphTestUtil.RandomInputs(net, 76);
        GraphTestUtil.AssertGradients(net);
    }

    [Test]
    public void Layer_norm_gradients()
    {
        using var model = new Sequential(new Linear(6, 8), new LayerNorm([8]), new Linear(8, 3), new LayerNorm([3], elementwiseAffine: false));
        using var net = model.Compile(Dev, [2, 5, 6]);
        Assert.That(net.Parameters.Select(p => p.Name), Is.EqualTo(new[] { "0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias" }));
        GraphTestUtil.Randomize(net.Parameters, 80);
        GraphTestUtil.RandomInputs(net, 81);
        GraphTestUtil.AssertGradients(net);
    }

    [Test]
    public void Dropout_drops_in_training_passes_through_in_evaluation_and_is_a_view_in_inference_plans()
    {
        using var model = new Sequential(new Linear(16, 64), new Dropout(0.5f), new Linear(64, 2));
        using var net = model.Compile(Dev, [8, 16]);
        GraphTestUtil.Randomize(net.Parameters, 82);
        GraphTestUtil.RandomInputs(net, 83);
        net.Forward();
        var dropped = net.Memory.Buffers.Single(b => b.Label == "1");
        Assert.That(dropped.Kind, Is.EqualTo(BufferKind.Activation));
        GraphTestUtil.AssertGradients(net);

        using var probe = new Sequential(new Dropout(0.25f));
        using var p = probe.Compile(Dev, [64, 64]);
        var ones = Enumerable.Repeat(1f, 64 * 64).ToArray();
        var y1 = p.Forward(ones).Output.ToArray();
        var y2 = p.Forward(ones).Output.ToArray();
        double zeros = y1.Count(v => v == 0f) / (double)y1.Length;
        Assert.That(zeros, Is.EqualTo(0.25).Within(0.03));
        Assert.That(y1.Where(v => v != 0f), Is.All.EqualTo(1f / 0.75f).Within(1e-6));
        Assert.That(y2, Is.Not.EqualTo(y1), "a new mask every step");
        p.Training = false;
        Assert.That(p.Forward(ones).Output.ToArray(), Is.All.EqualTo(1f));
        using var infer = probe.Compile(Dev, [64, 64], options: new CompileOptions { Training = false });
        Assert.That(infer.Memory.Buffers.Select(b => b.Kind), Has.None.EqualTo(BufferKind.Activation), "dropout is a view of its input");
    }

    [Test]
    public void Concat_of_a_frozen_and_a_trainable_branch()
    {
        using var g = new GraphModule();
        var x = g.Input();
        var frozen = g.Register("frozen", new Linear(3, 4));
        var a = g.Apply(frozen, x);
        var b = g.Apply(g.Register("live", new Linear(3, 2)), x);
        var c = g.Concat(1, a, b, a);
        g.Output(g.Apply(g.Register("head", new Linear(10, 2)), c));
        frozen.Freeze();
        using var net = g.Compile(Dev, [2, 3]);
        Assert.That(net.SummaryRows().Single(r => r.Layer.StartsWith("Concat", StringComparison.Ordinal)).OutputShape, Is.EqualTo(new Shape(2, 10)));
        Assert.That(net.Memory.StepNames, Has.None.EqualTo("bwd frozen"));
        GraphTestUtil.Randomize(net.Parameters, 84);
        GraphTestUtil.RandomInputs(net, 85);
        GraphTestUtil.AssertGradients(net);
        Assert.That(() => g.Concat(0, x, g.Apply(new Linear(3, 5), x)), Throws.Nothing);
    }
}
