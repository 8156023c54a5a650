// Liveness between the ranks of an MPI group, so that a collective that times out can say which rank is missing: a
// background thread sends every peer a small message (how many collectives this process entered and completed) a few
// times a second on a communicator of its own, and records when each peer was last heard and what it reported.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;

namespace Engine.Distributed;

/// <summary>Heartbeats between the ranks of one MPI communicator, on a background thread.</summary>
internal sealed unsafe class MpiHeartbeat : IDisposable
{
    private const int Tag = 7100;
    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(200);
    private readonly MpiLibrary mpi;
    private readonly int rank;
    private readonly int size;
    private readonly Func<(long Entered, long Completed)> progress;
    private readonly long* recvBuffer;
    private readonly long* sendBuffer;
    private readonly nint* recvRequests;
    private readonly nint* sendRequests;
    private readonly long[] lastHeard;
    private readonly long[] peerEntered;
    private readonly long[] peerCompleted;
    private readonly Thread thread;
    private nint comm;
    private volatile bool stop;
    private volatile string? failure;

    public MpiHeartbeat(MpiLibrary mpi, nint comm, int rank, int size, Func<(long Entered, long Completed)> progress)
    {
        this.mpi = mpi;
        this.comm = comm;
        this.rank = rank;
        this.size = size;
        this.progress = progress;
        recvBuffer = (long*)NativeMemory.AllocZeroed((nuint)size * 2, sizeof(long));
        sendBuffer = (long*)NativeMemory.AllocZeroed((nuint)size * 2, sizeof(long));
        recvRequests = (nint*)NativeMemory.AllocZeroed((nuint)size, (nuint)sizeof(nint));
        sendRequests = (nint*)NativeMemory.AllocZeroed((nuint)size, (nuint)sizeof(nint));
        lastHeard = new long[size];
        peerEntered = new long[size];
        peerCompleted = new long[size];
        long now = Stopwatch.GetTimestamp();
        for (int p = 0; p < size; p++)
        {
            lastHeard[p] = now;
            sendRequests[p] = mpi.RequestNull;
            recvRequests[p] = mpi.RequestNull;
            if (p != rank)
            {
                PostReceive(p);
            }
        }

        thread = new Thread(Loop) { IsBackground = true, Name = "engine-mpi-heartbeat" };
        thread.Start();
    }

    /// <summary>
    /// Why a collective of this rank may be stuck, from the heartbeats: peers silent for longer than a few periods (dead,
    /// stopped, unreachable), else peers alive but in no collective (stuck elsewhere), else a mismatch of calls.
    /// </summary>
    public string Explain(TimeSpan timeout, out int[] suspects)
    {
        long now = Stopwatch.GetTimestamp();
        double silentAfter = Math.Max(1.0, Math.Min(timeout.TotalSeconds / 2, 5.0));
        var silent = new List<(int Rank, double Seconds)>();
        var idle = new List<int>();
        for (int p = 0; p < size; p++)
        {
            if (p == rank)
            {
                continue;
            }

            double quiet = (now - Volatile.Read(ref lastHeard[p])) / (double)Stopwatch.Frequency;
            if (quiet > silentAfter)
            {
                silent.Add((p, quiet));
            }
            else if (Volatile.Read(ref peerEntered[p]) == Volatile.Read(ref peerCompleted[p]))
            {
                idle.Add(p);
            }
        }

        string note = failure is { } f ? $" (heartbeats stopped: {f})" : string.Empty;
        var inv = CultureInfo.InvariantCulture;
        if (silent.Count > 0)
        {
            suspects = [.. silent.Select(s => s.Rank)];
            return string.Join("; ", silent.Select(s => string.Format(inv, "rank {0} has sent no heartbeat for {1:0.0} s", s.Rank, s.Seconds)))
                + " (it died, was stopped, or cannot be reached)." + note;
        }

        if (idle.Count > 0)
        {
            suspects = [.. idle];
            return string.Join(", ", idle.Select(p => "rank " + p.ToString(inv))) + (idle.Count == 1 ? " is" : " are")
                + " alive but not inside any collective call (stuck or busy outside communication)." + note;
        }

        suspects = [];
        return "every other rank is alive and inside a collective call: the ranks made different calls (different settings or data per rank?)." + note;
    }

    public void Dispose()
    {
        stop = true;
        thread.Join();
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
        for (int p = 0; p < size; p++)
        {
            if (recvRequests[p] != mpi.RequestNull)
            {
                mpi.Cancel(&recvRequests[p]);
                int flag = 0;
                while (mpi.Test(&recvRequests[p], &flag, null) == MpiLibrary.Success && flag == 0 && Stopwatch.GetTimestamp() < deadline)
                {
                    Thread.Yield();
                }
            }

            if (sendRequests[p] != mpi.RequestNull)
            {
                int flag = 0;
                if (mpi.Test(&sendRequests[p], &flag, null) == MpiLibrary.Success && flag == 0)
                {
                    mpi.RequestFree(&sendRequests[p]);
                }
            }
        }

        nint c = comm;
        mpi.CommFree(&c);
        comm = c;
        NativeMemory.Free(recvBuffer);
        NativeMemory.Free(sendBuffer);
        NativeMemory.Free(recvRequests);
        NativeMemory.Free(sendRequests);
    }

    private void PostReceive(int peer)
    {
        int code = mpi.Irecv(recvBuffer + (2 * peer), 2, mpi.Int64, peer, Tag, comm, &recvRequests[peer]);
        if (code != MpiLibrary.Success)
        {
            throw new ProcessGroupException($"heartbeat receive from rank {peer}: {mpi.Describe(code)}", "heartbeat", [peer]);
        }
    }

    private void Loop()
    {
        long nextSend = 0;
        try
        {
            while (!stop)
            {
                long now = Stopwatch.GetTimestamp();
                for (int p = 0; p < size; p++)
                {
                    if (p == rank)
                    {
                        continue;
                    }

                    int flag = 0;
                    if (recvRequests[p] != mpi.RequestNull && mpi.Test(&recvRequests[p], &flag, null) == MpiLibrary.Success && flag != 0)
                    {
                        Volatile.Write(ref peerEntered[p], recvBuffer[2 * p]);
                        Volatile.Write(ref peerCompleted[p], recvBuffer[(2 * p) + 1]);
                        Volatile.Write(ref lastHeard[p], now);
                        PostReceive(p);
                    }
                }

                if (now >= nextSend)
                {
                    var (e, c) = progress();
                    for (int p = 0; p < size; p++)
                    {
                        int flag = 1;
                        if (p == rank || (sendRequests[p] != mpi.RequestNull && (mpi.Test(&sendRequests[p], &flag, null) != MpiLibrary.Success || flag == 0)))
                        {
                            continue;   // the last heartbeat to this peer is still in flight: do not pile up more
                        }

                        sendBuffer[2 * p] = e;
                        sendBuffer[(2 * p) + 1] = c;
                        mpi.Isend(sendBuffer + (2 * p), 2, mpi.Int64, p, Tag, comm, &sendRequests[p]);
                    }

                    nextSend = now + (long)(Period.TotalSeconds * Stopwatch.Frequency);
                }

                Thread.Sleep(20);
            }
        }
        catch (ProcessGroupException e)
        {
            failure = e.Message;
        }
    }
}
