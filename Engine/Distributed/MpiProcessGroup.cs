// A process group over Open MPI. Open MPI's blocking collectives never time out and have no progress thread, so every
// collective here is the non-blocking call polled with MPI_Test until a deadline; on timeout the heartbeats of
// MpiHeartbeat tell which rank is missing, and the group is faulted (disposing it then ends the job with MPI_Abort).
using System;
using System.Diagnostics;
using System.Globalization;
using System.Threading;

namespace Engine.Distributed;

/// <summary>
/// The processes of an <c>mpirun</c> job as a <see cref="ProcessGroup"/>, over Open MPI's <c>libmpi.so.40</c> (loaded
/// on first use). MPI is initialized (with MPI_THREAD_MULTIPLE) by <see cref="Create"/> and finalized when that world
/// group is disposed: once per process. Each collective polls a non-blocking MPI call until it completes or
/// <see cref="ProcessGroup.Timeout"/> passes; ranks exchange heartbeats on a background thread so that a timeout names the
/// rank that died or hung.
/// </summary>
public sealed unsafe class MpiProcessGroup : ProcessGroup
{
    private const int SpinPolls = 200;
    private static readonly object Gate = new();
    private static MpiProcessGroup? liveWorld;
    private static bool anyFault;
    private static long entered;
    private static long completed;

    private readonly MpiLibrary mpi;
    private readonly MpiProcessGroup? world;
    private readonly MpiHeartbeat? heartbeat;
    private readonly bool finalizeAtEnd;
    private readonly int rank;
    private readonly int size;
    private readonly int localRank;
    private readonly int localSize;
    private nint comm;
    private volatile bool gentle;
    private bool disposed;

    private MpiProcessGroup(MpiLibrary mpi, nint comm, MpiProcessGroup? world, bool finalizeAtEnd)
    {
        this.mpi = mpi;
        this.comm = comm;
        this.world = world;
        this.finalizeAtEnd = finalizeAtEnd;
        int r, s;
        mpi.Check(mpi.CommRank(comm, &r), "MPI_Comm_rank");
        mpi.Check(mpi.CommSize(comm, &s), "MPI_Comm_size");
        rank = r;
        size = s;
        mpi.Check(mpi.CommSetErrhandler(comm, mpi.ErrorsReturn), "MPI_Comm_set_errhandler");
        if (world is not null)
        {
            localRank = world.localRank;
            localSize = world.localSize;
            Host = world.Host;
            Timeout = world.Timeout;
            return;
        }

        Host = mpi.ProcessorName();
        nint local;
        mpi.Check(mpi.CommSplitType(comm, MpiLibrary.CommTypeShared, 0, mpi.InfoNull, &local), "MPI_Comm_split_type");
        int lr, ls;
        mpi.Check(mpi.CommRank(local, &lr), "MPI_Comm_rank");
        mpi.Check(mpi.CommSize(local, &ls), "MPI_Comm_size");
        mpi.Check(mpi.CommFree(&local), "MPI_Comm_free");
        localRank = lr;
        localSize = ls;
        if (size > 1)
        {
            nint hb;
            mpi.Check(mpi.CommDup(comm, &hb), "MPI_Comm_dup");
            mpi.Check(mpi.CommSetErrhandler(hb, mpi.ErrorsReturn), "MPI_Comm_set_errhandler");
            heartbeat = new MpiHeartbeat(mpi, hb, rank, size, () => (Interlocked.Read(ref entered), Interlocked.Read(ref completed)));
        }
    }

    /// <summary>Whether this process was started by Open MPI's <c>mpirun</c> (OMPI_COMM_WORLD_SIZE is set).</summary>
    public static bool LaunchedByMpirun => Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null;

    /// <inheritdoc />
    public override int Rank => rank;

    /// <inheritdoc />
    public override int Size => size;

    /// <inheritdoc />
    public override int LocalRank => localRank;

    /// <inheritdoc />
    public override int LocalSize => localSize;

    /// <inheritdoc />
    public override string Backend => "mpi";

    /// <summary>The world group's heartbeats (duplicates share them).</summary>
    private MpiHeartbeat? Heartbeat => world?.heartbeat ?? heartbeat;

    /// <summary>The name of this rank's machine as MPI reports it.</summary>
    public string Host { get; }

    /// <summary>
    /// Initializes MPI (MPI_THREAD_MULTIPLE) and returns the group of every process of the job (MPI_COMM_WORLD; a
    /// process not started by mpirun is a group of one). Call once per process and dispose the group at the end.
    /// </summary>
    /// <exception cref="DllNotFoundException">Open MPI's library is missing; the message says what to install.</exception>
    /// <exception cref="InvalidOperationException">A world group exists already, MPI was finalized in this process, or it lacks MPI_THREAD_MULTIPLE.</exception>
    public static MpiProcessGroup Create()
    {
        lock (Gate)
        {
            if (liveWorld is not null)
            {
                throw new InvalidOperationException("An MPI world group exists in this process already; create one per process and share it.");
            }

            var mpi = MpiLibrary.Load();
            int initialized, finalized;
            mpi.Check(mpi.Initialized(&initialized), "MPI_Initialized");
            mpi.Check(mpi.Finalized(&finalized), "MPI_Finalized");
            if (finalized != 0)
            {
                throw new InvalidOperationException("MPI was finalized in this process (a world group was disposed); MPI starts only once per process, so create the group once and dispose it when the process ends.");
            }

            bool ours = initialized == 0;
            if (ours)
            {
                int provided;
                mpi.Check(mpi.InitThread(null, null, MpiLibrary.ThreadMultiple, &provided), "MPI_Init_thread");
                if (provided < MpiLibrary.ThreadMultiple)
                {
                    throw new InvalidOperationException($"This Open MPI provides thread level {provided}, not MPI_THREAD_MULTIPLE ({MpiLibrary.ThreadMultiple}); data-parallel training reduces gradients on a thread of its own and needs it.");
                }
            }

            nint dup;
            mpi.Check(mpi.CommDup(mpi.CommWorld, &dup), "MPI_Comm_dup");
            liveWorld = new MpiProcessGroup(mpi, dup, null, ours);
            return liveWorld;
        }
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"mpi rank {rank} of {size} on {Host} (local rank {localRank} of {localSize})");

    internal override ProcessGroup Duplicate()
    {
        ThrowIfFaulted();
        ObjectDisposedException.ThrowIf(disposed, this);
        // A collective: non-blocking and polled like the others, so that a rank that never comes is named, not waited for.
        nint dup, request;
        Start(mpi.CommIdup(comm, &dup, &request), "MPI_Comm_idup");
        Wait(request, "MPI_Comm_idup");
        return new MpiProcessGroup(mpi, dup, world ?? this, finalizeAtEnd: false);
    }

    internal override void SetPolling(bool gentle) => this.gentle = gentle;

    internal override string ExplainStall(out int[] suspects)
    {
        suspects = [];
        return Heartbeat?.Explain(Timeout, out suspects) ?? string.Empty;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        if (world is not null)
        {
            // A duplicate: free its communicator unless the job is failing (the peers may be gone) or MPI has ended
            // (the world group was disposed first; Open MPI aborts on calls after MPI_Finalize).
            int finalized = 1;
            mpi.Finalized(&finalized);
            if (!anyFault && finalized == 0)
            {
                FreeComm();
            }

            return;
        }

        lock (Gate)
        {
            if (anyFault)
            {
                // Another rank may be blocked or dead: end every process of the job now, rather than hang in MPI_Finalize.
                mpi.Abort(mpi.CommWorld, 1);
            }

            heartbeat?.Dispose();
            FreeComm();
            if (finalizeAtEnd)
            {
                mpi.FinalizeMpi();
            }

            liveWorld = null;
        }
    }

    private void FreeComm()
    {
        nint c = comm;
        mpi.CommFree(&c);
        comm = c;
    }

    private protected override void AllReduceSumCore(void* data, int count, ElementKind kind)
    {
        nint type = kind switch
        {
            ElementKind.Float32 => mpi.Float,
            ElementKind.Float64 => mpi.Double,
            ElementKind.Int64 => mpi.Int64,
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown element kind"),
        };
        nint request;
        Start(mpi.Iallreduce((void*)1, data, count, type, mpi.OpSum, comm, &request), "allreduce");   // MPI_IN_PLACE is (void*)1
        Wait(request, "allreduce");
    }

    private protected override void BroadcastCore(void* data, int bytes, int root)
    {
        nint request;
        Start(mpi.Ibcast(data, bytes, mpi.Byte, root, comm, &request), "broadcast");
        Wait(request, "broadcast");
    }

    private protected override void AllGatherCore(void* mine, void* all, int bytesEach)
    {
        nint request;
        Start(mpi.Iallgather(mine, bytesEach, mpi.Byte, all, bytesEach, mpi.Byte, comm, &request), "allgather");
        Wait(request, "allgather");
    }

    private protected override void BarrierCore()
    {
        nint request;
        Start(mpi.Ibarrier(comm, &request), "barrier");
        Wait(request, "barrier");
    }

    private void Start(int code, string what)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (code != MpiLibrary.Success)
        {
            anyFault = true;
            throw Fault(new ProcessGroupException($"Rank {rank}: starting {what} failed: {mpi.Describe(code)} (MPI error {code}).", what, []));
        }
    }

    /// <summary>Polls <paramref name="request"/> until it completes, an error, or the deadline.</summary>
    private void Wait(nint request, string what)
    {
        Interlocked.Increment(ref entered);
        try
        {
            long start = Stopwatch.GetTimestamp();
            long deadline = start + (long)(Timeout.TotalSeconds * Stopwatch.Frequency);
            var spin = default(SpinWait);
            int polls = 0;
            while (true)
            {
                int flag = 0;
                int code = mpi.Test(&request, &flag, null);
                if (code != MpiLibrary.Success)
                {
                    anyFault = true;
                    string why = ExplainStall(out _);
                    throw Fault(new ProcessGroupException($"Rank {rank} of {size}: {what} failed: {mpi.Describe(code)} (MPI error {code}). {why}".TrimEnd(), what, []));
                }

                if (flag != 0)
                {
                    return;
                }

                long now = Stopwatch.GetTimestamp();
                if (now > deadline)
                {
                    anyFault = true;
                    string why = ExplainStall(out int[] suspects);
                    throw Fault(new ProcessGroupException(string.Create(CultureInfo.InvariantCulture,
                        $"Rank {rank} of {size} timed out after {Timeout.TotalSeconds:0.#} s in {what}: {why}").TrimEnd(), what, suspects));
                }

                // Spin briefly (a collective between live ranks usually completes in microseconds), then give the CPU away:
                // a yield when someone waits for the result, a sleep while it only runs behind computation.
                if (++polls < SpinPolls)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }
                else if (gentle)
                {
                    Thread.Sleep(1);
                }
                else
                {
                    Thread.Yield();
                }
            }
        }
        finally
        {
            Interlocked.Increment(ref completed);
        }
    }
}
