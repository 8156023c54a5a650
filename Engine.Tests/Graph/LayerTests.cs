// Layers on the real ops inside compiled models: shapes, parameter counts, planned workspaces, and gradients
// (central differences on the host path, the host path's numbers on kernel paths).
using System;
using System.Linq;
using Engine.Nn;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Graph;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class LayerTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    private static void Prove(CompiledModel net, int seed)
    {
        GraphTestUtil.Randomize(net.Parameters, seed);
        GraphTestUtil.RandomInputs(net, seed + 1);
        GraphTestUtil.AssertGradients(net);
    }

    [Test]
    public void Convolutions_and_pooling()
    {
        using var model = new Sequential(
            new Conv2d(2, 3, 3, padding: 1),
            new MaxPool2d(2),
            new Conv2d(3, 4, 2, stride: 1, dilation: 1, bias: false),
            new AvgPool2d(2, stride: 1, padding: 1),
            new Flatten(),
            new Linear(4 * 3 * 2, 3));
        using var net = model.Compile(Dev, [2, 2, 7, 5], options: new CompileOptions { InputGradients = true });
        Assert.That(net.SummaryRows().Select(r => r.OutputShape), Is.EqualTo(new Shape[]
        {
            [2, 3, 7, 5], [2, 3, 3, 2], [2, 4, 2, 1], [2, 4, 3, 2], [2, 24], [2, 3],
        }));
        Assert.That(net.Memory.Buffers.Count(b => b.Kind == BufferKind.Workspace), Is.EqualTo(4), "im2col for forward and backward of both convolutions");
        Assert.That(net.Memory.Buffers.Count(b => b.Kind == BufferKind.Saved), Is.EqualTo(1), "max pooling's argmax");
        Prove(net, 30);
    }

    [Test]
    public void Transposed_convolution_lp_and_global_pooling()
    {
        using var model = new Sequential(
            new ConvTranspose2d(3, 2, 3, stride: 2, padding: 1, outputPadding: 1),
            new LPPool2d(2, 2),
            new Conv2d(2, 4, 1),
            new GlobalAvgPool(),
            new Linear(4, 2));
        using var net = model.Compile(Dev, [2, 3, 3, 2]);
        Assert.That(net.SummaryRows().Select(r => r.OutputShape), Is.EqualTo(new Shape[] { [2, 2, 6, 4], [2, 2, 3, 2], [2, 4, 3, 2], [2, 4], [2, 2] }));
        Prove(net, 40);
    }

    [Test]
    public void Depthwise_separable_convolution_counts_and_gradients()
    {
        using var model = new Sequential(new SeparableConv2d(4, 6, 3, padding: 1), new Flatten(), new Linear(6 * 5 * 4, 2));
        using var net = model.Compile(Dev, [2, 4, 5, 4]);
        var rows = net.SummaryRows();
        Assert.That(rows[0].Parameters + rows[1].Parameters, Is.EqualTo((3 * 3 * 4) + (4 * 6)), "K_w K_h D_in + D_in D_out");
        Assert.That(net.Parameters.Select(p => p.Name).Take(2), Is.EqualTo(new[] { "0.depthwise.weight", "0.pointwise.weight" }));
        Assert.That(rows[0].Flops, Is.EqualTo(2L * 3 * 3 * (2 * 4 * 5 * 4)), "2 K_w K_h per depthwise output");
        Prove(net, 50);
    }

    [Test]
    public void Convolution_parameter_count_and_flops_follow_the_formulas()
    {
        using var model = new Sequential(new Conv2d(3, 16, 5, padding: 2), new Conv2d(16, 8, (3, 1), new Engine.Ops.Conv2dOptions { Stride = (2, 1) }));
        using var net = model.Compile(Dev, [4, 3, 32, 32], options: new CompileOptions { Training = false });
        var rows = net.SummaryRows();
        Assert.That(rows[0].Parameters, Is.EqualTo((5 * 5 * 3 * 16) + 16));
        Assert.That(rows[1].Parameters, Is.EqualTo((3 * 1 * 16 * 8) + 8));
        Assert.That(rows[1].OutputShape, Is.EqualTo(new Shape(4, 8, 15, 32)));
        Assert.That(rows[0].Flops, Is.EqualTo((2L * 5 * 5 * 3 * 4 * 16 * 32 * 32) + (4 * 16 * 32 * 32)));
        Assert.That(net.Summary(), Does.Contain("Conv2d(3, 16, 5x5, padding 2x2)").And.Contain("Conv2d(16, 8, 3x1, stride 2x1)"));
    }

    [Test]
    public void A_shared_convolution_sums_its_gradients()
    {
        var conv = new Conv2d(3, 3, 3, padding: 1);
        using var g = new GraphModule();
        var x = g.Input();
        var h = g.Apply(conv, x);
        var y = g.Apply(conv, g.Apply(new MaxPool2d(3, stride: 1, padding: 1), h));
        g.Output(g.Apply(new Flatten(), g.Add(y, h)));
        using var net = g.Compile(Dev, [1, 3, 4, 4]);
        Prove(net, 60);
    }

    [Test]
    public void Conv_shape_errors_name_the_layer()
    {
        using var model = new Sequential(new Conv2d(3, 4, 3), new Conv2d(5, 2, 3));
        Assert.That(() => model.Compile(Dev, [1, 3, 8, 8]), Throws.InstanceOf<ShapeMismatchException>()
            .With.Message.Contain("Layer '1' (Conv2d(5, 2, 3x3))").And.Message.Contain("[1, 4, 6, 6]"));
        using var tiny = new Sequential(new MaxPool2d(4));
        Assert.That(() => tiny.Compile(Dev, [1, 1, 2, 2]), Throws.InstanceOf<ShapeMismatchException>().With.Message.Contain("Layer '0' (MaxPool2d(4x4))"));
    }
}
