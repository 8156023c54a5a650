// Triplets for the triplet loss: each sample of a labelled dataset is an anchor, paired in every epoch with a fresh
// positive (same class) and negative (another class) drawn from a stream fixed by (seed, epoch, anchor).
using System;

namespace Engine.Data;

/// <summary>
/// A dataset whose samples are (anchor, positive, negative) triples of samples of <see cref="Source"/>
/// (<see cref="TargetKind.Triplet"/>). Loaders stack a batch of n triples as 3n rows: the anchors, then the positives,
/// then the negatives; the batch target holds the three rows' class labels in the same order.
/// </summary>
public interface ITripletDataset : IDataset
{
    /// <summary>The labelled dataset the triples index.</summary>
    IDataset Source { get; }

    /// <summary>The source indices of triple <paramref name="index"/> in epoch <paramref name="epoch"/>.</summary>
    (int Anchor, int Positive, int Negative) Triplet(int index, int epoch);
}

/// <summary>
/// Every sample of a class-labelled dataset as an anchor, with a positive of the same class (another sample where the
/// class has one) and a negative of another class, drawn anew in every epoch from a stream fixed by (seed, epoch,
/// anchor): the same seed gives the same triples. Evaluation uses epoch 0's triples.
/// </summary>
/// <example><code>
/// var triplets = new TripletDataset(Mnist.Load(dir, MnistSplit.Train), seed: 1);
/// using var net = embedder.Compile(device, [3 * 64, 1, 28, 28], Loss.Triplet());   // 64 triples per batch
/// trainer.Fit(triplets);
/// </code></example>
public sealed class TripletDataset : ITripletDataset
{
    private readonly int[] labels;
    private readonly int[] byClass;
    private readonly int[] classStart;
    private readonly int[] rankInClass;
    private readonly long seed;

    /// <summary>Makes triples of <paramref name="source"/>'s samples (its labels are read once, here).</summary>
    /// <exception cref="ArgumentException">The source has no class labels, or fewer than two classes with samples.</exception>
    public TripletDataset(IDataset source, long seed)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.TargetKind != TargetKind.ClassIndex)
        {
            throw new ArgumentException($"Triplets need a dataset of class labels; this one's targets are {source.TargetKind}.", nameof(source));
        }

        Source = source;
        this.seed = seed;
        int n = source.Count, c = source.ClassCount;
        labels = new int[n];
        var buffer = new float[checked((int)source.SampleShape.Length)];
        var counts = new int[c];
        for (int i = 0; i < n; i++)
        {
            int y = source.Read(i, buffer);
            if ((uint)y >= (uint)c)
            {
                throw new ArgumentException($"Sample {i} of the source has label {y}; labels must lie in [0, {c}).", nameof(source));
            }

            labels[i] = y;
            counts[y]++;
        }

        int present = Array.FindAll(counts, k => k > 0).Length;
        if (present < 2)
        {
            throw new ArgumentException($"Triplets need samples of at least two classes (for negatives); the source has {present}.", nameof(source));
        }

        // Sample indices grouped by class (a counting sort), and each sample's position within its class.
        classStart = new int[c + 1];
        for (int k = 0; k < c; k++)
        {
            classStart[k + 1] = classStart[k] + counts[k];
        }

        byClass = new int[n];
        rankInClass = new int[n];
        var next = (int[])classStart.Clone();
        for (int i = 0; i < n; i++)
        {
            int at = next[labels[i]]++;
            byClass[at] = i;
            rankInClass[i] = at - classStart[labels[i]];
        }
    }

    /// <inheritdoc />
    public IDataset Source { get; }

    /// <inheritdoc />
    public int Count => labels.Length;

    /// <inheritdoc />
    public Shape SampleShape => Source.SampleShape;

    /// <inheritdoc />
    public int ClassCount => Source.ClassCount;

    /// <inheritdoc />
    public TargetKind TargetKind => TargetKind.Triplet;

    /// <inheritdoc />
    public Shape TargetShape { get; } = new(3);

    /// <summary>The class label of source sample <paramref name="index"/>.</summary>
    public int Label(int index) => labels[index];

    /// <inheritdoc />
    public (int Anchor, int Positive, int Negative) Triplet(int index, int epoch)
    {
        if ((uint)index >= (uint)labels.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Triplet index must lie in [0, {labels.Length}).");
        }

        var rng = SampleRandom.For(seed, epoch, index);
        int y = labels[index];
        int start = classStart[y], size = classStart[y + 1] - start;
        int positive = index;
        if (size > 1)
        {
            int r = rng.NextInt(size - 1);
            positive = byClass[start + (r >= rankInClass[index] ? r + 1 : r)];
        }

        int others = labels.Length - size;
        int o = rng.NextInt(others);
        int negative = byClass[o < start ? o : o + size];
        return (index, positive, negative);
    }

    /// <summary>Copies the anchor's features and returns its label.</summary>
    public int Read(int index, Span<float> features)
    {
        Triplet(index, 0);
        return Source.Read(index, features);
    }

    /// <summary>Copies the anchor's features and writes the labels of epoch 0's triple (anchor, positive, negative).</summary>
    public void Read(int index, Span<float> features, Span<float> target)
    {
        var (a, p, n) = Triplet(index, 0);
        Source.Read(a, features);
        target[0] = labels[a];
        target[1] = labels[p];
        target[2] = labels[n];
    }
}

/// <summary>
/// A dataset whose target is each sample's own features (<see cref="TargetKind.Values"/> of the sample shape): what an
/// autoencoder reconstructs. Transforms that move an image (a shift) move its target with it; a normalization changes
/// only the input.
/// </summary>
public sealed class ReconstructionDataset : IDataset
{
    /// <summary>Wraps <paramref name="source"/> (its labels, if any, are not used).</summary>
    public ReconstructionDataset(IDataset source)
    {
        Source = source ?? throw new ArgumentNullException(nameof(source));
    }

    /// <summary>The dataset whose samples are reconstructed.</summary>
    public IDataset Source { get; }

    /// <inheritdoc />
    public int Count => Source.Count;

    /// <inheritdoc />
    public Shape SampleShape => Source.SampleShape;

    /// <inheritdoc />
    public int ClassCount => 0;

    /// <inheritdoc />
    public TargetKind TargetKind => TargetKind.Values;

    /// <inheritdoc />
    public Shape TargetShape => Source.SampleShape;

    /// <inheritdoc />
    public int Read(int index, Span<float> features)
    {
        Source.Read(index, features);
        return -1;
    }

    /// <inheritdoc />
    public void Read(int index, Span<float> features, Span<float> target)
    {
        Source.Read(index, features);
        features.CopyTo(target);
    }
}
