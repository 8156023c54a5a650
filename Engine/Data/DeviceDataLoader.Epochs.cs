// The batch pipeline of DeviceDataLoader: which batch is filled, copied and handed out when, and the fences that
// keep the background thread, the copy stream and the compute stream off each other's buffers.
using System;
using System.Runtime.ExceptionServices;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Data;

// Staged/Overlapped: batch j is filled into pinned slot j % 2, copied into device set j % 3, handed out from there.
// At MoveNext(k): mark set (k-1) % 3 consumed on the compute stream; wait for batch k's copy (issued a step earlier);
// issue batch k+1's copy once its fill is done and set (k+1) % 3 (batch k-2) is consumed; start filling batch k+2
// into the slot batch k's copy just released. Direct: batch j is filled straight into set j % 2.
public sealed partial class DeviceDataLoader
{
    private int Begin(int epoch, int firstBatch)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (active)
        {
            throw new InvalidOperationException("An epoch of this loader is already being enumerated; finish or dispose that enumerator first.");
        }

        worker.Wait();
        foreach (var f in copied)
        {
            f.Wait();
        }

        active = true;
        deferred = null;
        filler.BeginEpoch(epoch);
        next = firstBatch;
        lastReturned = -1;
        issuedThrough = firstBatch - 1;
        if (firstBatch < filler.BatchCount)
        {
            // Batch j always uses fill slot j % 2 and tensor set j % sets, wherever the epoch starts.
            consumed[firstBatch % sets].Wait();
            worker.Start(firstBatch, firstBatch % 2);
        }

        startedThrough = firstBatch;
        return ++generation;
    }

    private bool MoveNext(int gen, out DeviceBatch batch)
    {
        if (gen != generation || !active)
        {
            throw new InvalidOperationException("This enumerator has ended; start a new epoch with Epoch(n).");
        }

        if (deferred is { } failure)
        {
            deferred = null;
            failure.Throw();
        }

        int k = next;
        if (k >= filler.BatchCount)
        {
            End(gen);
            batch = default;
            return false;
        }

        if (k > 0 && lastReturned >= 0)
        {
            consumed[(k - 1) % sets].Record();
        }

        int s;
        if (Transfer == DeviceTransfer.Direct)
        {
            worker.Wait();
            s = k % 2;
            setCount[s] = filler.CountOf(k);
            if (k + 1 < filler.BatchCount)
            {
                consumed[(k + 1) % 2].Wait();
                worker.Start(k + 1, (k + 1) % 2);
                startedThrough = k + 1;
            }
        }
        else
        {
            while (issuedThrough < k)
            {
                IssueNextCopy();
            }

            s = k % 3;
            copied[s].Wait();
            if (k + 1 < filler.BatchCount && issuedThrough < k + 1)
            {
                try
                {
                    IssueNextCopy();
                }
                catch (Exception e)
                {
                    // Batch k is fine; report batch k+1's failure when it is asked for, as the direct path does.
                    deferred = ExceptionDispatchInfo.Capture(e);
                }
            }

            if (k + 2 < filler.BatchCount && startedThrough < k + 2)
            {
                worker.Start(k + 2, k % 2);
                startedThrough = k + 2;
            }
        }

        lastReturned = k;
        next++;
        batch = MakeBatch(s, k);
        return true;
    }

    private void IssueNextCopy()
    {
        int j = issuedThrough + 1;
        if (startedThrough < j)
        {
            worker.Wait();
            worker.Start(j, j % 2);
            startedThrough = j;
        }

        worker.Wait();
        int t = j % 3, slot = j % 2;
        consumed[t].Wait();
        int count = filler.CountOf(j);
        int nf = count * filler.RowsPerSample * filler.SampleLength, nl = count * filler.LabelLength;
        var stream = copyStream!;
        ArrayView<float> hostFeatures = slotFeatures[slot].ArrayView, hostLabels = slotLabels[slot].ArrayView;
        hostFeatures.SubView(0, nf).CopyTo(stream, setFeatures[t].View.SubView(0, nf));
        hostLabels.SubView(0, nl).CopyTo(stream, setLabels[t].View.SubView(0, nl));
        copied[t].Record();
        slotIndices[slot].AsSpan(0, count).CopyTo(setIndices[t]);
        setCount[t] = count;
        issuedThrough = j;
    }

    private DeviceBatch MakeBatch(int s, int k)
    {
        int count = setCount[s];
        var f = setFeatures[s];
        var l = setLabels[s];
        if (count < filler.BatchSize)
        {
            // Only the last batch is partial and it always lands in the same set, so these views are made once.
            if (partialFeatures[s] is not { } pf || pf.Shape[0] != count * filler.RowsPerSample)
            {
                partialFeatures[s]?.Dispose();
                partialLabels[s]?.Dispose();
                partialFeatures[s] = f.Slice(0, count * filler.RowsPerSample);
                partialLabels[s] = l.Slice(0, count * filler.RowsPerSample);
            }

            f = partialFeatures[s]!;
            l = partialLabels[s]!;
        }

        return new DeviceBatch(f, l, setIndices[s], count, k, filler.Epoch);
    }

    private void End(int gen)
    {
        if (gen != generation || !active)
        {
            return;
        }

        try
        {
            if (lastReturned >= 0)
            {
                consumed[lastReturned % sets].Record();
            }

            worker.Wait();
            foreach (var f in copied)
            {
                f.Wait();
            }
        }
        finally
        {
            active = false;
        }
    }

    /// <summary>The batches of one epoch; enumerate it once with <c>foreach</c>.</summary>
    public readonly struct EpochBatches
    {
        private readonly DeviceDataLoader loader;
        private readonly int epoch;
        private readonly int firstBatch;

        internal EpochBatches(DeviceDataLoader loader, int epoch, int firstBatch)
        {
            this.loader = loader;
            this.epoch = epoch;
            this.firstBatch = firstBatch;
        }

        /// <summary>Starts the epoch.</summary>
        public Enumerator GetEnumerator() => new(loader, loader.Begin(epoch, firstBatch));
    }

    /// <summary>Walks one epoch's batches; dispose it (foreach does) to end the epoch early.</summary>
    public struct Enumerator : IDisposable
    {
        private readonly DeviceDataLoader loader;
        private readonly int gen;
        private DeviceBatch current;

        internal Enumerator(DeviceDataLoader loader, int gen)
        {
            this.loader = loader;
            this.gen = gen;
            current = default;
        }

        /// <summary>The current batch.</summary>
        public readonly DeviceBatch Current => current;

        /// <summary>Advances to the next batch; false at the end of the epoch.</summary>
        public bool MoveNext() => loader.MoveNext(gen, out current);

        /// <summary>Ends the epoch: waits for background work and pending copies.</summary>
        public readonly void Dispose() => loader.End(gen);
    }
}
