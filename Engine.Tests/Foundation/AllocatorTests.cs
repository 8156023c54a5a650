// The caching allocator reuses buffers by size class: thousands of rent/return cycles do not grow device memory.
using Engine.Memory;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Foundation;

public sealed class AllocatorTests
{
    [Test]
    public void Size_classes_round_up_in_quarter_steps()
    {
        Assert.That(CachingAllocator.SizeClass(0), Is.EqualTo(256));
        Assert.That(CachingAllocator.SizeClass(256), Is.EqualTo(256));
        Assert.That(CachingAllocator.SizeClass(257), Is.EqualTo(512));
        Assert.That(CachingAllocator.SizeClass(1024), Is.EqualTo(1024));
        Assert.That(CachingAllocator.SizeClass(1025), Is.EqualTo(1280));
        Assert.That(CachingAllocator.SizeClass(5000), Is.EqualTo(5120));
        for (long b = 1; b < 1 << 22; b = (b * 3 / 2) + 1)
        {
            long c = CachingAllocator.SizeClass(b);
            Assert.That(c, Is.GreaterThanOrEqualTo(b));
            Assert.That(c, Is.LessThanOrEqualTo((b * 5 / 4) + 256));
        }
    }

    [Test]
    public void Thousands_of_cycles_do_not_grow_device_memory()
    {
        using var dev = Device.Create(DeviceKind.Cpu, new DeviceOptions { HonorEnvironment = false });
        int[] sizes = [1, 7, 100, 1000, 4097, 65536];
        foreach (int n in sizes)
        {
            using var t = Tensor.Empty(dev, new Shape(n));
        }

        var warm = dev.Allocator.Stats;
        for (int cycle = 0; cycle < 5000; cycle++)
        {
            int n = sizes[cycle % sizes.Length];
            using var t = Tensor.Empty(dev, new Shape(n));
            using var u = Tensor.Empty(dev, new Shape(n));
        }

        var after = dev.Allocator.Stats;
        Assert.That(after.BytesInUse, Is.Zero);
        Assert.That(after.BytesReserved, Is.LessThanOrEqualTo(warm.BytesReserved * 2));
        Assert.That(after.DeviceAllocations - warm.DeviceAllocations, Is.LessThanOrEqualTo(sizes.Length), "only the second buffer of each class is new");
        Assert.That(after.Rents - warm.Rents, Is.EqualTo(10000));
        Assert.That(after.CacheHits - warm.CacheHits, Is.GreaterThanOrEqualTo(10000 - sizes.Length));
    }

    [Test]
    public void Peak_and_in_use_bytes_are_tracked_and_views_do_not_free()
    {
        using var dev = Device.Create(DeviceKind.Cpu, new DeviceOptions { HonorEnvironment = false });
        var t = Tensor.Empty(dev, new Shape(1000));
        var view = t.Reshape(new Shape(10, 100));
        view.Dispose();
        Assert.That(dev.Allocator.Stats.BytesInUse, Is.EqualTo(4096));
        t.Dispose();
        t.Dispose();
        Assert.That(dev.Allocator.Stats.BytesInUse, Is.Zero);
        Assert.That(dev.Allocator.Stats.PeakBytesInUse, Is.EqualTo(4096));
        dev.Allocator.Trim();
        Assert.That(dev.Allocator.Stats.BytesReserved, Is.Zero);
    }
}
