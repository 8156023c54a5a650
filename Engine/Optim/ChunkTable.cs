// Chunk tables: (start, count) int pairs covering any set of element ranges of a flat buffer, on the host and device.
using System;
using System.Collections.Generic;
using Engine.Kernels.Optim;
using Engine.Memory;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Optim;

/// <summary>
/// The elements one launch covers: ranges of a flat buffer merged where adjacent and cut into chunks of at most
/// <see cref="OptimLayout.ChunkElements"/>. Kernels run one group per chunk; host code runs chunks in parallel.
/// </summary>
internal sealed class ChunkTable : IDisposable
{
    private readonly DeviceBuffer? buffer;

    private ChunkTable(Device device, int[] pairs, long elements)
    {
        Host = pairs;
        Count = pairs.Length / 2;
        Elements = elements;
        if (Count > 0)
        {
            buffer = device.Allocator.Rent(pairs.Length * sizeof(int));
            View = buffer.View<int>(0, pairs.Length);
            View.CopyFromCPU(device.Stream, pairs);
            device.Stream.Synchronize();
        }
    }

    /// <summary>(start, count) pairs.</summary>
    public int[] Host { get; }

    /// <summary>Number of chunks.</summary>
    public int Count { get; }

    /// <summary>Number of elements covered.</summary>
    public long Elements { get; }

    /// <summary>The pairs in device memory (empty when there are no chunks).</summary>
    public ArrayView<int> View { get; }

    /// <summary>Builds a table from (offset, length) ranges in any order; overlapping ranges are not allowed.</summary>
    public static ChunkTable Build(Device device, IEnumerable<(long Offset, long Length)> ranges)
    {
        var list = new List<(long Offset, long Length)>(ranges);
        list.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        var merged = new List<(long Offset, long Length)>();
        foreach (var r in list)
        {
            if (r.Length <= 0)
            {
                continue;
            }

            if (merged.Count > 0 && merged[^1].Offset + merged[^1].Length == r.Offset)
            {
                merged[^1] = (merged[^1].Offset, merged[^1].Length + r.Length);
            }
            else
            {
                merged.Add(r);
            }
        }

        var pairs = new List<int>();
        long total = 0;
        foreach (var (off, len) in merged)
        {
            for (long s = 0; s < len; s += OptimLayout.ChunkElements)
            {
                pairs.Add(checked((int)(off + s)));
                pairs.Add((int)Math.Min(OptimLayout.ChunkElements, len - s));
            }

            total += len;
        }

        return new ChunkTable(device, pairs.ToArray(), total);
    }

    /// <summary>The launch shape: one group per chunk.</summary>
    public KernelConfig Config => new(Count, OptimLayout.GroupSize);

    /// <summary>Returns the device buffer.</summary>
    public void Dispose() => buffer?.Dispose();
}
