// The process group of data-parallel training: which process this is (rank), how many there are (size), and the
// collectives the trainer needs (all-reduce, broadcast, all-gather, barrier), each bounded by a timeout. It sits beside
// Devices/Memory/Tensors at the bottom of the layering: it knows tensors, never models or trainers.
using System;
using System.Runtime.InteropServices;

namespace Engine.Distributed;

/// <summary>
/// A fixed set of processes (ranks 0 to Size - 1) that run the same program and exchange data in collective calls:
/// every rank must make the same calls in the same order. <see cref="Single"/> is the one-process group;
/// <see cref="MpiProcessGroup"/> runs over Open MPI (processes started by <c>mpirun</c>, on one machine or several);
/// <see cref="NcclProcessGroup"/> reduces CUDA device tensors with NCCL. A call that does not complete within
/// <see cref="Timeout"/> (a rank died, hung or never called) throws a <see cref="ProcessGroupException"/> naming the
/// ranks suspected; the group is then faulted and the process should end (disposing a faulted group ends the job).
/// </summary>
/// <example><code>
/// using var group = ProcessGroup.FromEnvironment();   // MPI when started by mpirun, else a single process
/// float[] sums = [group.Rank, 1];
/// group.AllReduceSum(sums);                          // every rank now holds [0 + 1 + ... + (Size - 1), Size]
/// </code></example>
public abstract unsafe class ProcessGroup : IDisposable
{
    private TimeSpan timeout = TimeSpan.FromSeconds(60);
    private float[]? staging;
    private ProcessGroupException? fault;

    private protected ProcessGroup()
    {
    }

    /// <summary>This process's rank, 0 to <see cref="Size"/> - 1.</summary>
    public abstract int Rank { get; }

    /// <summary>Number of processes in the group.</summary>
    public abstract int Size { get; }

    /// <summary>This process's rank among the group's processes on the same machine (to pick a GPU, for one).</summary>
    public abstract int LocalRank { get; }

    /// <summary>
    /// Number of the group's processes on this machine (they share its cores: give each its part, e.g.
    /// <see cref="HostThreads.Limit"/> = cores / LocalSize).
    /// </summary>
    public abstract int LocalSize { get; }

    /// <summary>What carries the collectives: <c>single</c>, <c>mpi</c> or <c>nccl</c>.</summary>
    public abstract string Backend { get; }

    /// <summary>Whether this is rank 0 (the rank that logs and writes checkpoints in data-parallel training).</summary>
    public bool IsRoot => Rank == 0;

    /// <summary>Whether a call failed or timed out; every later call throws.</summary>
    public bool IsFaulted => fault is not null;

    /// <summary>How long one collective call may wait for the other ranks before it fails. Default 60 s.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    public TimeSpan Timeout
    {
        get => timeout;
        set => timeout = value > TimeSpan.Zero && value < TimeSpan.FromDays(1)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "ProcessGroup.Timeout must be positive (and under a day).");
    }

    /// <summary>A group of one process (rank 0 of 1): every collective returns at once.</summary>
    public static ProcessGroup Single() => new SingleProcessGroup();

    /// <summary>
    /// The world group over Open MPI when this process was started by <c>mpirun</c> (it sets OMPI_COMM_WORLD_SIZE),
    /// otherwise <see cref="Single"/>.
    /// </summary>
    /// <exception cref="DllNotFoundException">Started by mpirun, but Open MPI's library is missing; the message says what to install.</exception>
    public static ProcessGroup FromEnvironment(TimeSpan? timeout = null)
    {
        var group = MpiProcessGroup.LaunchedByMpirun ? MpiProcessGroup.Create() : Single();
        if (timeout is { } t)
        {
            group.Timeout = t;
        }

        return group;
    }

    /// <summary>Sums <paramref name="values"/> element-wise over all ranks, in place (every rank gets the sums).</summary>
    public void AllReduceSum(Span<float> values)
    {
        ThrowIfFaulted();
        if (Size > 1)
        {
            fixed (float* p = values)
            {
                AllReduceSumCore(p, values.Length, ElementKind.Float32);
            }
        }
    }

    /// <summary>Sums <paramref name="values"/> element-wise over all ranks, in place.</summary>
    public void AllReduceSum(Span<double> values)
    {
        ThrowIfFaulted();
        if (Size > 1)
        {
            fixed (double* p = values)
            {
                AllReduceSumCore(p, values.Length, ElementKind.Float64);
            }
        }
    }

    /// <summary>Sums <paramref name="values"/> element-wise over all ranks, in place.</summary>
    public void AllReduceSum(Span<long> values)
    {
        ThrowIfFaulted();
        if (Size > 1)
        {
            fixed (long* p = values)
            {
                AllReduceSumCore(p, values.Length, ElementKind.Int64);
            }
        }
    }

    /// <summary>Copies rank <paramref name="root"/>'s <paramref name="data"/> into every other rank's (same length everywhere).</summary>
    /// <exception cref="ArgumentOutOfRangeException">root is not a rank of the group.</exception>
    public void Broadcast(Span<byte> data, int root)
    {
        CheckRoot(root);
        ThrowIfFaulted();
        if (Size > 1)
        {
            fixed (byte* p = data)
            {
                BroadcastCore(p, data.Length, root);
            }
        }
    }

    /// <summary>Copies rank <paramref name="root"/>'s <paramref name="values"/> into every other rank's.</summary>
    /// <exception cref="ArgumentOutOfRangeException">root is not a rank of the group.</exception>
    public void Broadcast(Span<float> values, int root) => Broadcast(MemoryMarshal.AsBytes(values), root);

    /// <summary>
    /// Gathers every rank's <paramref name="mine"/> (the same length on every rank) into <paramref name="all"/>, rank 0's
    /// first: <c>all</c> must hold Size * mine.Length bytes.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="all"/> has the wrong length.</exception>
    public void AllGather(ReadOnlySpan<byte> mine, Span<byte> all)
    {
        if (all.Length != (long)mine.Length * Size)
        {
            throw new ArgumentException($"all has {all.Length} bytes; it must hold Size * mine.Length = {Size} * {mine.Length}.", nameof(all));
        }

        ThrowIfFaulted();
        if (Size == 1)
        {
            mine.CopyTo(all);
            return;
        }

        fixed (byte* m = mine)
        fixed (byte* a = all)
        {
            AllGatherCore(m, a, mine.Length);
        }
    }

    /// <summary>Gathers every rank's <paramref name="mine"/> into <paramref name="all"/> (Size * mine.Length values, rank order).</summary>
    /// <exception cref="ArgumentException"><paramref name="all"/> has the wrong length.</exception>
    public void AllGather(ReadOnlySpan<float> mine, Span<float> all) => AllGather(MemoryMarshal.AsBytes(mine), MemoryMarshal.AsBytes(all));

    /// <summary>Gathers every rank's <paramref name="mine"/> into <paramref name="all"/> (Size * mine.Length values, rank order).</summary>
    /// <exception cref="ArgumentException"><paramref name="all"/> has the wrong length.</exception>
    public void AllGather(ReadOnlySpan<long> mine, Span<long> all) => AllGather(MemoryMarshal.AsBytes(mine), MemoryMarshal.AsBytes(all));

    /// <summary>Returns once every rank has called it.</summary>
    public void Barrier()
    {
        ThrowIfFaulted();
        if (Size > 1)
        {
            BarrierCore();
        }
    }

    /// <summary>
    /// Sums a device tensor over all ranks, in place. On the CPU device the tensor's host memory is reduced directly;
    /// on other devices it is staged through a pinned host buffer (<see cref="NcclProcessGroup"/> reduces on the device).
    /// </summary>
    public virtual void AllReduceSum(Tensor values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (Size == 1)
        {
            return;
        }

        if (values.Device.IsHostMemory)
        {
            values.Device.Synchronize();
            AllReduceSum(values.HostSpan);
            return;
        }

        var host = Staging(values.Length);
        values.CopyTo(host);
        AllReduceSum(host);
        values.CopyFrom(host);
    }

    /// <summary>Copies rank <paramref name="root"/>'s tensor into every other rank's (same shape everywhere).</summary>
    /// <exception cref="ArgumentOutOfRangeException">root is not a rank of the group.</exception>
    public virtual void Broadcast(Tensor values, int root)
    {
        ArgumentNullException.ThrowIfNull(values);
        CheckRoot(root);
        if (Size == 1)
        {
            return;
        }

        if (values.Device.IsHostMemory)
        {
            values.Device.Synchronize();
            Broadcast(values.HostSpan, root);
            return;
        }

        var host = Staging(values.Length);
        values.CopyTo(host);
        Broadcast(host, root);
        values.CopyFrom(host);
    }

    /// <summary>Frees the group's resources. Disposing a faulted MPI group ends the whole job (MPI_Abort).</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>A new group over the same processes whose collectives are independent of this one's (run from another thread).</summary>
    internal abstract ProcessGroup Duplicate();

    /// <summary>Why a collective may be stuck (which ranks are missing), as far as the group can tell; empty when it cannot.</summary>
    internal virtual string ExplainStall(out int[] suspects)
    {
        suspects = [];
        return string.Empty;
    }

    /// <summary>Sets how the group waits for a pending collective: gently (sleeping between polls) while compute runs, or busily.</summary>
    internal virtual void SetPolling(bool gentle)
    {
    }

    /// <summary>Frees resources.</summary>
    /// <param name="disposing">True from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
    }

    private protected abstract void AllReduceSumCore(void* data, int count, ElementKind kind);

    private protected abstract void BroadcastCore(void* data, int bytes, int root);

    private protected abstract void AllGatherCore(void* mine, void* all, int bytesEach);

    private protected abstract void BarrierCore();

    /// <summary>Marks the group faulted by <paramref name="e"/> and returns it to throw.</summary>
    private protected ProcessGroupException Fault(ProcessGroupException e)
    {
        fault ??= e;
        return e;
    }

    private protected void ThrowIfFaulted()
    {
        if (fault is { } f)
        {
            throw new ProcessGroupException($"The process group failed earlier and cannot be used: {f.Message}", f.Operation, f.SuspectRanks, f);
        }
    }

    private void CheckRoot(int root)
    {
        if ((uint)root >= (uint)Size)
        {
            throw new ArgumentOutOfRangeException(nameof(root), root, $"root must be a rank of the group, 0 to {Size - 1}.");
        }
    }

    private Span<float> Staging(long length)
    {
        int n = checked((int)length);
        if (staging is null || staging.Length < n)
        {
            staging = GC.AllocateUninitializedArray<float>(n, pinned: true);
        }

        return staging.AsSpan(0, n);
    }
}

/// <summary>The element type of a reduction.</summary>
internal enum ElementKind
{
    Float32,
    Float64,
    Int64,
}

/// <summary>A group of one process: rank 0 of 1.</summary>
internal sealed class SingleProcessGroup : ProcessGroup
{
    public override int Rank => 0;

    public override int Size => 1;

    public override int LocalRank => 0;

    public override int LocalSize => 1;

    public override string Backend => "single";

    internal override ProcessGroup Duplicate() => new SingleProcessGroup { Timeout = Timeout };

    private protected override unsafe void AllReduceSumCore(void* data, int count, ElementKind kind)
    {
    }

    private protected override unsafe void BroadcastCore(void* data, int bytes, int root)
    {
    }

    private protected override unsafe void AllGatherCore(void* mine, void* all, int bytesEach)
    {
    }

    private protected override void BarrierCore()
    {
    }
}
