// The communication side of a data-parallel step: gradient buckets are averaged across ranks on a thread of its own
// while backward still runs (Open MPI has no progress thread, so someone must poll), then a small "control" sum of the
// step (loss, samples, stop and failure flags, the training metrics' state) that keeps every rank's decisions the same.
// Nothing here allocates once the first step of each compiled plan has run.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Numerics.Tensors;
using System.Threading;
using Engine.Distributed;
using Engine.Nn;
using Engine.Ops;

namespace Engine.Training;

/// <summary>What the ranks agreed on after a step: sums over all ranks.</summary>
internal readonly record struct StepSums(double LossSum, double Samples, bool Stop, int FailedRanks);

/// <summary>Averages gradients across the ranks of a process group, bucket by bucket, overlapping backward where it can.</summary>
internal sealed class GradientReducer : IDisposable, IBackwardObserver
{
    private const int ControlLength = 4;
    private readonly ProcessGroup group;
    private readonly Tensor grads;
    private readonly GradientBucket[] buckets;
    private readonly Tensor[] views;
    private readonly float scale;
    private readonly bool overlap;
    private readonly bool syncDevice;
    private double[] control = GC.AllocateArray<double>(ControlLength, pinned: true);
    private readonly Dictionary<CompiledModel, int[]> tables = new(ReferenceEqualityComparer.Instance);
    private readonly AutoResetEvent workAvailable = new(false);
    private readonly AutoResetEvent workDone = new(false);
    private readonly Thread? thread;
    private int[] table = [];
    private long stepBase;
    private long posted;
    private long reduced;
    private long controlsPosted;
    private long controlsReduced;
    private long commTicks;
    private long waitTicks;
    private long steps;
    private volatile Exception? error;
    private volatile bool stopping;

    public GradientReducer(ParameterSet parameters, ProcessGroup group, int bucketBytes, bool overlap)
    {
        this.group = group;
        grads = parameters.Grads;
        buckets = GradientBuckets.Layout(parameters, bucketBytes);
        views = new Tensor[buckets.Length];
        for (int b = 0; b < buckets.Length; b++)
        {
            views[b] = grads.Slice(checked((int)buckets[b].Start), checked((int)buckets[b].Length));
        }

        scale = 1f / group.Size;
        var device = parameters.Device;

        // Overlap needs gradients the communication thread can read in place: host memory. Elsewhere (a GPU) the
        // reductions run after backward on the training thread (NCCL on the device stream, MPI through host staging).
        this.overlap = overlap && device.IsHostMemory;
        syncDevice = device.Path != ComputePath.Host;
        if (this.overlap)
        {
            // A thread's first blocking wait allocates its wait bookkeeping: do it now rather than in some later step.
            workDone.WaitOne(1);
            thread = new Thread(Loop) { IsBackground = true, Name = "engine-gradient-allreduce" };
            thread.Start();
        }
    }

    /// <summary>Number of buckets.</summary>
    public int BucketCount => buckets.Length;

    /// <summary>The buckets (for tests and benchmarks).</summary>
    public IReadOnlyList<GradientBucket> Buckets => buckets;

    /// <summary>Seconds the bucket all-reduces took in all (on whichever thread ran them).</summary>
    public double CommunicationSeconds => Interlocked.Read(ref commTicks) / (double)Stopwatch.Frequency;

    /// <summary>Seconds the training thread waited after backward for communication to finish (what overlap did not hide).</summary>
    public double ExposedSeconds => waitTicks / (double)Stopwatch.Frequency;

    /// <summary>Steps finished.</summary>
    public long Steps => steps;

    /// <summary>
    /// Sizes the control sum for <paramref name="length"/> doubles of training-metric state per step (every rank the
    /// same; the trainer checks). Allocates only when the length changes, between steps.
    /// </summary>
    public void SetMetricLength(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (control.Length != ControlLength + length)
        {
            // The communication thread reads the field only after the next step's Volatile.Write of controlsPosted.
            control = GC.AllocateArray<double>(ControlLength + length, pinned: true);
        }
    }

    /// <summary>Starts a step on <paramref name="plan"/>: its backward will post buckets as their gradients become final.</summary>
    public void BeginStep(CompiledModel plan)
    {
        ThrowIfFailed();
        if (!tables.TryGetValue(plan, out var t))
        {
            t = GradientBuckets.ReadyAfterStep(plan, buckets);
            tables[plan] = t;
        }

        table = t;
        stepBase = controlsPosted * buckets.Length;
        plan.BackwardObserver = overlap ? this : null;
        group.SetPolling(gentle: true);
    }

    /// <inheritdoc />
    public void StepDone(CompiledModel plan, int step)
    {
        long target = stepBase + table[step];
        if (target > posted)
        {
            if (syncDevice)
            {
                plan.Device.Synchronize();
            }

            Volatile.Write(ref posted, target);
            workAvailable.Set();
        }
    }

    /// <summary>
    /// Ends the step: makes sure every bucket is reduced (posting those backward did not reach, e.g. after an error),
    /// sums the control values over the ranks and returns the sums. Gradients are then the average over the ranks, and
    /// <paramref name="metrics"/> (this rank's step state of the training metrics, at most <see cref="SetMetricLength"/>
    /// long; the rest counts as zeros) holds the sum over the ranks.
    /// </summary>
    /// <exception cref="ProcessGroupException">A reduction failed or timed out.</exception>
    public StepSums FinishStep(bool stop, double lossSum, int samples, bool failed, Span<double> metrics)
    {
        control[0] = lossSum;
        control[1] = samples;
        control[2] = stop ? 1 : 0;
        control[3] = failed ? 1 : 0;
        var extra = control.AsSpan(ControlLength);
        extra.Clear();
        metrics.CopyTo(extra);
        long start = Stopwatch.GetTimestamp();
        group.SetPolling(gentle: false);
        if (overlap)
        {
            if (syncDevice)
            {
                grads.Device.Synchronize();
            }

            Volatile.Write(ref posted, stepBase + buckets.Length);
            long target = controlsPosted + 1;
            Volatile.Write(ref controlsPosted, target);
            workAvailable.Set();
            var spin = default(SpinWait);
            while (Volatile.Read(ref controlsReduced) < target && error is null)
            {
                if (spin.Count < 100)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }
                else
                {
                    workDone.WaitOne();
                }
            }
        }
        else
        {
            controlsPosted++;
            try
            {
                for (int b = 0; b < buckets.Length; b++)
                {
                    Reduce(b);
                }

                group.AllReduceSum(control.AsSpan());
            }
            catch (Exception e)
            {
                error = e;
            }
        }

        waitTicks += Stopwatch.GetTimestamp() - start;
        ThrowIfFailed();
        steps++;
        extra.Slice(0, metrics.Length).CopyTo(metrics);
        return new StepSums(control[0], control[1], control[2] > 0, (int)control[3]);
    }

    public void Dispose()
    {
        stopping = true;
        workAvailable.Set();
        thread?.Join();
        foreach (var v in views)
        {
            v.Dispose();
        }

        workAvailable.Dispose();
        workDone.Dispose();
        group.Dispose();
    }

    private void ThrowIfFailed()
    {
        if (error is { } e)
        {
            throw e as ProcessGroupException ?? new ProcessGroupException($"Gradient reduction failed: {e.Message}", "allreduce", [], e);
        }
    }

    private void Loop()
    {
        try
        {
            workAvailable.WaitOne(1);
            var spin = default(SpinWait);
            while (!stopping)
            {
                if (reduced < Volatile.Read(ref posted))
                {
                    Reduce((int)(reduced % buckets.Length));
                    reduced++;
                    spin = default;
                    continue;
                }

                if (controlsReduced < Volatile.Read(ref controlsPosted) && reduced == (controlsReduced + 1) * buckets.Length)
                {
                    group.AllReduceSum(control.AsSpan());
                    Volatile.Write(ref controlsReduced, controlsReduced + 1);
                    workDone.Set();
                    spin = default;
                    continue;
                }

                if (spin.Count < 100)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }
                else
                {
                    workAvailable.WaitOne();
                }
            }
        }
        catch (Exception e)
        {
            error = e;
            workDone.Set();
        }
    }

    /// <summary>Sums bucket <paramref name="b"/> over the ranks and scales it by 1 / Size.</summary>
    private void Reduce(int b)
    {
        long start = Stopwatch.GetTimestamp();
        var view = views[b];
        if (view.Device.IsHostMemory)
        {
            var span = view.HostSpan;
            group.AllReduceSum(span);
            TensorPrimitives.Multiply(span, scale, span);
        }
        else
        {
            group.AllReduceSum(view);
            Elementwise.Scale(view, view, scale);
        }

        Interlocked.Add(ref commTicks, Stopwatch.GetTimestamp() - start);
    }
}
