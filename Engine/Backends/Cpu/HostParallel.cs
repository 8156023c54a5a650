// Allocation-free parallel-for over persistent worker threads, for the CPU device's host kernels.
// Parallel.For allocates per call (tasks, closures); the training step must not allocate once warmed up.
using System;
using System.Runtime.CompilerServices;
using System.Threading;

namespace Engine.Backends.Cpu;

/// <summary>A body run over index ranges [start, end). Keep it a struct holding pointers and scalars.</summary>
public interface IRangeBody
{
    /// <summary>Processes indices [<paramref name="start"/>, <paramref name="end"/>).</summary>
    void Run(int start, int end);
}

/// <summary>
/// Runs <see cref="IRangeBody"/> structs over [0, count) on a fixed pool of worker threads plus the caller.
/// No allocation per call. Nested or concurrent calls run inline on the calling thread.
/// </summary>
/// <remarks>
/// Signalling spins briefly, then blocks on kernel events (one per worker, one for the caller). Monitor-based
/// primitives (SemaphoreSlim, CountdownEvent) are avoided: they allocate the first time two threads contend on
/// them, which could happen in any call, long after warm-up.
/// </remarks>
public static unsafe class HostParallel
{
    private const int SpinIterations = 40;
    private static readonly Lock Gate = new();
    private static readonly int WorkerCount = Math.Max(0, Environment.ProcessorCount - 1);
    private static readonly AutoResetEvent AllDone = new(false);
    private static AutoResetEvent[]? wake;
    private static Thread[]? workers;
    private static delegate*<nint, int, int, void> job;
    private static nint jobState;
    private static int jobCount;
    private static int jobChunk;
    private static int nextChunk;
    private static int generation;
    private static int pending;

    [ThreadStatic]
    private static bool insideJob;

    /// <summary>Number of threads that share the work (workers plus the caller).</summary>
    public static int Degree => WorkerCount + 1;

    /// <summary>
    /// Runs <paramref name="body"/> over [0, <paramref name="count"/>) in chunks of at least <paramref name="minChunk"/>
    /// indices. Returns when every index has been processed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void For<TBody>(int count, ref TBody body, int minChunk = 1) where TBody : struct, IRangeBody
    {
        if (count <= 0)
        {
            return;
        }

        int chunk = Math.Max(minChunk, (count + (Degree * 4) - 1) / (Degree * 4));
        if (WorkerCount == 0 || count <= chunk || insideJob || !Gate.TryEnter())
        {
            body.Run(0, count);
            return;
        }

        try
        {
            EnsureWorkers();
            job = &Invoke<TBody>;
            jobState = (nint)Unsafe.AsPointer(ref body);
            jobCount = count;
            jobChunk = chunk;
            nextChunk = 0;
            pending = WorkerCount;

            // The increment is a full fence: workers that see the new generation see the job above.
            Interlocked.Increment(ref generation);
            foreach (var w in wake!)
            {
                w.Set();
            }

            insideJob = true;
            try
            {
                Drain();
            }
            finally
            {
                insideJob = false;
                WaitForWorkers();
                job = null;
                jobState = 0;
            }
        }
        finally
        {
            Gate.Exit();
        }
    }

    private static void WaitForWorkers()
    {
        var spin = default(SpinWait);
        while (Volatile.Read(ref pending) != 0)
        {
            if (spin.Count < SpinIterations)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }
            else
            {
                // A set left over from an earlier call only costs one more check of pending.
                AllDone.WaitOne();
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Invoke<TBody>(nint state, int start, int end) where TBody : struct, IRangeBody =>
        Unsafe.AsRef<TBody>((void*)state).Run(start, end);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Drain()
    {
        int count = jobCount, chunk = jobChunk;
        var fn = job;
        nint state = jobState;
        while (true)
        {
            int c = Interlocked.Increment(ref nextChunk) - 1;
            int s = c * chunk;
            if (s >= count)
            {
                return;
            }

            fn(state, s, Math.Min(count, s + chunk));
        }
    }

    private static void EnsureWorkers()
    {
        if (workers is not null)
        {
            return;
        }

        wake = new AutoResetEvent[WorkerCount];
        var threads = new Thread[WorkerCount];
        for (int i = 0; i < WorkerCount; i++)
        {
            wake[i] = new AutoResetEvent(false);
            var signal = wake[i];
            threads[i] = new Thread(() => WorkerLoop(signal)) { IsBackground = true, Name = $"engine-host-{i}" };
            threads[i].Start();
        }

        workers = threads;
    }

    private static void WorkerLoop(AutoResetEvent signal)
    {
        insideJob = true;
        int seen = 0;
        while (true)
        {
            var spin = default(SpinWait);
            while (Volatile.Read(ref generation) == seen)
            {
                if (spin.Count < SpinIterations)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }
                else
                {
                    // Sets are not lost (the event stays set) and stale ones only cost a re-check.
                    signal.WaitOne();
                }
            }

            seen = Volatile.Read(ref generation);
            try
            {
                Drain();
            }
            finally
            {
                if (Interlocked.Decrement(ref pending) == 0)
                {
                    AllDone.Set();
                }
            }
        }
    }
}
