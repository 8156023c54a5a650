// Turns (epoch, batch index) into batch contents: the epoch's sample order, sample reads, transforms and labels.
using System;
using System.IO;

namespace Engine.Data;

/// <summary>
/// Fills one batch's feature, label and index spans. The sample order of an epoch is computed once by
/// <see cref="BeginEpoch"/>; <see cref="Fill"/> may then run on any thread and allocates nothing. With shards
/// (data-parallel training) the batches cut this loader's shard of the epoch order: positions ShardIndex + j * ShardCount.
/// </summary>
internal sealed class BatchFiller
{
    private readonly IDataset dataset;
    private readonly DataLoaderOptions options;
    private readonly ISampleTransform[] transforms;
    private readonly int[] order;
    private readonly int shardLength;
    private int epoch = -1;

    public BatchFiller(IDataset dataset, DataLoaderOptions options)
    {
        options.Validate(dataset);
        this.dataset = dataset;
        this.options = options;
        transforms = [.. options.Transforms];
        for (int i = 0; i < transforms.Length; i++)
        {
            if (transforms[i] is null)
            {
                throw new ArgumentException($"Transforms[{i}] is null.", nameof(options));
            }
        }

        order = new int[dataset.Count];
        SampleLength = checked((int)dataset.SampleShape.Length);
        LabelLength = options.Labels == LabelFormat.OneHot ? dataset.ClassCount : 1;
        shardLength = options.ShardLength(dataset.Count);
        BatchCount = options.DropLast ? shardLength / options.BatchSize : (shardLength + options.BatchSize - 1) / options.BatchSize;
    }

    public int SampleLength { get; }

    public int LabelLength { get; }

    public int BatchCount { get; }

    public int BatchSize => options.BatchSize;

    public int Epoch => epoch;

    /// <summary>Number of samples in batch <paramref name="batch"/> (BatchSize, or fewer for a kept last batch).</summary>
    public int CountOf(int batch) => Math.Min(options.BatchSize, shardLength - (batch * options.BatchSize));

    public void BeginEpoch(int epochNumber)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epochNumber, nameof(epochNumber));
        if (epochNumber != epoch)
        {
            SampleRandom.EpochOrder(order, options.Seed, epochNumber, options.Shuffle);
            epoch = epochNumber;
        }
    }

    public void Fill(int batch, Span<float> features, Span<float> labels, Span<int> indices)
    {
        int count = CountOf(batch);
        int start = batch * options.BatchSize;
        int n = SampleLength;
        var shape = dataset.SampleShape;
        if (options.Labels == LabelFormat.OneHot)
        {
            labels.Slice(0, count * LabelLength).Clear();
        }

        int shards = options.ShardCount, shard = options.ShardIndex, total = order.Length;
        for (int i = 0; i < count; i++)
        {
            // Position j of the shard is position shard + j * shards of the epoch order; past the end (the padding of
            // even shards) it wraps around to the order's beginning.
            int index = shards == 1 ? order[start + i] : order[(int)((shard + ((long)(start + i) * shards)) % total)];
            var row = features.Slice(i * n, n);
            int label = dataset.Read(index, row);
            if ((uint)label >= (uint)dataset.ClassCount)
            {
                throw new InvalidDataException($"Sample {index} has label {label}; labels must lie in [0, {dataset.ClassCount}).");
            }

            if (transforms.Length > 0)
            {
                var rng = SampleRandom.For(options.Seed, epoch, index);
                foreach (var t in transforms)
                {
                    t.Apply(row, shape, ref rng);
                }
            }

            if (options.Labels == LabelFormat.OneHot)
            {
                labels[(i * LabelLength) + label] = 1f;
            }
            else
            {
                labels[i] = label;
            }

            indices[i] = index;
        }
    }
}
