// The distributed sampler of the loaders: shards of one shared epoch order that are disjoint and cover the data, even
// shards padded from the start of the order (every rank the same steps), uneven shards for evaluation, and the property
// data parallelism rests on: step k of R ranks with batch b sees exactly the samples of step k of one loader with batch R*b.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Data;
using NUnit.Framework;

namespace Engine.Tests.Distributed;

public sealed class ShardingTests
{
    private static List<int[]> Batches(IDataset ds, DataLoaderOptions o, int epoch)
    {
        using var loader = new DataLoader(ds, o);
        var list = new List<int[]>();
        foreach (var b in loader.Epoch(epoch))
        {
            list.Add(b.SampleIndices[..b.Count]);
        }

        return list;
    }

    [Test]
    public void Even_shards_are_disjoint_cover_the_data_and_pad_from_the_start_of_the_order()
    {
        var ds = Data.SyntheticData.Indexed(10, new Shape(2));
        var whole = Batches(ds, new DataLoaderOptions { BatchSize = 10, Seed = 5 }, 1)[0];
        var shards = Enumerable.Range(0, 3).Select(r => Batches(ds, new DataLoaderOptions { BatchSize = 2, Seed = 5, ShardCount = 3, ShardIndex = r }, 1)).ToArray();
        Assert.That(shards.Select(s => s.Count), Is.All.EqualTo(2), "ceil(10 / 3) = 4 samples per rank: two batches of 2 on every rank");
        var flat = shards.Select(s => s.SelectMany(b => b).ToArray()).ToArray();
        for (int r = 0; r < 3; r++)
        {
            // Rank r reads positions r, r + 3, r + 6, r + 9 of the epoch order; past 10 it wraps to positions 0 and 1.
            int[] expected = [.. Enumerable.Range(0, 4).Select(j => whole[((r + (3 * j)) % 10)])];
            Assert.That(flat[r], Is.EqualTo(expected), $"rank {r}");
        }

        Assert.That(flat.SelectMany(f => f).Distinct().Order(), Is.EqualTo(Enumerable.Range(0, 10)), "every sample is read");
        Assert.That(flat[1][3], Is.EqualTo(whole[0]), "padding repeats the first positions of the order");
        Assert.That(flat[2][3], Is.EqualTo(whole[1]));
    }

    [Test]
    public void Uneven_shards_read_every_sample_exactly_once()
    {
        var ds = Data.SyntheticData.Indexed(11, new Shape(2));
        var counts = new List<int>();
        var all = new List<int>();
        for (int r = 0; r < 4; r++)
        {
            var o = new DataLoaderOptions { BatchSize = 2, Shuffle = false, ShardCount = 4, ShardIndex = r, EvenShards = false };
            var b = Batches(ds, o, 0);
            counts.Add(b.Sum(x => x.Length));
            all.AddRange(b.SelectMany(x => x));
        }

        Assert.That(counts, Is.EqualTo(new[] { 3, 3, 3, 2 }));
        Assert.That(all.Order(), Is.EqualTo(Enumerable.Range(0, 11)));
    }

    [TestCase(2)]
    [TestCase(4)]
    public void Step_k_of_all_ranks_sees_the_batch_one_loader_with_the_total_batch_sees(int ranks)
    {
        var ds = Data.SyntheticData.Indexed(48, new Shape(2));
        var whole = Batches(ds, new DataLoaderOptions { BatchSize = 8, Seed = 9 }, 2);
        var shards = Enumerable.Range(0, ranks).Select(r => Batches(ds, new DataLoaderOptions { BatchSize = 8 / ranks, Seed = 9, ShardCount = ranks, ShardIndex = r }, 2)).ToArray();
        Assert.That(shards.Select(s => s.Count), Is.All.EqualTo(whole.Count));
        for (int k = 0; k < whole.Count; k++)
        {
            Assert.That(shards.SelectMany(s => s[k]).Order(), Is.EqualTo(whole[k].Order()), $"step {k}");
        }
    }

    [Test]
    public void A_shard_reads_the_features_and_augmentation_a_single_loader_gives_the_same_sample()
    {
        var ds = Data.SyntheticData.Indexed(12, new Shape(1, 4, 4));
        var transforms = new ISampleTransform[] { new RandomShift(1) };
        using var whole = new DataLoader(ds, new DataLoaderOptions { BatchSize = 12, Seed = 4, Transforms = transforms });
        using var shard = new DataLoader(ds, new DataLoaderOptions { BatchSize = 6, Seed = 4, Transforms = transforms, ShardCount = 2, ShardIndex = 1 });
        var rows = new Dictionary<int, float[]>();
        foreach (var b in whole.Epoch(3))
        {
            for (int i = 0; i < b.Count; i++)
            {
                rows[b.SampleIndices[i]] = b.FeatureSpan.Slice(i * 16, 16).ToArray();
            }
        }

        foreach (var b in shard.Epoch(3))
        {
            for (int i = 0; i < b.Count; i++)
            {
                Assert.That(b.FeatureSpan.Slice(i * 16, 16).ToArray(), Is.EqualTo(rows[b.SampleIndices[i]]), $"sample {b.SampleIndices[i]}");
            }
        }
    }

    [Test]
    public void Bad_shards_are_refused_with_the_setting_named()
    {
        var ds = Data.SyntheticData.Indexed(3, new Shape(2));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(ds, new DataLoaderOptions { ShardCount = 2, ShardIndex = 2 }));
        Assert.That(e!.Message, Does.Contain("ShardIndex must lie in [0, ShardCount)"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(ds, new DataLoaderOptions { ShardCount = 0 }));
        var few = Assert.Throws<ArgumentException>(() => new DataLoader(ds, new DataLoaderOptions { ShardCount = 4, ShardIndex = 1 }));
        Assert.That(few!.Message, Does.Contain("3 samples, fewer than the 4 shards"));
        var drop = Assert.Throws<ArgumentException>(() => new DataLoader(ds, new DataLoaderOptions { BatchSize = 2, DropLast = true, ShardCount = 3 }));
        Assert.That(drop!.Message, Does.Contain("1 samples in shard 0 of 3 leaves no batch"));
    }
}
