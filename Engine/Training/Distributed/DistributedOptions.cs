// The settings of data-parallel training: the process group of the ranks, the gradient bucket size and whether
// communication overlaps backward.
using System;
using Engine.Distributed;

namespace Engine.Training;

/// <summary>
/// Data-parallel training (<see cref="TrainingOptions.Distributed"/>): every rank of <see cref="Group"/> runs the same
/// program with the same model and trains on its own shard of each epoch; gradients are averaged across the ranks
/// after every backward pass, so every rank takes the same optimizer step. See docs/distributed.md.
/// </summary>
public sealed record DistributedOptions
{
    /// <summary>The ranks that train together (e.g. <see cref="ProcessGroup.FromEnvironment"/>); its timeout bounds every wait.</summary>
    public required ProcessGroup Group { get; init; }

    /// <summary>
    /// Gradient bytes per all-reduce (default 4 MiB). Buckets take parameters from the last to the first, so the first
    /// buckets are final early in backward and their all-reduce runs while backward goes on; the first bucket is capped at
    /// 1 MiB so that communication starts early (as PyTorch DDP does).
    /// </summary>
    public int BucketBytes { get; init; } = 4 << 20;

    /// <summary>
    /// Whether buckets are reduced on a communication thread while backward runs (default true; on devices whose memory
    /// is not host memory they are reduced after backward in any case). False reduces them all after backward, on the
    /// training thread: slower, for measuring what the overlap hides.
    /// </summary>
    public bool OverlapCommunication { get; init; } = true;

    internal void Validate()
    {
        if (Group is null)
        {
            throw new ArgumentException("TrainingOptions.Distributed.Group must be set (e.g. ProcessGroup.FromEnvironment()).", nameof(Group));
        }

        if (BucketBytes < sizeof(float))
        {
            throw new ArgumentOutOfRangeException(nameof(BucketBytes), BucketBytes, $"TrainingOptions.Distributed.BucketBytes must be at least {sizeof(float)} (got {BucketBytes}).");
        }
    }
}
