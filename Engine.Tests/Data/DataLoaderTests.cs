// The host loader: batch counts, the last partial batch, seeded order per epoch, transforms, prefetch equivalence,
// errors raised on the background thread, and no allocation per batch once warm.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Data;
using NUnit.Framework;

namespace Engine.Tests.Data;

public sealed class DataLoaderTests
{
    private static List<(int Index, int Count, float[] Features, float[] Labels, int[] Samples)> Collect(DataLoader loader, int epoch)
    {
        var list = new List<(int, int, float[], float[], int[])>();
        foreach (var b in loader.Epoch(epoch))
        {
            list.Add((b.Index, b.Count, b.FeatureSpan.ToArray(), b.LabelSpan.ToArray(), b.SampleIndices[..b.Count]));
        }

        return list;
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Every_sample_appears_once_per_epoch_and_the_last_partial_batch_is_kept(bool prefetch)
    {
        var ds = SyntheticData.Indexed(23, new Shape(3));
        using var loader = new DataLoader(ds, new DataLoaderOptions { BatchSize = 5, Seed = 11, Prefetch = prefetch });
        Assert.That(loader.BatchCount, Is.EqualTo(5));
        var batches = Collect(loader, 0);
        Assert.That(batches.Select(b => b.Count), Is.EqualTo(new[] { 5, 5, 5, 5, 3 }));
        Assert.That(batches.Select(b => b.Index), Is.EqualTo(Enumerable.Range(0, 5)));
        var samples = batches.SelectMany(b => b.Samples).ToArray();
        Assert.That(samples.Order(), Is.EqualTo(Enumerable.Range(0, 23)));
        Assert.That(samples, Is.Not.EqualTo(Enumerable.Range(0, 23)), "shuffled");
        foreach (var b in batches)
        {
            for (int i = 0; i < b.Count; i++)
            {
                int s = b.Samples[i];
                Assert.That(b.Features.AsSpan(i * 3, 3).ToArray(), Is.EqualTo(new float[] { s * 1000, (s * 1000) + 1, (s * 1000) + 2 }));
                Assert.That(b.Labels[i], Is.EqualTo(s % 3));
            }
        }
    }

    [Test]
    public void Orders_are_fixed_by_seed_and_epoch_and_prefetch_changes_nothing()
    {
        var ds = SyntheticData.Indexed(40, new Shape(2, 3, 3));
        var transforms = new ISampleTransform[] { new RandomShift(1), new Normalize(new Normalization(100f, 10f)) };
        using var a = new DataLoader(ds, new DataLoaderOptions { BatchSize = 8, Seed = 3, Transforms = transforms });
        using var b = new DataLoader(ds, new DataLoaderOptions { BatchSize = 8, Seed = 3, Transforms = transforms, Prefetch = false });
        using var c = new DataLoader(ds, new DataLoaderOptions { BatchSize = 8, Seed = 4, Transforms = transforms });
        var a0 = Collect(a, 0);
        var a1 = Collect(a, 1);
        Assert.That(Collect(b, 0).SelectMany(x => x.Features), Is.EqualTo(a0.SelectMany(x => x.Features)));
        Assert.That(Collect(a, 0).SelectMany(x => x.Features), Is.EqualTo(a0.SelectMany(x => x.Features)), "epoch 0 again");
        Assert.That(a1.SelectMany(x => x.Samples), Is.Not.EqualTo(a0.SelectMany(x => x.Samples)));
        Assert.That(Collect(c, 0).SelectMany(x => x.Samples), Is.Not.EqualTo(a0.SelectMany(x => x.Samples)));

        // A batch equals its samples read by hand with the sample's own random stream.
        var first = a1[0];
        var row = new float[18];
        for (int i = 0; i < first.Count; i++)
        {
            int s = first.Samples[i];
            ds.Read(s, row);
            var rng = SampleRandom.For(3, 1, s);
            foreach (var t in transforms)
            {
                t.Apply(row, ds.SampleShape, ref rng);
            }

            Assert.That(first.Features.AsSpan(i * 18, 18).ToArray(), Is.EqualTo(row));
        }
    }

    [Test]
    public void Unshuffled_loaders_keep_dataset_order_and_drop_last_drops_the_partial_batch()
    {
        var ds = SyntheticData.Indexed(10, new Shape(1));
        using var loader = new DataLoader(ds, new DataLoaderOptions { BatchSize = 4, Shuffle = false, DropLast = true });
        var batches = Collect(loader, 5);
        Assert.That(loader.BatchCount, Is.EqualTo(2));
        Assert.That(batches.SelectMany(b => b.Samples), Is.EqualTo(Enumerable.Range(0, 8)));
        Assert.That(batches.Select(b => b.Count), Is.All.EqualTo(4));
    }

    [Test]
    public void One_hot_labels_have_one_one_per_row()
    {
        var ds = SyntheticData.Indexed(7, new Shape(1), classes: 4);
        using var loader = new DataLoader(ds, new DataLoaderOptions { BatchSize = 3, Labels = LabelFormat.OneHot, Seed = 2 });
        foreach (var b in Collect(loader, 0).Concat(Collect(loader, 1)))
        {
            Assert.That(b.Labels.Length, Is.EqualTo(b.Count * 4));
            for (int i = 0; i < b.Count; i++)
            {
                var expected = new float[4];
                expected[b.Samples[i] % 4] = 1f;
                Assert.That(b.Labels.AsSpan(i * 4, 4).ToArray(), Is.EqualTo(expected));
            }
        }
    }

    [Test]
    public void Breaking_early_ends_the_epoch_and_overlapping_epochs_are_refused()
    {
        var ds = SyntheticData.Indexed(30, new Shape(2));
        using var loader = new DataLoader(ds, new DataLoaderOptions { BatchSize = 4, Seed = 1 });
        foreach (var b in loader.Epoch(0))
        {
            if (b.Index == 2)
            {
                break;
            }
        }

        Assert.That(Collect(loader, 0).SelectMany(b => b.Samples).Order(), Is.EqualTo(Enumerable.Range(0, 30)));
        var e = loader.Epoch(1).GetEnumerator();
        Assert.That(e.MoveNext(), Is.True);
        Assert.That(() => loader.Epoch(2).GetEnumerator(), Throws.InvalidOperationException.With.Message.Contain("already being enumerated"));
        e.Dispose();
        Assert.That(() => e.MoveNext(), Throws.InvalidOperationException.With.Message.Contain("has ended"));
        Assert.That(Collect(loader, 2), Has.Count.EqualTo(8));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Errors_in_a_sample_reach_the_caller(bool prefetch)
    {
        using var loader = new DataLoader(new FailingDataset(20, failAt: 13), new DataLoaderOptions { BatchSize = 4, Shuffle = false, Prefetch = prefetch });
        var seen = new List<int>();
        Assert.That(
            () =>
            {
                foreach (var b in loader.Epoch(0))
                {
                    seen.Add(b.Index);
                }
            },
            Throws.InvalidOperationException.With.Message.EqualTo("sample 13 is broken"));
        Assert.That(seen, Is.EqualTo(new[] { 0, 1, 2 }));
        Assert.That(() => new DataLoader(new FailingDataset(20, 1), new DataLoaderOptions { BatchSize = 0 }), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("BatchSize"));
        Assert.That(
            () => new DataLoader(new FailingDataset(3, 1), new DataLoaderOptions { BatchSize = 4, DropLast = true }),
            Throws.ArgumentException.With.Message.Contain("leaves no batch"));
    }

    [Test]
    public void Steady_state_epochs_allocate_nothing()
    {
        var ds = SyntheticData.Indexed(300, new Shape(1, 6, 6));
        using var loader = new DataLoader(ds, new DataLoaderOptions
        {
            BatchSize = 32,
            Seed = 9,
            Transforms = [new RandomCrop(2), new Normalize(new Normalization(1f, 2f))],
        });
        float sum = 0;
        for (int epoch = 0; epoch < 2; epoch++)
        {
            foreach (var b in loader.Epoch(epoch))
            {
                sum += b.Features[0];
            }
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        long bgBefore = loader.BackgroundAllocatedBytes;
        for (int epoch = 2; epoch < 6; epoch++)
        {
            foreach (var b in loader.Epoch(epoch))
            {
                sum += b.Features[0];
            }
        }

        long consumer = GC.GetAllocatedBytesForCurrentThread() - before;
        long background = loader.BackgroundAllocatedBytes - bgBefore;
        Assert.That(consumer, Is.Zero, "bytes allocated by the consuming thread over 4 epochs");
        Assert.That(background, Is.Zero, "bytes allocated by the prefetch thread over 4 epochs");
        Assert.That(float.IsFinite(sum));
    }
}
