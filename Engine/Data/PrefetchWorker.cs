// One long-lived background thread that prepares the next batch while the caller consumes the current one.
// A thread and two semaphores instead of Task.Run: a task per batch would allocate on every step.
using System;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace Engine.Data;

/// <summary>The work a <see cref="PrefetchWorker"/> runs: prepare batch <c>batch</c> into slot <c>slot</c>.</summary>
internal interface IBatchJob
{
    void Run(int batch, int slot);
}

/// <summary>
/// Runs one <see cref="IBatchJob"/> at a time, on a background thread (or inline when prefetching is off).
/// <see cref="Start"/> hands over a job; <see cref="Wait"/> waits for it and rethrows its exception.
/// </summary>
internal sealed class PrefetchWorker : IDisposable
{
    private readonly IBatchJob job;
    private readonly bool background;
    private readonly string name;
    private readonly SemaphoreSlim startSignal = new(0, 1);
    private readonly SemaphoreSlim doneSignal = new(0, 1);
    private Thread? thread;
    private volatile bool stopping;
    private bool pending;
    private int jobBatch;
    private int jobSlot;
    private Exception? error;
    private long allocatedBytes;

    public PrefetchWorker(IBatchJob job, bool background, string name)
    {
        this.job = job;
        this.background = background;
        this.name = name;
    }

    /// <summary>Whether a job was started and not yet waited for.</summary>
    public bool Pending => pending;

    /// <summary>Bytes the background thread allocated while running jobs (tests prove it stays zero once warm).</summary>
    public long AllocatedBytes => Interlocked.Read(ref allocatedBytes);

    public void Start(int batch, int slot)
    {
        if (pending)
        {
            throw new InvalidOperationException("A prefetch job is already running.");
        }

        if (!background)
        {
            // Run now, but report a failure from Wait as the background thread would, so both modes fail alike.
            pending = true;
            try
            {
                job.Run(batch, slot);
            }
            catch (Exception e)
            {
                error = e;
            }

            doneSignal.Release();
            return;
        }

        EnsureThread();
        jobBatch = batch;
        jobSlot = slot;
        pending = true;
        startSignal.Release();
    }

    public void Wait()
    {
        if (!pending)
        {
            return;
        }

        doneSignal.Wait();
        pending = false;
        var e = error;
        if (e is not null)
        {
            error = null;
            ExceptionDispatchInfo.Capture(e).Throw();
        }
    }

    public void Dispose()
    {
        if (thread is null)
        {
            if (pending)
            {
                doneSignal.Wait();
                pending = false;
            }

            startSignal.Dispose();
            doneSignal.Dispose();
            return;
        }

        if (pending)
        {
            doneSignal.Wait();
            pending = false;
        }

        stopping = true;
        startSignal.Release();
        thread.Join();
        thread = null;
        startSignal.Dispose();
        doneSignal.Dispose();
    }

    private void EnsureThread()
    {
        if (thread is not null)
        {
            return;
        }

        thread = new Thread(Loop) { IsBackground = true, Name = name };
        thread.Start();
    }

    private void Loop()
    {
        while (true)
        {
            startSignal.Wait();
            if (stopping)
            {
                return;
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                job.Run(jobBatch, jobSlot);
            }
            catch (Exception e)
            {
                error = e;
            }

            Interlocked.Add(ref allocatedBytes, GC.GetAllocatedBytesForCurrentThread() - before);
            doneSignal.Release();
        }
    }
}
