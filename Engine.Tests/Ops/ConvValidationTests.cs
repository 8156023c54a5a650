// Bad convolution arguments are rejected on the host, before any launch, with messages naming the argument and shapes.
using System;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class ConvValidationTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    private static ArgumentException Rejects(TestDelegate call, string paramName, params string[] fragments)
    {
        var ex = Assert.Catch<ArgumentException>(call)!;
        Assert.That(ex.ParamName, Is.EqualTo(paramName), ex.Message);
        foreach (var f in fragments)
        {
            Assert.That(ex.Message, Does.Contain(f));
        }

        return ex;
    }

    [Test]
    public void Weight_that_does_not_fit_the_input_is_rejected()
    {
        Rejects(() => Conv2dOp.Describe(new Shape(1, 3, 5, 5), new Shape(4, 2, 3, 3)), "weight", "[4, 2, 3, 3]", "[1, 3, 5, 5]", "Cin / groups = 3");
        Rejects(() => Conv2dOp.Describe(new Shape(1, 3, 5, 5), new Shape(4, 3, 3)), "weight", "4-D", "[4, 3, 3]");
        Rejects(() => Conv2dOp.Describe(new Shape(3, 5, 5), new Shape(4, 3, 3, 3)), "x", "4-D", "[3, 5, 5]");
        Rejects(() => ConvTranspose2dOp.Describe(new Shape(1, 3, 5, 5), new Shape(4, 2, 3, 3)), "weight", "Cin = 3", "[4, 2, 3, 3]");
    }

    [Test]
    public void Channels_not_divisible_by_groups_are_rejected()
    {
        var o = new Conv2dOptions { Groups = 2 };
        Rejects(() => Conv2dOp.Describe(new Shape(1, 3, 5, 5), new Shape(4, 1, 3, 3), o), "x", "input channels 3", "groups 2");
        Rejects(() => Conv2dOp.Describe(new Shape(1, 4, 5, 5), new Shape(3, 2, 3, 3), o), "weight", "output channels 3", "groups 2");
        Rejects(() => ConvTranspose2dOp.Describe(new Shape(1, 3, 5, 5), new Shape(3, 2, 3, 3), new ConvTranspose2dOptions { Groups = 2 }), "x", "input channels 3");
    }

    [Test]
    public void Kernel_larger_than_the_padded_input_is_rejected()
    {
        Rejects(() => Conv2dOp.Describe(new Shape(1, 1, 4, 4), new Shape(1, 1, 5, 3)), "weight", "5x3", "padded input 4x4");
        Rejects(() => Conv2dOp.Describe(new Shape(1, 1, 4, 4), new Shape(1, 1, 3, 3), new Conv2dOptions { Dilation = (2, 1) }), "weight", "spans 5x3");
        Assert.That(Conv2dOp.OutputShape(new Shape(1, 1, 4, 4), new Shape(1, 1, 5, 3), new Conv2dOptions { Padding = ConvPadding.Symmetric(1, 0) }),
            Is.EqualTo(new Shape(1, 1, 2, 2)));
    }

    [Test]
    public void Zero_or_negative_settings_are_rejected()
    {
        var x = new Shape(1, 1, 5, 5);
        var w = new Shape(1, 1, 3, 3);
        Rejects(() => Conv2dOp.Describe(x, w, new Conv2dOptions { Stride = (0, 1) }), "options", "stride must be positive", "(0, 1)");
        Rejects(() => Conv2dOp.Describe(x, w, new Conv2dOptions { Dilation = (1, -1) }), "options", "dilation must be positive");
        Rejects(() => Conv2dOp.Describe(x, w, new Conv2dOptions { Groups = 0 }), "options", "groups must be positive");
        Rejects(() => Conv2dOp.Describe(x, w, new Conv2dOptions { Padding = ConvPadding.Symmetric(-1, 0) }), "options", "must not be negative");
        Rejects(() => Conv2dOp.Describe(x, w, new Conv2dOptions { Padding = ConvPadding.Same, Stride = (2, 2) }), "options", "\"same\" needs stride 1");
        Rejects(() => ConvTranspose2dOp.Describe(x, w, new ConvTranspose2dOptions { OutputPadding = (1, 0) }), "options", "output padding (1, 0)", "stride (1, 1)");
        Rejects(() => ConvTranspose2dOp.Describe(new Shape(1, 1, 1, 1), w, new ConvTranspose2dOptions { Padding = (2, 0) }), "options", "output would be -1x3");
        Assert.That(() => new Shape(1, 0, 5, 5), Throws.ArgumentException.With.Message.Contain("must be positive"));
        Assert.That(() => ConvPadding.Parse("full"), Throws.ArgumentException.With.Message.Contain("'full'"));
    }

    [Test]
    public void Wrong_output_bias_gradient_and_workspace_tensors_are_rejected_before_launch()
    {
        using var x = Tensor.Zeros(Dev, new Shape(2, 3, 6, 6));
        using var w = Tensor.Zeros(Dev, new Shape(4, 3, 3, 3));
        using var yBad = Tensor.Zeros(Dev, new Shape(2, 4, 6, 6));
        using var y = Tensor.Zeros(Dev, new Shape(2, 4, 4, 4));
        using var bBad = Tensor.Zeros(Dev, new Shape(3));
        Rejects(() => Conv2dOp.Forward(x, w, null, yBad, null), "y", "[2, 4, 6, 6]", "[2, 4, 4, 4]");
        Rejects(() => Conv2dOp.Forward(x, w, bBad, y, null), "bias", "[3]", "[4]");
        using var small = Tensor.Zeros(Dev, new Shape(10));
        Rejects(() => Conv2dOp.Forward(x, w, null, y, null, small), "workspace", "10 elements", "needs 432", "864");
        Rejects(() => Conv2dOp.Backward(x, w, yBad, null, null, null), "dy", "[2, 4, 6, 6]");
        using var dwBad = Tensor.Zeros(Dev, new Shape(4, 3, 3, 2));
        Rejects(() => Conv2dOp.Backward(x, w, y, null, dwBad, null), "dw", "[4, 3, 3, 2]", "[4, 3, 3, 3]");
        using var dxBad = Tensor.Zeros(Dev, new Shape(2, 3, 6, 5));
        Rejects(() => ConvTranspose2dOp.Backward(y, Tensor.Zeros(Dev, new Shape(4, 3, 3, 3)), x, dxBad, null, null), "dx", "[2, 3, 6, 5]", "[2, 4, 4, 4]");
        Assert.That(() => Conv2dOp.Forward(x, w, null, y, variant: "kernel.nope"), Throws.ArgumentException.With.Message.Contain("kernel.im2col"));
    }
}
