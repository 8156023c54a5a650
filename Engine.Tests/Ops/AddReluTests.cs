// The residual add with a ReLU folded in (Elementwise.AddRelu and its backward) against the unfolded composition, add
// then the relu op, on every device: the same numbers, bit for bit, for written, added, shared and missing gradients.
using System;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class AddReluTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    // Odd sizes: a tail after whole vectors, shorter than one vector, and more than one parallel chunk (1 << 15) with a tail.
    [TestCase(new[] { 3, 5, 7, 9 }, false, false)]
    [TestCase(new[] { 3, 5, 7, 9 }, true, false)]
    [TestCase(new[] { 3, 5, 7, 9 }, false, true)]
    [TestCase(new[] { 7 }, true, true)]
    [TestCase(new[] { 2, 16411 }, true, false)]
    public void Folded_relu_equals_add_then_relu(int[] dims, bool accumulateA, bool accumulateB)
    {
        var shape = new Shape(dims);
        int len = (int)shape.Length;
        using var a = Tensor.FromHost(Dev, HostMath.Random(len, 51), shape);
        using var b = Tensor.FromHost(Dev, HostMath.Random(len, 52), shape);
        using var dy = Tensor.FromHost(Dev, HostMath.Random(len, 53), shape);
        var da0 = HostMath.Random(len, 54);
        var db0 = HostMath.Random(len, 55);

        // Unfolded: add, relu, relu backward, add backward.
        using var v = Tensor.Empty(Dev, shape);
        using var z1 = Tensor.Empty(Dev, shape);
        using var g = Tensor.Empty(Dev, shape);
        using var da1 = Tensor.FromHost(Dev, da0, shape);
        using var db1 = Tensor.FromHost(Dev, db0, shape);
        Elementwise.Add(a, b, v);
        Activations.Forward(ActivationSpec.Relu, v, z1);
        Activations.Backward(ActivationSpec.Relu, v, z1, dy, g);
        Elementwise.AddBackward(g, da1, null, accumulateA);
        Elementwise.AddBackward(g, null, db1, accumulateB);

        using var z2 = Tensor.Empty(Dev, shape);
        using var da2 = Tensor.FromHost(Dev, da0, shape);
        using var db2 = Tensor.FromHost(Dev, db0, shape);
        Elementwise.AddRelu(a, b, z2);
        Elementwise.AddReluBackward(z2, dy, da2, db2, accumulateA, accumulateB);
        var z = z1.ToArray();
        Assert.That(Array.FindAll(z, x => x == 0f), Has.Length.GreaterThan(len / 5), "the ReLU clips a good part of the values");
        Assert.That(z2.ToArray(), Is.EqualTo(z), "forward");
        Assert.That(da2.ToArray(), Is.EqualTo(da1.ToArray()), "da");
        Assert.That(db2.ToArray(), Is.EqualTo(db1.ToArray()), "db");

        // One input missing its gradient, and both inputs the same tensor (x + x: the second adds).
        using var only = Tensor.FromHost(Dev, db0, shape);
        Elementwise.AddReluBackward(z2, dy, null, only, false, accumulateB);
        Assert.That(only.ToArray(), Is.EqualTo(db1.ToArray()), "db alone");
        using var both = Tensor.Empty(Dev, shape);
        Elementwise.AddReluBackward(z2, dy, both, both, false, true);
        Elementwise.Add(g, g, g);
        Assert.That(both.ToArray(), Is.EqualTo(g.ToArray()), "x + x");
    }

    [Test]
    public void Bad_arguments_are_named()
    {
        using var y = Tensor.Zeros(Dev, new Shape(2, 3));
        using var dy = Tensor.Zeros(Dev, new Shape(2, 3));
        using var wrong = Tensor.Zeros(Dev, new Shape(3, 2));
        Assert.That(() => Elementwise.AddRelu(y, wrong, y), Throws.ArgumentException.With.Message.Contain("add_relu"));
        Assert.That(() => Elementwise.AddReluBackward(y, dy, wrong, null), Throws.ArgumentException.With.Message.Contain("da"));
        Assert.That(() => Elementwise.AddReluBackward(y, dy, null, dy), Throws.ArgumentException.With.Message.Contain("db is dy itself"));
    }
}
