// Datasets, seeded orders, normalization and augmentation: exact values on tiny inputs, and the errors they give.
using System;
using System.Linq;
using Engine.Data;
using NUnit.Framework;

namespace Engine.Tests.Data;

public sealed class DatasetTests
{
    [Test]
    public void Epoch_orders_are_permutations_fixed_by_seed_and_epoch()
    {
        var a = new int[50];
        var b = new int[50];
        SampleRandom.EpochOrder(a, seed: 7, epoch: 3, shuffle: true);
        SampleRandom.EpochOrder(b, seed: 7, epoch: 3, shuffle: true);
        Assert.That(b, Is.EqualTo(a));
        Assert.That(a.Order(), Is.EqualTo(Enumerable.Range(0, 50)));
        Assert.That(a, Is.Not.EqualTo(Enumerable.Range(0, 50)));
        SampleRandom.EpochOrder(b, seed: 7, epoch: 4, shuffle: true);
        Assert.That(b, Is.Not.EqualTo(a));
        SampleRandom.EpochOrder(b, seed: 8, epoch: 3, shuffle: true);
        Assert.That(b, Is.Not.EqualTo(a));
        SampleRandom.EpochOrder(b, seed: 7, epoch: 3, shuffle: false);
        Assert.That(b, Is.EqualTo(Enumerable.Range(0, 50)));
    }

    [Test]
    public void The_generator_is_pinned_and_uniform()
    {
        // The stream is part of the contract (splits and augmentations must not change between releases).
        var r = SampleRandom.For(1, 2, 3);
        var first = new[] { r.NextInt(1000), r.NextInt(1000), r.NextInt(1000) };
        var again = SampleRandom.For(1, 2, 3);
        Assert.That(new[] { again.NextInt(1000), again.NextInt(1000), again.NextInt(1000) }, Is.EqualTo(first));
        var counts = new int[5];
        var u = new SampleRandom(42);
        for (int i = 0; i < 50000; i++)
        {
            counts[u.NextInt(-2, 2) + 2]++;
            float f = u.NextSingle();
            Assert.That(f, Is.InRange(0f, 0.99999995f));
        }

        Assert.That(counts, Is.All.InRange(9500, 10500));
        Assert.That(() => u.NextInt(0), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void In_memory_datasets_read_subset_and_split()
    {
        var ds = SyntheticData.Indexed(10, new Shape(1, 2, 2));
        var buf = new float[4];
        Assert.That(ds.Read(3, buf), Is.EqualTo(0));
        Assert.That(buf, Is.EqualTo(new[] { 3000f, 3001f, 3002f, 3003f }));
        Assert.That(ds.Sample(9).ToArray(), Is.EqualTo(new[] { 9000f, 9001f, 9002f, 9003f }));
        var sub = ds.Subset([4, 1]);
        Assert.That(sub.Count, Is.EqualTo(2));
        Assert.That(sub.Label(0), Is.EqualTo(1));
        Assert.That(sub.Sample(1)[0], Is.EqualTo(1000f));

        var (train, test) = ds.Split(7, seed: 5);
        var (train2, _) = ds.Split(7, seed: 5);
        Assert.That(train.Count, Is.EqualTo(7));
        Assert.That(test.Count, Is.EqualTo(3));
        Assert.That(train2.Features.ToArray(), Is.EqualTo(train.Features.ToArray()));
        var seen = Enumerable.Range(0, 7).Select(i => SyntheticData.SampleOf(train.Sample(i)))
            .Concat(Enumerable.Range(0, 3).Select(i => SyntheticData.SampleOf(test.Sample(i))));
        Assert.That(seen.Order(), Is.EqualTo(Enumerable.Range(0, 10)));
        Assert.That(InMemoryDataset.From(new FailingDataset(4, -1)).Sample(2).ToArray(), Is.EqualTo(new[] { 2f, 2f }));
    }

    [Test]
    public void Bad_datasets_are_explained()
    {
        var s = new Shape(2);
        Assert.That(() => new InMemoryDataset(new float[5], new int[2], s, 2), Throws.ArgumentException.With.Message.Contain("5 elements").And.Message.Contain("need 4"));
        Assert.That(() => new InMemoryDataset(new float[4], [0, 2], s, 2), Throws.ArgumentException.With.Message.Contain("labels[1] is 2"));
        Assert.That(() => new InMemoryDataset([], [], s, 2), Throws.ArgumentException.With.Message.Contain("at least one sample"));
        var ds = SyntheticData.Indexed(4, s);
        Assert.That(() => ds.Read(4, new float[2]), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("[0, 4)"));
        Assert.That(() => ds.Read(0, new float[3]), Throws.ArgumentException.With.Message.Contain("3 elements"));
        Assert.That(() => ds.Split(4, 1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("0 < firstCount < 4"));
    }

    [Test]
    public void Normalization_matches_the_population_statistics()
    {
        // Two channels of 2 elements, two samples: channel 0 holds 1,3,5,7 and channel 1 holds 10,10,10,30.
        var ds = new InMemoryDataset([1, 3, 10, 10, 5, 7, 10, 30], [0, 1], new Shape(2, 1, 2), 2);
        var all = Normalization.Compute(ds);
        Assert.That(all.Mean[0], Is.EqualTo(9.5f).Within(1e-5f));
        double var = new double[] { 1, 3, 10, 10, 5, 7, 10, 30 }.Select(v => (v - 9.5) * (v - 9.5)).Average();
        Assert.That(all.Std[0], Is.EqualTo((float)Math.Sqrt(var)).Within(1e-5f));

        var per = Normalization.Compute(ds, perChannel: true);
        Assert.That(per.Mean.ToArray(), Is.EqualTo(new[] { 4f, 15f }).Within(1e-5f));
        Assert.That(per.Std.ToArray(), Is.EqualTo(new[] { (float)Math.Sqrt(5), (float)Math.Sqrt(75) }).Within(1e-5f));
        ds.Normalize(per);
        Assert.That(ds.Sample(0).ToArray(), Is.EqualTo(new[] { -3 / MathF.Sqrt(5), -1 / MathF.Sqrt(5), -5 / MathF.Sqrt(75), -5 / MathF.Sqrt(75) }).Within(1e-5f));
        var after = Normalization.Compute(ds, perChannel: true);
        Assert.That(after.Mean.ToArray(), Is.EqualTo(new[] { 0f, 0f }).Within(1e-5f));
        Assert.That(after.Std.ToArray(), Is.EqualTo(new[] { 1f, 1f }).Within(1e-5f));

        Assert.That(() => new Normalization([0f], [0f]), Throws.ArgumentException.With.Message.Contain("std[0] is 0"));
        Assert.That(() => new Normalization([0f, 1f], [1f]), Throws.ArgumentException.With.Message.Contain("one value per channel"));
        Assert.That(() => per.Apply(new float[6], new Shape(3, 2)), Throws.ArgumentException.With.Message.Contain("2 channels"));
        Assert.That(Normalization.Compute(new InMemoryDataset([2, 2], [0], new Shape(2), 1)).Std[0], Is.EqualTo(1f), "a constant set keeps std 1");
    }

    [Test]
    public void Shifts_move_content_and_pad_with_zeros()
    {
        // A 3x4 image 1..12 and a second channel 101..112.
        float[] Img() => [.. Enumerable.Range(1, 12).Select(v => (float)v), .. Enumerable.Range(101, 12).Select(v => (float)v)];
        var shape = new Shape(2, 3, 4);
        var a = Img();
        RandomShift.Shift(a, shape, 1, 2);
        Assert.That(a[..12], Is.EqualTo(new float[] { 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 5, 6 }));
        Assert.That(a[12..], Is.EqualTo(new float[] { 0, 0, 0, 0, 0, 0, 101, 102, 0, 0, 105, 106 }));
        a = Img();
        RandomShift.Shift(a, shape, -1, -1);
        Assert.That(a[..12], Is.EqualTo(new float[] { 6, 7, 8, 0, 10, 11, 12, 0, 0, 0, 0, 0 }));
        a = Img();
        RandomShift.Shift(a, shape, 2, -3);
        Assert.That(a[..12], Is.EqualTo(new float[] { 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0 }));
        a = Img();
        RandomShift.Shift(a, shape, 0, 0);
        Assert.That(a, Is.EqualTo(Img()));
        RandomShift.Shift(a, shape, 3, 0);
        Assert.That(a, Is.All.Zero);
        Assert.That(() => RandomShift.Shift(new float[3], new Shape(3), 1, 1), Throws.ArgumentException.With.Message.Contain("height and width"));
        Assert.That(() => new RandomShift(-1), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Random_shifts_and_crops_cover_the_range_and_are_seeded()
    {
        var shape = new Shape(5, 5);
        var seenShift = new bool[5, 5];
        var seenCrop = new bool[5, 5];
        for (int i = 0; i < 400; i++)
        {
            // A single lit pixel at the centre reveals the shift.
            var img = new float[25];
            img[12] = 1;
            var rng = SampleRandom.For(3, 0, i);
            new RandomShift(2).Apply(img, shape, ref rng);
            int at = Array.IndexOf(img, 1f);
            seenShift[at / 5, at % 5] = true;

            var img2 = new float[25];
            img2[12] = 1;
            var rng2 = SampleRandom.For(3, 0, i);
            new RandomCrop(2).Apply(img2, shape, ref rng2);
            int at2 = Array.IndexOf(img2, 1f);
            seenCrop[at2 / 5, at2 % 5] = true;
            Assert.That(img2.Sum(), Is.EqualTo(1f));
        }

        Assert.That(seenShift.Cast<bool>(), Is.All.True, "every shift in [-2, 2]^2 occurs");
        Assert.That(seenCrop.Cast<bool>(), Is.All.True, "every crop offset in [0, 4]^2 occurs");
    }
}
