// Parameters are views into one flat value buffer and one flat gradient buffer.
using System.Collections.Generic;
using Engine.Nn;
using NUnit.Framework;

namespace Engine.Tests.Foundation;

public sealed class ParameterSetTests
{
    [Test]
    public void Parameters_are_laid_out_back_to_back()
    {
        using var dev = Device.Create(DeviceKind.Cpu, new DeviceOptions { HonorEnvironment = false });
        using var set = ParameterSet.Create(dev, [("0.weight", new Shape(3, 2), ParameterRole.Weight), ("0.bias", new Shape(3), ParameterRole.Bias)]);
        Assert.That(set.TotalLength, Is.EqualTo(9));
        Assert.That(set["0.bias"].Offset, Is.EqualTo(6));
        set["0.bias"].Value.CopyFrom([7f, 8f, 9f]);
        set["0.weight"].Value.Fill(1f);
        Assert.That(set.Values.ToArray(), Is.EqualTo(new[] { 1f, 1f, 1f, 1f, 1f, 1f, 7f, 8f, 9f }));
        Assert.That(set.Grads.ToArray(), Is.All.EqualTo(0f));
        Assert.That(() => set["nope"], Throws.InstanceOf<KeyNotFoundException>().With.Message.Contain("0.weight"));
        Assert.That(() => ParameterSet.Create(dev, [("a", new Shape(1), ParameterRole.Weight), ("a", new Shape(1), ParameterRole.Bias)]),
            Throws.ArgumentException.With.Message.Contain("'a' appears 2 times"));
    }
}
