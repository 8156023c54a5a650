// Datasets whose targets are not class labels: float values (vectors, masks, reconstructions) and triplets, through
// the host and device loaders (staged too), with transforms that move a mask with its image.
using System;
using System.Linq;
using Engine.Data;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Data;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class TargetDataTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    /// <summary>n images (1, 4, 5) whose pixel (y, x) is i*100 + y*10 + x, and masks (4, 5) of the same values.</summary>
    private static InMemoryDataset Images(int n)
    {
        var f = new float[n * 20];
        for (int i = 0; i < f.Length; i++)
        {
            f[i] = ((i / 20) * 100) + (i % 20 / 5 * 10) + (i % 5);
        }

        return new InMemoryDataset(f, new Shape(1, 4, 5), (float[])f.Clone(), new Shape(4, 5));
    }

    [Test]
    public void Float_targets_are_validated_and_kept_through_subset_and_split()
    {
        var d = new InMemoryDataset([1, 2, 3, 4, 5, 6], new Shape(2), [10, 20, 30], new Shape(1));
        Assert.That((d.Count, d.TargetKind, d.TargetShape, d.ClassCount), Is.EqualTo((3, TargetKind.Values, new Shape(1), 0)));
        Assert.That(d.Target(2).ToArray(), Is.EqualTo(new[] { 30f }));
        Assert.That(() => d.Label(0), Throws.InvalidOperationException.With.Message.Contain("not class labels"));
        var s = d.Subset([2, 0]);
        Assert.That(s.Targets.ToArray(), Is.EqualTo(new[] { 30f, 10f }));
        Assert.That(s.Features.ToArray(), Is.EqualTo(new[] { 5f, 6f, 1f, 2f }));
        var (a, b) = d.Split(2, seed: 3);
        Assert.That(a.Targets.ToArray().Concat(b.Targets.ToArray()).Order(), Is.EqualTo(new[] { 10f, 20f, 30f }));
        Assert.That(InMemoryDataset.From(new ReconstructionDataset(d)).Targets.ToArray(), Is.EqualTo(d.Features.ToArray()), "a reconstruction's target is its input");

        Assert.That(() => new InMemoryDataset([1, 2, 3], new Shape(2), [1, 2], new Shape(1)),
            Throws.ArgumentException.With.Message.Contain("features has 3 elements but 2 samples of shape [2] need 4"));
        Assert.That(() => new InMemoryDataset([1, 2], new Shape(1), [1, 2, 3], new Shape(2)),
            Throws.ArgumentException.With.Message.Contain("a whole number of targets of shape [2]"));
        Assert.That(() => new InMemoryDataset([1, 2], new Shape(1), [1, float.NaN], new Shape(1)),
            Throws.ArgumentException.With.Message.Contain("targets[1] is NaN"));
        Assert.That(() => new DataLoader(d, new DataLoaderOptions { Labels = LabelFormat.OneHot }),
            Throws.ArgumentException.With.Message.Contain("Labels = OneHot needs a dataset of class labels"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void A_shift_moves_each_mask_with_its_image_on_the_device(bool staged)
    {
        var data = Images(5);
        var options = new DataLoaderOptions { BatchSize = 2, Seed = 4, Transforms = [new RandomShift(2)], ForceStaging = staged };
        using var loader = new DeviceDataLoader(Dev, data, options);
        Assert.That(loader.LabelShape, Is.EqualTo(new Shape(2, 4, 5)));
        int seen = 0, moved = 0;
        for (int epoch = 0; epoch < 2; epoch++)
        {
            foreach (var b in loader.Epoch(epoch))
            {
                var f = b.Features.ToArray();
                var t = b.Labels.ToArray();
                Assert.That(t, Is.EqualTo(f), "the mask got the same shift as the image (zero where uncovered)");
                for (int i = 0; i < b.Count; i++)
                {
                    moved += f.AsSpan(i * 20, 20).SequenceEqual(data.Sample(b.SampleIndices[i])) ? 0 : 1;
                }

                seen += b.Count;
            }
        }

        Assert.That(seen, Is.EqualTo(10));
        Assert.That(moved, Is.GreaterThan(0), "some shifts were not zero");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Triples_are_stacked_as_anchors_positives_negatives(bool staged)
    {
        // 7 samples of 3 classes; feature = the sample's index, so every row names its source sample.
        int[] labels = [0, 1, 2, 0, 1, 2, 0];
        var source = new InMemoryDataset([.. Enumerable.Range(0, 7).Select(i => (float)i)], labels, new Shape(1), 3);
        var triples = new TripletDataset(source, seed: 5);
        Assert.That((triples.Count, triples.TargetKind, triples.TargetShape), Is.EqualTo((7, TargetKind.Triplet, new Shape(3))));
        Assert.That(new TripletDataset(source, seed: 5).Triplet(3, 1), Is.EqualTo(triples.Triplet(3, 1)), "fixed by (seed, epoch, anchor)");
        Assert.That(Enumerable.Range(0, 4).Select(e => triples.Triplet(0, e)).Distinct().Count(), Is.GreaterThan(1), "new triples in new epochs");

        using var loader = new DeviceDataLoader(Dev, triples, new DataLoaderOptions { BatchSize = 3, Seed = 2, ForceStaging = staged });
        Assert.That((loader.FeatureShape, loader.LabelShape, loader.RowsPerSample), Is.EqualTo((new Shape(9, 1), new Shape(9), 3)));
        int anchors = 0;
        foreach (var b in loader.Epoch(1))
        {
            int n = b.Count;
            var f = b.Features.ToArray();
            var y = b.Labels.ToArray();
            Assert.That(f, Has.Length.EqualTo(3 * n), "a partial batch is 3 Count rows");
            for (int i = 0; i < n; i++)
            {
                int a = (int)f[i], p = (int)f[n + i], q = (int)f[(2 * n) + i];
                Assert.That((a, p, q), Is.EqualTo(triples.Triplet(b.SampleIndices[i], 1)));
                Assert.That(p, Is.Not.EqualTo(a));
                Assert.That(labels[p], Is.EqualTo(labels[a]));
                Assert.That(labels[q], Is.Not.EqualTo(labels[a]));
                Assert.That((y[i], y[n + i], y[(2 * n) + i]), Is.EqualTo(((float)labels[a], (float)labels[p], (float)labels[q])));
                anchors++;
            }
        }

        Assert.That(anchors, Is.EqualTo(7));
        Assert.That(() => new TripletDataset(new InMemoryDataset([1, 2], [0, 0], new Shape(1), 2), 1),
            Throws.ArgumentException.With.Message.Contain("at least two classes"));
    }
}
