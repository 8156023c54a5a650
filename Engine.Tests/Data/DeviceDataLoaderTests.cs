// The device loader on every test device, direct and staged: the same batches as the host loader, partial-batch
// views, and no device rents or managed allocations per batch once warm.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Data;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Data;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class DeviceDataLoaderTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    private static DataLoaderOptions Options(bool staged, int batch = 6, LabelFormat labels = LabelFormat.Indices, bool prefetch = true, bool images = false, bool shuffle = true) => new()
    {
        Shuffle = shuffle,
        BatchSize = batch,
        Seed = 21,
        Transforms = images ? [new RandomShift(1)] : [],
        Labels = labels,
        Prefetch = prefetch,
        ForceStaging = staged,
    };

    [TestCase(false)]
    [TestCase(true)]
    public void Device_batches_equal_host_batches_in_every_epoch(bool staged)
    {
        var ds = SyntheticData.Indexed(29, new Shape(1, 3, 3));
        using var host = new DataLoader(ds, Options(staged, images: true));
        using var dev = new DeviceDataLoader(Dev, ds, Options(staged, images: true));
        Assert.That(dev.Transfer, Is.EqualTo(!Dev.IsHostMemory ? (Dev.Kind == DeviceKind.Cuda ? DeviceTransfer.Overlapped : DeviceTransfer.Staged)
            : staged ? DeviceTransfer.Staged : DeviceTransfer.Direct));
        Assert.That(dev.FeatureShape, Is.EqualTo(new Shape(6, 1, 3, 3)));
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var expected = host.Epoch(epoch).GetEnumerator();
            int n = 0;
            foreach (var b in dev.Epoch(epoch))
            {
                Assert.That(expected.MoveNext(), Is.True);
                var h = expected.Current;
                Assert.That(b.Index, Is.EqualTo(n++));
                Assert.That(b.Count, Is.EqualTo(h.Count));
                Assert.That(b.Features.Shape, Is.EqualTo(new Shape(h.Count, 1, 3, 3)));
                Assert.That(b.Labels.Shape, Is.EqualTo(new Shape(h.Count)));
                Assert.That(b.SampleIndices.ToArray(), Is.EqualTo(h.SampleIndices[..h.Count]));
                Assert.That(b.Features.ToArray(), Is.EqualTo(h.FeatureSpan.ToArray()), $"epoch {epoch} batch {b.Index}");
                Assert.That(b.Labels.ToArray(), Is.EqualTo(h.LabelSpan.ToArray()));
            }

            Assert.That(expected.MoveNext(), Is.False);
            expected.Dispose();
            Assert.That(n, Is.EqualTo(5));
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void One_hot_labels_and_synchronous_filling_give_the_same_batches(bool staged)
    {
        var ds = SyntheticData.Indexed(13, new Shape(4), classes: 5);
        using var a = new DeviceDataLoader(Dev, ds, Options(staged, batch: 4, labels: LabelFormat.OneHot));
        using var b = new DeviceDataLoader(Dev, ds, Options(staged, batch: 4, labels: LabelFormat.OneHot, prefetch: false));
        var lb = b.Epoch(1).GetEnumerator();
        foreach (var x in a.Epoch(1))
        {
            Assert.That(lb.MoveNext());
            Assert.That(x.Labels.Shape, Is.EqualTo(new Shape(x.Count, 5)));
            var labels = x.Labels.ToArray();
            for (int i = 0; i < x.Count; i++)
            {
                Assert.That(labels[(i * 5) + (x.SampleIndices[i] % 5)], Is.EqualTo(1f));
                Assert.That(labels.AsSpan(i * 5, 5).ToArray().Sum(), Is.EqualTo(1f));
            }

            Assert.That(lb.Current.Features.ToArray(), Is.EqualTo(x.Features.ToArray()));
            Assert.That(lb.Current.Labels.ToArray(), Is.EqualTo(labels));
        }

        lb.Dispose();
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Breaking_early_then_starting_again_is_safe(bool staged)
    {
        var ds = SyntheticData.Indexed(40, new Shape(2));
        using var dev = new DeviceDataLoader(Dev, ds, Options(staged, batch: 3));
        foreach (var b in dev.Epoch(0))
        {
            if (b.Index == 4)
            {
                break;
            }
        }

        var seen = dev.Epoch(0).GetEnumerator();
        var all = new System.Collections.Generic.List<int>();
        while (seen.MoveNext())
        {
            all.AddRange(seen.Current.SampleIndices.ToArray());
            Assert.That(SyntheticData.SampleOf(seen.Current.Features.ToArray()), Is.EqualTo(seen.Current.SampleIndices[0]));
        }

        seen.Dispose();
        Assert.That(all.Order(), Is.EqualTo(Enumerable.Range(0, 40)));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Steady_state_epochs_rent_no_device_memory_and_allocate_nothing(bool staged)
    {
        var ds = SyntheticData.Indexed(100, new Shape(1, 4, 4));
        using var dev = new DeviceDataLoader(Dev, ds, Options(staged, batch: 16, images: true));
        long touched = 0;
        for (int epoch = 0; epoch < 2; epoch++)
        {
            foreach (var b in dev.Epoch(epoch))
            {
                touched += b.Features.Length;
            }
        }

        var stats = Dev.Allocator.Stats;
        long before = GC.GetAllocatedBytesForCurrentThread();
        long bgBefore = dev.BackgroundAllocatedBytes;
        for (int epoch = 2; epoch < 6; epoch++)
        {
            foreach (var b in dev.Epoch(epoch))
            {
                touched += b.Features.Length;
            }
        }

        long consumer = GC.GetAllocatedBytesForCurrentThread() - before;
        long background = dev.BackgroundAllocatedBytes - bgBefore;
        var after = Dev.Allocator.Stats;
        Assert.That(after.Rents - stats.Rents, Is.Zero, "device rents over 4 epochs");
        Assert.That(after.DeviceAllocations - stats.DeviceAllocations, Is.Zero);
        Assert.That(consumer, Is.Zero, "bytes allocated by the consuming thread over 4 epochs");
        Assert.That(background, Is.Zero, "bytes allocated by the prefetch thread over 4 epochs");
        Assert.That(touched, Is.EqualTo(6 * 100 * 16));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void A_failing_sample_surfaces_at_its_batch_and_the_loader_still_disposes(bool staged)
    {
        var dev = new DeviceDataLoader(Dev, new FailingDataset(30, failAt: 17), Options(staged, batch: 4, shuffle: false));
        int seen = 0;
        Assert.That(
            () =>
            {
                foreach (var b in dev.Epoch(0))
                {
                    seen++;
                }
            },
            Throws.InvalidOperationException.With.Message.EqualTo("sample 17 is broken"));
        Assert.That(seen, Is.EqualTo(4), "the batches before the broken one, also when copies run a batch ahead");
        dev.Dispose();
    }

    [Test]
    public void The_loader_returns_its_device_memory_when_disposed()
    {
        var ds = SyntheticData.Indexed(10, new Shape(8));
        long inUse = Dev.Allocator.Stats.BytesInUse;
        var dev = new DeviceDataLoader(Dev, ds, Options(false, batch: 4));
        foreach (var b in dev.Epoch(0))
        {
            Assert.That(b.Count, Is.GreaterThan(0));
        }

        Assert.That(Dev.Allocator.Stats.BytesInUse, Is.GreaterThan(inUse));
        dev.Dispose();
        dev.Dispose();
        Assert.That(Dev.Allocator.Stats.BytesInUse, Is.EqualTo(inUse));
        Assert.That(() => dev.Epoch(0), Throws.InstanceOf<ObjectDisposedException>());
    }

    [TestCase(false)]
    [TestCase(true)]
    public void An_epoch_started_at_a_later_batch_gives_the_same_tail(bool staged)
    {
        var ds = SyntheticData.Indexed(29, new Shape(1, 3, 3));
        using var dev = new DeviceDataLoader(Dev, ds, Options(staged, images: true));
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var whole = Collect(dev.Epoch(epoch));
            foreach (int first in new[] { 1, 3, 4, 5 })
            {
                var tail = Collect(dev.Epoch(epoch, first));
                Assert.That(tail.Count, Is.EqualTo(5 - first), $"epoch {epoch} from batch {first}");
                for (int k = 0; k < tail.Count; k++)
                {
                    var (w, t) = (whole[first + k], tail[k]);
                    Assert.That((t.Index, t.Count), Is.EqualTo((w.Index, w.Count)));
                    Assert.That(t.F, Is.EqualTo(w.F));
                    Assert.That(t.L, Is.EqualTo(w.L));
                    Assert.That(t.I, Is.EqualTo(w.I));
                }
            }
        }

        Assert.That(() => dev.Epoch(0, 6), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("firstBatch must lie in [0, 5]"));
        Assert.That(() => dev.Epoch(0, -1), Throws.InstanceOf<ArgumentOutOfRangeException>());

        static List<(int Index, int Count, float[] F, float[] L, int[] I)> Collect(DeviceDataLoader.EpochBatches batches)
        {
            var list = new List<(int, int, float[], float[], int[])>();
            foreach (var b in batches)
            {
                list.Add((b.Index, b.Count, b.Features.ToArray(), b.Labels.ToArray(), b.SampleIndices.ToArray()));
            }

            return list;
        }
    }
}
