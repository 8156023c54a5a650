// A model too big for the device fails at compile time with the bytes needed and available, before anything is
// allocated, not inside a kernel; the device stays usable.
using System;
using Engine.Nn;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Reliability;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class DeviceMemoryTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    [Test]
    public void Parameters_too_big_for_the_device_are_refused_at_compile_time()
    {
        // A square Linear whose weight alone is over the device's memory.
        int n = (int)Math.Min(int.MaxValue / 2, Math.Sqrt(Dev.Info.MemoryBytes / 4.0) + 1);
        using var model = new Sequential(new Linear(n, n, bias: false));
        long inUse = Dev.Allocator.Stats.BytesInUse;
        var e = Assert.Throws<InsufficientMemoryException>(() => model.Compile(Dev, new Shape(2, n), Loss.Mse()));
        Assert.That(e!.Message, Does.Contain($"needs at least {2L * n * n * 4:N0} bytes (parameters, their gradients and buffers)")
            .And.Contain($"the device has {Dev.Info.MemoryBytes:N0} bytes"));
        Assert.That(Dev.Allocator.Stats.BytesInUse, Is.EqualTo(inUse), "nothing was allocated");
        Assert.That(model.ParametersOn(Dev), Is.Null);
    }

    [Test]
    public void Activations_too_big_for_the_device_are_refused_at_compile_time()
    {
        // Small parameters; activations of 2 GiB each (2^19 rows of 1024), one saved per layer for the backward pass, in
        // more layers than the device's memory holds.
        const int batch = 1 << 19;
        int depth = (int)Math.Min(4096, (Dev.Info.MemoryBytes / (4L * batch * 1024)) + 2);
        var layers = new Module[2 * depth];
        for (int i = 0; i < depth; i++)
        {
            layers[2 * i] = new Linear(1024, 1024);
            layers[(2 * i) + 1] = new Relu();
        }

        using var model = new Sequential(layers);
        var e = Assert.Throws<InsufficientMemoryException>(() => model.Compile(Dev, new Shape(batch, 1024), Loss.Mse()));
        Assert.That(e!.Message, Does.Contain("activations, gradients and workspaces of the memory plan").And.Contain($"the device has {Dev.Info.MemoryBytes:N0} bytes"));

        // The device and the model still work at a size that fits.
        using var net = model.Compile(Dev, new Shape(2, 1024), Loss.Mse());
        Assert.That(net.Parameters.Count, Is.EqualTo(2 * depth));
    }
}
