// Allocation-free parallel-for over persistent worker threads, for the CPU device's host kernels, capped by HostThreads.
// Parallel.For allocates per call (tasks, closures); the training step must not allocate once warmed up.
using System;
using System.Runtime.CompilerServices;
using System.Threading;

namespace Engine.Backends.Cpu;

/// <summary>A body run over index ranges [start, end). Keep it a struct holding pointers and scalars.</summary>
internal interface IRangeBody
{
    /// <summary>Processes indices [<paramref name="start"/>, <paramref name="end"/>).</summary>
    void Run(int start, int end);
}

/// <summary>
/// Runs <see cref="IRangeBody"/> structs over [0, count) on a pool of worker threads plus the caller, as many as
/// <see cref="HostThreads.Count"/> allows at the time of the call (workers start when first needed; those a lower cap
/// leaves out sleep). No allocation per call. Nested or concurrent calls run inline on the calling thread.
/// </summary>
/// <remarks>
/// Signalling spins briefly, then blocks on kernel events (one per worker, one for the caller). Monitor-based
/// primitives (SemaphoreSlim, CountdownEvent) are avoided: they allocate the first time two threads contend on
/// them, which could happen in any call, long after warm-up. Each worker has its own job number, so a worker takes
/// part in exactly the calls that wake it.
/// </remarks>
internal static unsafe class HostParallel
{
    private const int SpinIterations = 40;
    private static readonly Lock Gate = new();
    private static readonly AutoResetEvent AllDone = new(false);
    private static Worker[] workers = [];
    private static delegate*<nint, int, int, void> job;
    private static nint jobState;
    private static int jobCount;
    private static int jobChunk;
    private static int nextChunk;
    private static int jobNumber;
    private static int pending;
    private static int peakWorkers;

    [ThreadStatic]
    private static bool insideJob;

    /// <summary>Number of threads that share the work now (workers plus the caller): <see cref="HostThreads.Count"/>.</summary>
    public static int Degree => HostThreads.Count;

    /// <summary>The most workers any call used since <see cref="ResetPeakWorkers"/> (for tests of the thread cap).</summary>
    internal static int PeakWorkers => Volatile.Read(ref peakWorkers);

    internal static void ResetPeakWorkers() => Volatile.Write(ref peakWorkers, 0);

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

        int degree = Degree, helpers = degree - 1;
        int chunk = Math.Max(minChunk, (count + (degree * 4) - 1) / (degree * 4));
        if (helpers == 0 || count <= chunk || insideJob || !Gate.TryEnter())
        {
            body.Run(0, count);
            return;
        }

        try
        {
            EnsureWorkers(helpers);
            job = &Invoke<TBody>;
            jobState = (nint)Unsafe.AsPointer(ref body);
            jobCount = count;
            jobChunk = chunk;
            nextChunk = 0;
            pending = helpers;
            if (helpers > peakWorkers)
            {
                peakWorkers = helpers;
            }

            // The increment is a full fence: a worker that sees its new job number sees the job above.
            int number = Interlocked.Increment(ref jobNumber);
            for (int i = 0; i < helpers; i++)
            {
                Volatile.Write(ref workers[i].Job, number);
                workers[i].Wake.Set();
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

    /// <summary>Starts workers until there are <paramref name="count"/> (under the gate; allocates only when it starts one).</summary>
    private static void EnsureWorkers(int count)
    {
        if (workers.Length >= count)
        {
            return;
        }

        var grown = new Worker[count];
        Array.Copy(workers, grown, workers.Length);
        for (int i = workers.Length; i < count; i++)
        {
            // The worker starts from the current job number, passed in: it may first run after it was given a job.
            int current = Volatile.Read(ref jobNumber);
            var w = new Worker { Job = current };
            grown[i] = w;
            new Thread(() => WorkerLoop(w, current)) { IsBackground = true, Name = $"engine-host-{i}" }.Start();
        }

        workers = grown;
    }

    private static void WorkerLoop(Worker w, int seen)
    {
        insideJob = true;
        while (true)
        {
            var spin = default(SpinWait);
            while (Volatile.Read(ref w.Job) == seen)
            {
                if (spin.Count < SpinIterations)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }
                else
                {
                    // Sets are not lost (the event stays set) and stale ones only cost a re-check.
                    w.Wake.WaitOne();
                }
            }

            seen = Volatile.Read(ref w.Job);
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

    /// <summary>A worker thread's wake-up event and the number of the last job it was given.</summary>
    private sealed class Worker
    {
        public readonly AutoResetEvent Wake = new(false);
        public int Job;
    }
}
