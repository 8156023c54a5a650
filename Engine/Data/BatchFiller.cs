// Turns (epoch, batch index) into batch contents: the epoch's sample order, sample reads, transforms and targets
// (class indices or one-hot rows, float values, or triplets stacked as anchors, positives, negatives).
using System;
using System.IO;

namespace Engine.Data;

/// <summary>
/// Fills one batch's feature, target and index spans. The sample order of an epoch is computed once by
/// <see cref="BeginEpoch"/>; <see cref="Fill"/> may then run on any thread and allocates nothing. With shards
/// (data-parallel training) the batches cut this loader's shard of the epoch order: positions ShardIndex + j * ShardCount,
/// for every target kind (a triplet sample is one position, its three rows come from that sample).
/// </summary>
internal sealed class BatchFiller
{
    private readonly IDataset dataset;
    private readonly ITripletDataset? triplets;
    private readonly DataLoaderOptions options;
    private readonly ISampleTransform[] transforms;
    private readonly int[] order;
    private readonly Shape targetShape;
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

        Kind = dataset.TargetKind;
        targetShape = dataset.TargetShape ?? throw new ArgumentException("The dataset's TargetShape is null.", nameof(dataset));
        switch (Kind)
        {
            case TargetKind.ClassIndex:
                LabelLength = options.Labels == LabelFormat.OneHot ? dataset.ClassCount : 1;
                RowsPerSample = 1;
                break;
            case TargetKind.Values:
                LabelLength = checked((int)targetShape.Length);
                RowsPerSample = 1;
                break;
            case TargetKind.Triplet:
                triplets = dataset as ITripletDataset ?? throw new ArgumentException(
                    $"The dataset says its targets are triplets but does not implement {nameof(ITripletDataset)}.", nameof(dataset));
                if (!triplets.Source.SampleShape.Equals(dataset.SampleShape))
                {
                    throw new ArgumentException($"The triplet dataset's samples are {dataset.SampleShape} but its source's are {triplets.Source.SampleShape}.", nameof(dataset));
                }

                LabelLength = 3;
                RowsPerSample = 3;
                break;
            default:
                throw new ArgumentException($"Unknown target kind {Kind}.", nameof(dataset));
        }

        order = new int[dataset.Count];
        SampleLength = checked((int)dataset.SampleShape.Length);
        shardLength = options.ShardLength(dataset.Count);
        BatchCount = options.DropLast ? shardLength / options.BatchSize : (shardLength + options.BatchSize - 1) / options.BatchSize;
    }

    public TargetKind Kind { get; }

    /// <summary>Floats per sample's features.</summary>
    public int SampleLength { get; }

    /// <summary>Target floats per sample (class number, one-hot row, values, or a triple's three labels).</summary>
    public int LabelLength { get; }

    /// <summary>Feature rows per sample: 3 for triplets (anchor, positive, negative), else 1.</summary>
    public int RowsPerSample { get; }

    public int BatchCount { get; }

    public int BatchSize => options.BatchSize;

    public int Epoch => epoch;

    /// <summary>The shape of a batch of <paramref name="batch"/> samples' targets.</summary>
    public Shape LabelShapeFor(int batch) => Kind switch
    {
        TargetKind.ClassIndex => LabelLength == 1 ? new Shape(batch) : new Shape(batch, LabelLength),
        TargetKind.Values => new Shape([batch, .. targetShape.ToArray()]),
        _ => new Shape(3 * batch),
    };

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
        if (Kind == TargetKind.Triplet)
        {
            FillTriplets(count, start, features, labels, indices);
            return;
        }

        int n = SampleLength;
        var shape = dataset.SampleShape;
        bool oneHot = Kind == TargetKind.ClassIndex && options.Labels == LabelFormat.OneHot;
        if (oneHot)
        {
            labels.Slice(0, count * LabelLength).Clear();
        }

        for (int i = 0; i < count; i++)
        {
            int index = SampleAt(start + i);
            var row = features.Slice(i * n, n);
            Span<float> target = default;
            if (Kind == TargetKind.Values)
            {
                target = labels.Slice(i * LabelLength, LabelLength);
                dataset.Read(index, row, target);
            }
            else
            {
                int label = dataset.Read(index, row);
                CheckLabel(index, label, dataset.ClassCount);
                if (oneHot)
                {
                    labels[(i * LabelLength) + label] = 1f;
                }
                else
                {
                    labels[i] = label;
                }
            }

            Transform(row, shape, target, (long)index);
            indices[i] = index;
        }
    }

    /// <summary>Triple i goes to rows i (anchor), count + i (positive) and 2 count + i (negative); labels likewise.</summary>
    private void FillTriplets(int count, int start, Span<float> features, Span<float> labels, Span<int> indices)
    {
        int n = SampleLength;
        var source = triplets!.Source;
        var shape = dataset.SampleShape;
        for (int i = 0; i < count; i++)
        {
            int index = SampleAt(start + i);
            var (a, p, q) = triplets.Triplet(index, epoch);
            for (int k = 0; k < 3; k++)
            {
                int s = k == 0 ? a : (k == 1 ? p : q);
                int r = (k * count) + i;
                var row = features.Slice(r * n, n);
                int label = source.Read(s, row);
                CheckLabel(s, label, source.ClassCount);
                labels[r] = label;
                Transform(row, shape, default, (3L * index) + k);
            }

            indices[i] = index;
        }
    }

    /// <summary>
    /// The dataset index at position <paramref name="position"/> of this loader's shard of the epoch order: position
    /// ShardIndex + position * ShardCount of the whole order; past its end (the padding of even shards) it wraps
    /// around to the order's beginning.
    /// </summary>
    private int SampleAt(int position)
    {
        int shards = options.ShardCount;
        return shards == 1 ? order[position]
            : order[(int)((options.ShardIndex + ((long)position * shards)) % order.Length)];
    }

    private void Transform(Span<float> row, Shape shape, Span<float> target, long stream)
    {
        if (transforms.Length == 0)
        {
            return;
        }

        var rng = SampleRandom.For(options.Seed, epoch, stream);
        var ts = target.IsEmpty ? Shape.Scalar : targetShape;
        foreach (var t in transforms)
        {
            t.Apply(row, shape, target, ts, ref rng);
        }
    }

    private static void CheckLabel(int index, int label, int classes)
    {
        if ((uint)label >= (uint)classes)
        {
            throw new InvalidDataException($"Sample {index} has label {label}; labels must lie in [0, {classes}).");
        }
    }
}
