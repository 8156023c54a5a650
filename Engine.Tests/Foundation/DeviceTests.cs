// Device selection: by kind, by index, environment override, and clear errors for kinds that are absent.
using System;
using System.Linq;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Foundation;

public sealed class DeviceTests
{
    [Test]
    public void Cpu_is_always_listed_and_usable()
    {
        var devices = Device.ListDevices();
        Assert.That(devices.Any(d => d.Kind == DeviceKind.Cpu && d.IsUsable), Is.True, string.Join("; ", devices));
    }

    [TestCase(DeviceKind.Cuda)]
    [TestCase(DeviceKind.OpenCL)]
    [TestCase(DeviceKind.Cpu)]
    public void Asking_for_a_kind_gives_it_or_a_message_listing_what_is_present(DeviceKind kind)
    {
        var options = new DeviceOptions { HonorEnvironment = false };
        bool present = Device.ListDevices().Any(d => d.IsUsable && d.Kind == kind);
        if (present)
        {
            using var dev = Device.Create(kind, options);
            Assert.That(dev.Kind, Is.EqualTo(kind));
        }
        else
        {
            var ex = Assert.Throws<InvalidOperationException>(() => Device.Create(kind, options));
            Assert.That(ex!.Message, Does.Contain($"No usable {kind} device").And.Contain("Present:").And.Contain("Cpu"));
        }
    }

    [Test]
    public void Auto_prefers_gpus_and_falls_back_to_the_cpu()
    {
        using var dev = Device.Create(DeviceKind.Auto, new DeviceOptions { HonorEnvironment = false });
        var usable = Device.ListDevices().Where(d => d.IsUsable).ToList();
        var expected = usable.Any(d => d.Kind == DeviceKind.Cuda) ? DeviceKind.Cuda
            : usable.Any(d => d.Kind == DeviceKind.OpenCL) ? DeviceKind.OpenCL : DeviceKind.Cpu;
        Assert.That(dev.Kind, Is.EqualTo(expected));
    }

    [Test]
    public void Index_out_of_range_names_the_index()
    {
        Assert.That(() => Device.Create(999), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("999"));
    }

    [Test]
    public void Cpu_device_uses_the_host_path_unless_kernels_are_forced()
    {
        using var host = Device.Create(DeviceKind.Cpu, new DeviceOptions { HonorEnvironment = false, ForceKernelsOnCpu = false });
        using var kernels = Device.Create(DeviceKind.Cpu, new DeviceOptions { HonorEnvironment = false, ForceKernelsOnCpu = true });
        Assert.That(host.Path, Is.EqualTo(ComputePath.Host));
        Assert.That(kernels.Path, Is.EqualTo(ComputePath.Kernels));
        Assert.That(host.Info.WarpSize, Is.GreaterThan(0));
        Assert.That(host.Info.MemoryBytes, Is.GreaterThan(0));
    }

    [Test]
    public void Unknown_kind_names_are_rejected()
    {
        Assert.That(() => Device.ParseKind("tpu"), Throws.ArgumentException.With.Message.Contain("tpu"));
        Assert.That(Device.ParseKind(" CUDA "), Is.EqualTo(DeviceKind.Cuda));
    }

    [Test]
    public void Kernels_are_loaded_once_and_cached()
    {
        var dev = TestDevices.Get(new DeviceConfig("cpu-kernels", DeviceKind.Cpu, true));
        using var t = Tensor.Empty(dev, new Shape(10));
        t.Fill(2f);
        int loaded = dev.Kernels.Count;
        t.Fill(3f);
        Assert.That(dev.Kernels.Count, Is.EqualTo(loaded));
        Assert.That(dev.Kernels.IsLoaded("tensor.fill"), Is.True);
        Assert.That(t.ToArray(), Is.All.EqualTo(3f));
    }
}
