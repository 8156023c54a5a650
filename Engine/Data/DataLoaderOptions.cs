// How a loader batches a dataset: batch size, shuffling seed, the last partial batch, transforms, prefetching, and the
// shard of each epoch's order that one rank of data-parallel training reads.
using System;
using System.Collections.Generic;

namespace Engine.Data;

/// <summary>How the class labels of a <see cref="TargetKind.ClassIndex"/> dataset are written into a batch.</summary>
public enum LabelFormat
{
    /// <summary>One float per sample holding the class number (shape [N]), as cross-entropy with class indices takes.</summary>
    Indices = 0,

    /// <summary>One row of ClassCount floats per sample, 1 at the class and 0 elsewhere (shape [N, C]).</summary>
    OneHot = 1,
}

/// <summary>Options of <see cref="DataLoader"/> and <see cref="DeviceDataLoader"/>.</summary>
public sealed class DataLoaderOptions
{
    /// <summary>Samples per batch. Default 64.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>
    /// Whether each epoch visits the samples in a fresh random order, fixed by (<see cref="Seed"/>, epoch).
    /// Default true; evaluation loaders set it false.
    /// </summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>
    /// Whether to drop the last batch when it has fewer than <see cref="BatchSize"/> samples. Default false: the
    /// last partial batch is kept (its tensors are views of the first Count rows).
    /// </summary>
    public bool DropLast { get; init; }

    /// <summary>Seed of the shuffling and of every transform's random stream.</summary>
    public long Seed { get; init; }

    /// <summary>Transforms applied to each sample in order, e.g. a <see cref="RandomShift"/> then a <see cref="Normalize"/>.</summary>
    public IReadOnlyList<ISampleTransform> Transforms { get; init; } = [];

    /// <summary>
    /// How class labels are written. Default <see cref="LabelFormat.Indices"/>. Only for datasets of class labels: float
    /// targets are written as they are, and triplets as the labels of their rows.
    /// </summary>
    public LabelFormat Labels { get; init; } = LabelFormat.Indices;

    /// <summary>
    /// Whether to prepare the next batch on a background thread while the current one is consumed. Default true.
    /// Either way the batches are identical.
    /// </summary>
    public bool Prefetch { get; init; } = true;

    /// <summary>
    /// Data-parallel training: the number of ranks that share each epoch (default 1: no sharding). Every rank draws the
    /// same epoch order (same <see cref="Seed"/>) and reads the positions <see cref="ShardIndex"/>, ShardIndex +
    /// ShardCount, ... of it (as PyTorch's DistributedSampler), so the shards are disjoint and together cover the data;
    /// with batches of b per rank, step k of all ranks together sees positions [k * b * ShardCount, (k + 1) * b * ShardCount)
    /// of the order: the batch a single process with batch b * ShardCount sees at step k.
    /// </summary>
    public int ShardCount { get; init; } = 1;

    /// <summary>This rank's shard, 0 to <see cref="ShardCount"/> - 1 (default 0).</summary>
    public int ShardIndex { get; init; }

    /// <summary>
    /// Whether every shard gets the same number of samples, ceil(Count / ShardCount), the short ones padded with samples
    /// from the start of the epoch order (as DistributedSampler does), so that every rank runs the same number of steps with
    /// the same batch sizes. Default true, as training needs; evaluation sets it false to count every sample exactly once.
    /// </summary>
    public bool EvenShards { get; init; } = true;

    /// <summary>Tests only: use pinned staging buffers and copies even on a host-memory device.</summary>
    internal bool ForceStaging { get; init; }

    internal void Validate(IDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (BatchSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be positive.");
        }

        if (Transforms is null)
        {
            throw new ArgumentException("Transforms is null; give an empty list for no transforms.", nameof(Transforms));
        }

        if (dataset.Count <= 0)
        {
            throw new ArgumentException("The dataset has no samples.", nameof(dataset));
        }

        if (Labels == LabelFormat.OneHot && dataset.TargetKind != TargetKind.ClassIndex)
        {
            throw new ArgumentException($"Labels = OneHot needs a dataset of class labels; this one's targets are {dataset.TargetKind}.", nameof(Labels));
        }

        if (ShardCount < 1 || ShardIndex < 0 || ShardIndex >= ShardCount)
        {
            throw new ArgumentOutOfRangeException(nameof(ShardIndex), ShardIndex,
                $"ShardIndex must lie in [0, ShardCount) and ShardCount must be at least 1 (got shard {ShardIndex} of {ShardCount}).");
        }

        if (dataset.Count < ShardCount)
        {
            throw new ArgumentException($"The dataset has {dataset.Count} samples, fewer than the {ShardCount} shards (ranks); each rank needs at least one.", nameof(dataset));
        }

        int shard = ShardLength(dataset.Count);
        if (DropLast && shard < BatchSize)
        {
            throw new ArgumentException(ShardCount == 1
                ? $"DropLast with BatchSize {BatchSize} and {dataset.Count} samples leaves no batch at all."
                : $"DropLast with BatchSize {BatchSize} and {shard} samples in shard {ShardIndex} of {ShardCount} leaves no batch at all.", nameof(dataset));
        }
    }

    /// <summary>Samples in this loader's shard of a dataset of <paramref name="count"/> samples.</summary>
    internal int ShardLength(int count) => ShardCount == 1 ? count
        : EvenShards ? (int)(((long)count + ShardCount - 1) / ShardCount)
        : (int)(((long)count - ShardIndex + ShardCount - 1) / ShardCount);
}
