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
public static unsafe class HostParallel
{
    private static readonly Lock Gate = new();
    private static readonly int WorkerCount = Math.Max(0, Environment.ProcessorCount - 1);
    private static readonly SemaphoreSlim Start = new(0);
    private static readonly CountdownEvent Done = new(1);
    private static Thread[]? workers;
    private static delegate*<nint, int, int, void> job;
    private static nint jobState;
    private static int jobCount;
    private static int jobChunk;
    private static int nextChunk;

    [ThreadStatic]
    private static bool insideJob;

    /// <summary>Number of threads that share the work (workers plus the caller).</summary>
    public static int Degree => WorkerCount + 1;

    /// <summary>
    /// Runs <paramref name="body"/> over [0, <paramref name="count"/>) in chunks of at least <paramref name="minChunk"/>
    /// indices. Returns when every index has been processed.
    /// </summary>
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
            Done.Reset(WorkerCount);
            Start.Release(WorkerCount);
            insideJob = true;
            try
            {
                Drain();
            }
            finally
            {
                insideJob = false;
                Done.Wait();
                job = null;
                jobState = 0;
            }
        }
        finally
        {
            Gate.Exit();
        }
    }

    private static void Invoke<TBody>(nint state, int start, int end) where TBody : struct, IRangeBody =>
        Unsafe.AsRef<TBody>((void*)state).Run(start, end);

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

        workers = new Thread[WorkerCount];
        for (int i = 0; i < WorkerCount; i++)
        {
            workers[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"engine-host-{i}" };
            workers[i].Start();
        }
    }

    private static void WorkerLoop()
    {
        insideJob = true;
        while (true)
        {
            Start.Wait();
            try
            {
                Drain();
            }
            finally
            {
                Done.Signal();
            }
        }
    }
}
