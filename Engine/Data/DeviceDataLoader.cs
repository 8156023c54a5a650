// Device-side batches: the loader owns and reuses the device tensors a training step reads, fills pinned host
// staging buffers on a background thread, and copies them on a separate stream so copies overlap compute.
using System;
using System.Linq;
using System.Runtime.ExceptionServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Engine.Data;

/// <summary>How a <see cref="DeviceDataLoader"/> moves batches into device memory.</summary>
public enum DeviceTransfer
{
    /// <summary>The device's buffers are host memory (the CPU device): batches are written into the tensors directly.</summary>
    Direct = 0,

    /// <summary>Pinned staging buffers, copied on a second stream; the host waits for compute by synchronizing streams.</summary>
    Staged = 1,

    /// <summary>Pinned staging buffers copied on a non-blocking CUDA stream, ordered by CUDA events: copies overlap compute.</summary>
    Overlapped = 2,
}

/// <summary>
/// One batch in device memory: <see cref="Features"/> [Count, sample...] and <see cref="Labels"/>, its targets
/// ([Count] class numbers, [Count, C] one-hot rows or [Count, target...] float values). For triplets the features are
/// [3 Count, sample...] (anchors, positives, negatives) and the targets [3 Count], the rows' labels. The tensors belong
/// to the loader: do not dispose them, and use them only until the enumerator moves on.
/// </summary>
public readonly struct DeviceBatch
{
    private readonly int[] indices;

    internal DeviceBatch(Tensor features, Tensor labels, int[] indices, int count, int index, int epoch)
    {
        Features = features;
        Labels = labels;
        this.indices = indices;
        Count = count;
        Index = index;
        Epoch = epoch;
    }

    /// <summary>The batch's features.</summary>
    public Tensor Features { get; }

    /// <summary>The batch's targets (class labels, one-hot rows, float values, or the labels of a triplet batch's rows).</summary>
    public Tensor Labels { get; }

    /// <summary>Number of samples, or triples (the batch size, or fewer for a kept last batch).</summary>
    public int Count { get; }

    /// <summary>The batch's position in its epoch.</summary>
    public int Index { get; }

    /// <summary>The epoch.</summary>
    public int Epoch { get; }

    /// <summary>The dataset index of each sample.</summary>
    public ReadOnlySpan<int> SampleIndices => indices.AsSpan(0, Count);
}

/// <summary>
/// Batches of a dataset in device tensors that the loader owns and reuses: no device or managed allocation per
/// batch once an epoch has run. Batch i+1 is prepared on a background thread (sample reads, transforms) while batch i
/// is consumed; on CUDA its host-to-device copy runs on its own stream, overlapping the compute on the device's
/// stream (see <see cref="Transfer"/>). Same order, transforms and partial-batch rules as <see cref="DataLoader"/>.
/// </summary>
/// <example><code>
/// using var loader = new DeviceDataLoader(device, train, new DataLoaderOptions { BatchSize = 128, Seed = 1 });
/// for (int epoch = 0; epoch &lt; epochs; epoch++)
///     foreach (DeviceBatch b in loader.Epoch(epoch)) { model.Step(b.Features, b.Labels); }
/// </code></example>
public sealed partial class DeviceDataLoader : IDisposable, IBatchJob
{
    private readonly BatchFiller filler;
    private readonly PrefetchWorker worker;
    private readonly int sets;
    private readonly Tensor[] setFeatures;
    private readonly Tensor[] setLabels;
    private readonly Tensor?[] partialFeatures;
    private readonly Tensor?[] partialLabels;
    private readonly int[][] setIndices;
    private readonly int[] setCount;
    private readonly PageLockedArray1D<float>[] slotFeatures = [];
    private readonly PageLockedArray1D<float>[] slotLabels = [];
    private readonly int[][] slotIndices = [];
    private readonly AcceleratorStream? copyStream;
    private readonly StreamFence[] consumed;
    private readonly StreamFence[] copied = [];
    private int generation;
    private bool active;
    private int next;
    private int lastReturned;
    private int startedThrough;
    private int issuedThrough;
    private bool disposed;
    private ExceptionDispatchInfo? deferred;

    /// <summary>Creates a loader that fills tensors on <paramref name="device"/> from <paramref name="dataset"/>.</summary>
    /// <exception cref="ArgumentException">The options do not fit the dataset (see <see cref="DataLoaderOptions"/>).</exception>
    public DeviceDataLoader(Device device, IDataset dataset, DataLoaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        Device = device;
        Dataset = dataset;
        Options = options ?? new DataLoaderOptions();
        filler = new BatchFiller(dataset, Options);
        Transfer = device.IsHostMemory && !Options.ForceStaging ? DeviceTransfer.Direct
            : device.Accelerator is CudaAccelerator ? DeviceTransfer.Overlapped : DeviceTransfer.Staged;
        sets = Transfer == DeviceTransfer.Direct ? 2 : 3;

        int b = filler.BatchSize;
        FeatureShape = new Shape([b * filler.RowsPerSample, .. dataset.SampleShape.ToArray()]);
        LabelShape = filler.LabelShapeFor(b);
        setFeatures = new Tensor[sets];
        setLabels = new Tensor[sets];
        partialFeatures = new Tensor?[sets];
        partialLabels = new Tensor?[sets];
        setIndices = new int[sets][];
        setCount = new int[sets];
        consumed = new StreamFence[sets];
        try
        {
            for (int s = 0; s < sets; s++)
            {
                setFeatures[s] = Tensor.Empty(device, FeatureShape);
                setLabels[s] = Tensor.Empty(device, LabelShape);
                setIndices[s] = new int[b];
                consumed[s] = StreamFence.Create(device.Accelerator, device.Stream);
            }

            if (Transfer != DeviceTransfer.Direct)
            {
                copyStream = device.Accelerator is CudaAccelerator cuda
                    ? cuda.CreateStream(StreamFlags.CU_STREAM_NON_BLOCKING)
                    : device.CreateStream();
                slotFeatures = [AllocPinned(FeatureShape.Length), AllocPinned(FeatureShape.Length)];
                slotLabels = [AllocPinned(LabelShape.Length), AllocPinned(LabelShape.Length)];
                slotIndices = [new int[b], new int[b]];
                copied = [.. Enumerable.Range(0, sets).Select(_ => StreamFence.Create(device.Accelerator, copyStream))];
            }
        }
        catch
        {
            Release();
            throw;
        }

        worker = new PrefetchWorker(this, Options.Prefetch, "Engine.DeviceDataLoader prefetch");
    }

    /// <summary>The device the batches live on.</summary>
    public Device Device { get; }

    /// <summary>The dataset.</summary>
    public IDataset Dataset { get; }

    /// <summary>The options.</summary>
    public DataLoaderOptions Options { get; }

    /// <summary>Batches per epoch.</summary>
    public int BatchCount => filler.BatchCount;

    /// <summary>Shape of a full batch's features: [BatchSize, sample...] ([3 BatchSize, sample...] for triplets).</summary>
    public Shape FeatureShape { get; }

    /// <summary>Shape of a full batch's targets: [BatchSize], [BatchSize, C], [BatchSize, target...], or [3 BatchSize] for triplets.</summary>
    public Shape LabelShape { get; }

    /// <summary>Feature rows per sample: 3 for triplets (anchor, positive, negative), else 1.</summary>
    public int RowsPerSample => filler.RowsPerSample;

    /// <summary>How batches reach the device.</summary>
    public DeviceTransfer Transfer { get; }

    /// <summary>Bytes allocated by the background thread while preparing batches (for tests).</summary>
    internal long BackgroundAllocatedBytes => worker.AllocatedBytes;

    /// <summary>The batches of epoch <paramref name="epoch"/> (0-based), for <c>foreach</c>.</summary>
    public EpochBatches Epoch(int epoch) => Epoch(epoch, 0);

    /// <summary>
    /// The batches of epoch <paramref name="epoch"/> from batch <paramref name="firstBatch"/> on (0-based): the same
    /// batches the whole epoch gives from there, the earlier ones never prepared. Resuming mid-epoch uses it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative epoch, or a first batch outside [0, BatchCount].</exception>
    public EpochBatches Epoch(int epoch, int firstBatch)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        if (firstBatch < 0 || firstBatch > BatchCount)
        {
            throw new ArgumentOutOfRangeException(nameof(firstBatch), firstBatch, $"firstBatch must lie in [0, {BatchCount}] (the epoch has {BatchCount} batches).");
        }

        return new EpochBatches(this, epoch, firstBatch);
    }

    /// <summary>Waits for pending copies and background work, then returns the tensors and pinned buffers.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        worker.Dispose();
        Release();
    }

    void IBatchJob.Run(int batch, int slot)
    {
        if (Transfer == DeviceTransfer.Direct)
        {
            filler.Fill(batch, setFeatures[slot].HostSpan, setLabels[slot].HostSpan, setIndices[slot]);
        }
        else
        {
            filler.Fill(batch, slotFeatures[slot].Span, slotLabels[slot].Span, slotIndices[slot]);
        }
    }

    private PageLockedArray1D<float> AllocPinned(long length) => Device.Accelerator.AllocatePageLocked1D<float>(length);

    private void Release()
    {
        foreach (var f in copied)
        {
            f?.Wait();
            f?.Dispose();
        }

        foreach (var f in consumed)
        {
            f?.Wait();
            f?.Dispose();
        }

        copyStream?.Dispose();
        foreach (var t in partialFeatures.Concat(partialLabels).Concat(setFeatures).Concat(setLabels))
        {
            t?.Dispose();
        }

        foreach (var p in slotFeatures.Concat(slotLabels))
        {
            p?.Dispose();
        }
    }
}
