// A process group for CUDA devices: device tensors are all-reduced and broadcast by NCCL on the device's stream, and
// host values go through the bootstrap group (MPI), which also carries NCCL's unique id from rank 0 to every rank.
// A collective waits for a CUDA event behind it, polling until the group's deadline (then the communicator is aborted).
// Written against NCCL 2's C API; it has not run on a GPU in this project's CI (no GPU there): see docs/distributed.md.
using System;
using System.Diagnostics;
using System.Globalization;
using System.Threading;
using ILGPU.Runtime.Cuda;

namespace Engine.Distributed;

/// <summary>
/// The ranks of a bootstrap group (usually <see cref="MpiProcessGroup"/>, one rank per GPU) with a NCCL communicator on
/// a CUDA device: <see cref="AllReduceSum(Tensor)"/> and <see cref="Broadcast(Tensor, int)"/> run ncclAllReduce /
/// ncclBroadcast on the device's stream; host spans use the bootstrap group.
/// </summary>
public sealed unsafe class NcclProcessGroup : ProcessGroup
{
    private readonly NcclLibrary nccl;
    private readonly ProcessGroup bootstrap;
    private readonly bool ownsBootstrap;
    private readonly Device device;
    private readonly nint stream;
    private nint comm;
    private nint evt;
    private bool disposed;

    private NcclProcessGroup(NcclLibrary nccl, Device device, ProcessGroup bootstrap, bool ownsBootstrap)
    {
        this.nccl = nccl;
        this.device = device;
        this.bootstrap = bootstrap;
        this.ownsBootstrap = ownsBootstrap;
        Timeout = bootstrap.Timeout;
        stream = ((CudaStream)device.Stream).StreamPtr;
        NcclUniqueId id = default;
        if (bootstrap.Rank == 0)
        {
            nccl.Check(nccl.GetUniqueId(&id), "ncclGetUniqueId", 0);
        }

        bootstrap.Broadcast(new Span<byte>(id.Data, NcclUniqueId.Bytes), 0);
        using var binding = device.Accelerator.BindScoped();
        nint c;
        nccl.Check(nccl.CommInitRank(&c, bootstrap.Size, id, bootstrap.Rank), "ncclCommInitRank", bootstrap.Rank);
        comm = c;
        CudaException.ThrowIfFailed(CudaAPI.CurrentAPI.CreateEvent(out evt, CudaEventFlags.CU_EVENT_DISABLE_TIMING));
    }

    /// <inheritdoc />
    public override int Rank => bootstrap.Rank;

    /// <inheritdoc />
    public override int Size => bootstrap.Size;

    /// <inheritdoc />
    public override int LocalRank => bootstrap.LocalRank;

    /// <inheritdoc />
    public override int LocalSize => bootstrap.LocalSize;

    /// <inheritdoc />
    public override string Backend => "nccl";

    /// <summary>
    /// Creates a NCCL communicator over the ranks of <paramref name="bootstrap"/> for <paramref name="device"/> (each rank
    /// its own GPU, e.g. <c>Device.Create(bootstrap.LocalRank)</c> among the CUDA devices). Every rank must call it.
    /// </summary>
    /// <exception cref="ArgumentException">The device is not a CUDA device.</exception>
    /// <exception cref="DllNotFoundException">NCCL is not installed; the message says what to install.</exception>
    public static NcclProcessGroup Create(Device device, ProcessGroup bootstrap)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(bootstrap);
        if (device.Accelerator is not CudaAccelerator)
        {
            throw new ArgumentException(
                $"NCCL reduces CUDA device memory, but device '{device.Name}' is {device.Kind}; on the CPU use the MPI group (MpiProcessGroup) itself.", nameof(device));
        }

        return new NcclProcessGroup(NcclLibrary.Load(), device, bootstrap, ownsBootstrap: false);
    }

    /// <summary>Sums a tensor on this group's CUDA device over all ranks, in place, with ncclAllReduce on the device stream.</summary>
    /// <exception cref="ArgumentException">The tensor is on another device.</exception>
    public override void AllReduceSum(Tensor values)
    {
        ArgumentNullException.ThrowIfNull(values);
        CheckDevice(values);
        ThrowIfFaulted();
        if (Size == 1)
        {
            return;
        }

        void* p = Pointer(values);
        using var binding = device.Accelerator.BindScoped();
        Enqueued(nccl.AllReduce(p, p, (nuint)values.Length, NcclLibrary.Float32, NcclLibrary.Sum, comm, stream), "ncclAllReduce");
    }

    /// <summary>Copies rank <paramref name="root"/>'s tensor into every rank's with ncclBroadcast on the device stream.</summary>
    /// <exception cref="ArgumentException">The tensor is on another device.</exception>
    /// <exception cref="ArgumentOutOfRangeException">root is not a rank of the group.</exception>
    public override void Broadcast(Tensor values, int root)
    {
        ArgumentNullException.ThrowIfNull(values);
        CheckDevice(values);
        ArgumentOutOfRangeException.ThrowIfNegative(root);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, Size);
        ThrowIfFaulted();
        if (Size == 1)
        {
            return;
        }

        void* p = Pointer(values);
        using var binding = device.Accelerator.BindScoped();
        Enqueued(nccl.Broadcast(p, p, (nuint)values.Length, NcclLibrary.Float32, root, comm, stream), "ncclBroadcast");
    }

    internal override ProcessGroup Duplicate() => new NcclProcessGroup(nccl, device, bootstrap.Duplicate(), ownsBootstrap: true);

    internal override string ExplainStall(out int[] suspects) => bootstrap.ExplainStall(out suspects);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        using (device.Accelerator.BindScoped())
        {
            if (comm != 0)
            {
                if (IsFaulted)
                {
                    nccl.CommAbort(comm);
                }
                else
                {
                    nccl.CommDestroy(comm);
                }
            }

            CudaAPI.CurrentAPI.DestroyEvent(evt);
        }

        comm = 0;
        evt = 0;
        if (ownsBootstrap)
        {
            bootstrap.Dispose();
        }
    }

    private protected override void AllReduceSumCore(void* data, int count, ElementKind kind)
    {
        switch (kind)
        {
            case ElementKind.Float32:
                bootstrap.AllReduceSum(new Span<float>(data, count));
                break;
            case ElementKind.Float64:
                bootstrap.AllReduceSum(new Span<double>(data, count));
                break;
            case ElementKind.Int64:
                bootstrap.AllReduceSum(new Span<long>(data, count));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown element kind");
        }
    }

    private protected override void BroadcastCore(void* data, int bytes, int root) => bootstrap.Broadcast(new Span<byte>(data, bytes), root);

    private protected override void AllGatherCore(void* mine, void* all, int bytesEach) =>
        bootstrap.AllGather(new ReadOnlySpan<byte>(mine, bytesEach), new Span<byte>(all, bytesEach * Size));

    private protected override void BarrierCore() => bootstrap.Barrier();

    private static void* Pointer(Tensor t) => (void*)(t.Buffer.Raw.NativePtr + (nint)(t.Offset * sizeof(float)));

    private void CheckDevice(Tensor t)
    {
        if (!ReferenceEquals(t.Device, device))
        {
            throw new ArgumentException($"The tensor is on device '{t.Device.Name}', but this NCCL group reduces on '{device.Name}'.", nameof(t));
        }
    }

    /// <summary>Checks the enqueue, then waits for the stream to pass the collective, polling NCCL's error state until the deadline.</summary>
    private void Enqueued(int code, string what)
    {
        if (code != NcclLibrary.Success && code != NcclLibrary.InProgress)
        {
            throw Fault(new ProcessGroupException($"Rank {Rank}: {what} failed: {nccl.Describe(code)} (NCCL result {code}).", what, []));
        }

        CudaException.ThrowIfFailed(CudaAPI.CurrentAPI.RecordEvent(evt, stream));
        long deadline = Stopwatch.GetTimestamp() + (long)(Timeout.TotalSeconds * Stopwatch.Frequency);
        var spin = default(SpinWait);
        while (true)
        {
            var status = CudaAPI.CurrentAPI.QueryEvent(evt);
            if (status == CudaError.CUDA_SUCCESS)
            {
                return;
            }

            if (status != CudaError.CUDA_ERROR_NOT_READY)
            {
                CudaException.ThrowIfFailed(status);
            }

            int asyncError = NcclLibrary.Success;
            nccl.CommGetAsyncError(comm, &asyncError);
            bool late = Stopwatch.GetTimestamp() > deadline;
            if ((asyncError != NcclLibrary.Success && asyncError != NcclLibrary.InProgress) || late)
            {
                nccl.CommAbort(comm);
                comm = 0;
                string why = bootstrap.ExplainStall(out int[] suspects);
                string error = late
                    ? string.Create(CultureInfo.InvariantCulture, $"timed out after {Timeout.TotalSeconds:0.#} s")
                    : $"failed: {nccl.Describe(asyncError)}";
                throw Fault(new ProcessGroupException($"Rank {Rank} of {Size}: {what} {error}. {why}".TrimEnd(), what, suspects));
            }

            spin.SpinOnce(sleep1Threshold: -1);
        }
    }
}
