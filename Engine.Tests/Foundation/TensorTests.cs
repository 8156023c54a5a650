// Tensors: shapes, copies to and from the host, views, and argument errors.
using System;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Foundation;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class TensorTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    [Test]
    public void Round_trips_host_data_and_reports_strides()
    {
        var data = HostMath.Random(24, 5);
        using var t = Tensor.FromHost(Dev, data, new Shape(2, 3, 4));
        Assert.That(t.ToArray(), Is.EqualTo(data));
        Assert.That(t.Strides, Is.EqualTo(new long[] { 12, 4, 1 }));
        Assert.That(t.Length, Is.EqualTo(24));
    }

    [Test]
    public void Slices_and_reshapes_share_memory()
    {
        var data = HostMath.Random(12, 6);
        using var t = Tensor.FromHost(Dev, data, new Shape(4, 3));
        using var s = t.Slice(1, 2);
        Assert.That(s.ToArray(), Is.EqualTo(data[3..9]));
        using var r = t.Reshape(new Shape(3, 4));
        r.Fill(1.5f);
        Assert.That(t.ToArray(), Is.All.EqualTo(1.5f));
        using var z = Tensor.Zeros(Dev, new Shape(5));
        Assert.That(z.ToArray(), Is.All.EqualTo(0f));
        z.CopyFrom(Tensor.FromHost(Dev, [1f, 2f, 3f, 4f, 5f], new Shape(5)));
        Assert.That(z.ToArray(), Is.EqualTo(new[] { 1f, 2f, 3f, 4f, 5f }));
    }

    [Test]
    public void Bad_shapes_and_lengths_are_explained()
    {
        Assert.That(() => new Shape(2, 0, 3), Throws.ArgumentException.With.Message.Contain("dimension 1 is 0"));
        Assert.That(() => new Shape(-1), Throws.ArgumentException.With.Message.Contain("positive"));
        Assert.That(() => Tensor.FromHost(Dev, new float[5], new Shape(2, 3)), Throws.ArgumentException.With.Message.Contain("5 elements").And.Message.Contain("[2, 3]"));
        using var t = Tensor.Zeros(Dev, new Shape(2, 3));
        Assert.That(() => t.Reshape(new Shape(4, 2)), Throws.ArgumentException.With.Message.Contain("[4, 2]"));
        Assert.That(() => t.Slice(1, 2), Throws.InstanceOf<ArgumentOutOfRangeException>());
        t.Dispose();
        Assert.That(() => t.ToArray(), Throws.InstanceOf<ObjectDisposedException>());
    }
}
