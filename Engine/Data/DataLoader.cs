// Host-side batches: a dataset cut into shuffled batches of float arrays, the next one prepared in the background.
using System;

namespace Engine.Data;

/// <summary>
/// One batch in host memory. The arrays have room for a full batch; the first <see cref="Count"/> samples are valid.
/// The loader reuses the object: it holds its data until the enumerator moves on.
/// </summary>
public sealed class HostBatch
{
    internal HostBatch(int batchSize, int sampleLength, int labelLength, int rowsPerSample)
    {
        Features = new float[(long)batchSize * rowsPerSample * sampleLength];
        Labels = new float[(long)batchSize * labelLength];
        SampleIndices = new int[batchSize];
        SampleLength = sampleLength;
        LabelLength = labelLength;
        RowsPerSample = rowsPerSample;
    }

    /// <summary>
    /// Features of the batch, row-major [BatchSize, sample...] ([3 BatchSize, sample...] for triplets: the anchors,
    /// then the positives, then the negatives of the Count valid triples).
    /// </summary>
    public float[] Features { get; }

    /// <summary>
    /// Targets: class numbers ([BatchSize]) or one-hot rows ([BatchSize, C]), float values ([BatchSize, target...]), or
    /// for triplets the labels of the 3 Count rows. The first Count samples' targets are valid.
    /// </summary>
    public float[] Labels { get; }

    /// <summary>The dataset index of each sample in the batch.</summary>
    public int[] SampleIndices { get; }

    /// <summary>Number of samples in this batch.</summary>
    public int Count { get; internal set; }

    /// <summary>The batch's position in its epoch.</summary>
    public int Index { get; internal set; }

    /// <summary>The epoch the batch belongs to.</summary>
    public int Epoch { get; internal set; }

    /// <summary>Floats per sample.</summary>
    public int SampleLength { get; }

    /// <summary>Floats per sample's target (1 for a class number, the class count for one-hot labels, the target's size for values, 3 for a triple).</summary>
    public int LabelLength { get; }

    /// <summary>Feature rows per sample: 3 for triplets, else 1.</summary>
    public int RowsPerSample { get; }

    /// <summary>The valid features.</summary>
    public ReadOnlySpan<float> FeatureSpan => Features.AsSpan(0, Count * RowsPerSample * SampleLength);

    /// <summary>The valid labels.</summary>
    public ReadOnlySpan<float> LabelSpan => Labels.AsSpan(0, Count * LabelLength);
}

/// <summary>
/// Cuts a dataset into batches in host memory: each epoch in its own seeded order, transforms applied, the last
/// partial batch kept unless <see cref="DataLoaderOptions.DropLast"/>. With prefetching, batch i+1 is prepared on a
/// background thread while batch i is consumed. Enumerating an epoch allocates nothing once the loader exists.
/// </summary>
/// <example><code>
/// using var loader = new DataLoader(train, new DataLoaderOptions { BatchSize = 128, Seed = 1 });
/// foreach (HostBatch b in loader.Epoch(0)) { Use(b.FeatureSpan, b.LabelSpan); }
/// </code></example>
public sealed class DataLoader : IDisposable, IBatchJob
{
    private readonly BatchFiller filler;
    private readonly HostBatch[] slots;
    private readonly PrefetchWorker worker;
    private int generation;
    private bool active;
    private int next;
    private bool disposed;

    /// <summary>Creates a loader over <paramref name="dataset"/>.</summary>
    /// <exception cref="ArgumentException">The options do not fit the dataset (see <see cref="DataLoaderOptions"/>).</exception>
    public DataLoader(IDataset dataset, DataLoaderOptions? options = null)
    {
        Options = options ?? new DataLoaderOptions();
        filler = new BatchFiller(dataset, Options);
        Dataset = dataset;
        slots = [NewSlot(), NewSlot()];
        worker = new PrefetchWorker(this, Options.Prefetch, "Engine.DataLoader prefetch");
    }

    /// <summary>The dataset.</summary>
    public IDataset Dataset { get; }

    /// <summary>The options.</summary>
    public DataLoaderOptions Options { get; }

    /// <summary>Batches per epoch.</summary>
    public int BatchCount => filler.BatchCount;

    /// <summary>Bytes allocated by the background thread while preparing batches (for tests).</summary>
    internal long BackgroundAllocatedBytes => worker.AllocatedBytes;

    /// <summary>The batches of epoch <paramref name="epoch"/> (0-based), for <c>foreach</c>.</summary>
    public EpochBatches Epoch(int epoch)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        return new EpochBatches(this, epoch);
    }

    /// <summary>Waits for background work and releases the loader's thread.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        worker.Dispose();
    }

    void IBatchJob.Run(int batch, int slot)
    {
        var s = slots[slot];
        filler.Fill(batch, s.Features, s.Labels, s.SampleIndices);
        s.Count = filler.CountOf(batch);
        s.Index = batch;
        s.Epoch = filler.Epoch;
    }

    private HostBatch NewSlot() => new(filler.BatchSize, filler.SampleLength, filler.LabelLength, filler.RowsPerSample);

    private int Begin(int epoch)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (active)
        {
            throw new InvalidOperationException("An epoch of this loader is already being enumerated; finish or dispose that enumerator first.");
        }

        worker.Wait();
        active = true;
        filler.BeginEpoch(epoch);
        next = 0;
        worker.Start(0, 0);
        return ++generation;
    }

    private HostBatch? MoveNext(int gen)
    {
        CheckGeneration(gen);
        int k = next;
        if (k >= filler.BatchCount)
        {
            End(gen);
            return null;
        }

        worker.Wait();
        if (k + 1 < filler.BatchCount)
        {
            worker.Start(k + 1, (k + 1) % 2);
        }

        next++;
        return slots[k % 2];
    }

    private void End(int gen)
    {
        if (gen != generation || !active)
        {
            return;
        }

        try
        {
            worker.Wait();
        }
        finally
        {
            active = false;
        }
    }

    private void CheckGeneration(int gen)
    {
        if (gen != generation || !active)
        {
            throw new InvalidOperationException("This enumerator has ended; start a new epoch with Epoch(n).");
        }
    }

    /// <summary>The batches of one epoch; enumerate it once with <c>foreach</c>.</summary>
    public readonly struct EpochBatches
    {
        private readonly DataLoader loader;
        private readonly int epoch;

        internal EpochBatches(DataLoader loader, int epoch)
        {
            this.loader = loader;
            this.epoch = epoch;
        }

        /// <summary>Starts the epoch.</summary>
        public Enumerator GetEnumerator() => new(loader, loader.Begin(epoch));
    }

    /// <summary>Walks one epoch's batches; dispose it (foreach does) to end the epoch early.</summary>
    public struct Enumerator : IDisposable
    {
        private readonly DataLoader loader;
        private readonly int gen;
        private HostBatch? current;

        internal Enumerator(DataLoader loader, int gen)
        {
            this.loader = loader;
            this.gen = gen;
            current = null;
        }

        /// <summary>The current batch.</summary>
        public readonly HostBatch Current => current ?? throw new InvalidOperationException("Call MoveNext first.");

        /// <summary>Advances to the next batch; false at the end of the epoch.</summary>
        public bool MoveNext()
        {
            current = loader.MoveNext(gen);
            return current is not null;
        }

        /// <summary>Ends the epoch (waits for background work).</summary>
        public readonly void Dispose() => loader.End(gen);
    }
}
