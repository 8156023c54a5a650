// A dataset held in two arrays (features and labels): the common case for small sets like MNIST, and for tests.
using System;

namespace Engine.Data;

/// <summary>
/// Samples held in memory: <c>Count * SampleShape.Length</c> floats, row-major, and one label per sample. The arrays
/// are owned by the dataset (the constructor copies nothing; do not change them while a loader reads them).
/// </summary>
public sealed class InMemoryDataset : IDataset
{
    private readonly float[] features;
    private readonly int[] labels;
    private readonly int sampleLength;

    /// <summary>Wraps <paramref name="features"/> and <paramref name="labels"/> after validating them.</summary>
    /// <exception cref="ArgumentException">Lengths disagree, the set is empty, or a label is outside [0, classCount).</exception>
    public InMemoryDataset(float[] features, int[] labels, Shape sampleShape, int classCount)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(sampleShape);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classCount);
        if (labels.Length == 0)
        {
            throw new ArgumentException("A dataset needs at least one sample; labels is empty.", nameof(labels));
        }

        sampleLength = checked((int)sampleShape.Length);
        if (features.Length != (long)labels.Length * sampleLength)
        {
            throw new ArgumentException(
                $"features has {features.Length} elements but {labels.Length} samples of shape {sampleShape} need {(long)labels.Length * sampleLength}.",
                nameof(features));
        }

        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classCount)
            {
                throw new ArgumentException($"labels[{i}] is {labels[i]}; labels must lie in [0, {classCount}).", nameof(labels));
            }
        }

        this.features = features;
        this.labels = labels;
        SampleShape = sampleShape;
        ClassCount = classCount;
    }

    /// <inheritdoc />
    public int Count => labels.Length;

    /// <inheritdoc />
    public Shape SampleShape { get; }

    /// <inheritdoc />
    public int ClassCount { get; }

    /// <summary>Every sample's features, row-major.</summary>
    public ReadOnlySpan<float> Features => features;

    /// <summary>Every sample's label.</summary>
    public ReadOnlySpan<int> Labels => labels;

    /// <summary>The features of sample <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Sample(int index)
    {
        CheckIndex(index);
        return features.AsSpan(index * sampleLength, sampleLength);
    }

    /// <summary>The label of sample <paramref name="index"/>.</summary>
    public int Label(int index)
    {
        CheckIndex(index);
        return labels[index];
    }

    /// <inheritdoc />
    public int Read(int index, Span<float> features)
    {
        CheckIndex(index);
        if (features.Length != sampleLength)
        {
            throw new ArgumentException($"features has {features.Length} elements; a sample of shape {SampleShape} has {sampleLength}.", nameof(features));
        }

        this.features.AsSpan(index * sampleLength, sampleLength).CopyTo(features);
        return labels[index];
    }

    /// <summary>Copies any dataset into memory.</summary>
    public static InMemoryDataset From(IDataset source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source is InMemoryDataset m)
        {
            return m.Subset(Identity(m.Count));
        }

        int n = checked((int)source.SampleShape.Length);
        var f = new float[(long)source.Count * n];
        var l = new int[source.Count];
        for (int i = 0; i < source.Count; i++)
        {
            l[i] = source.Read(i, f.AsSpan(i * n, n));
        }

        return new InMemoryDataset(f, l, source.SampleShape, source.ClassCount);
    }

    /// <summary>A new dataset of the samples at <paramref name="indices"/>, in that order (copied).</summary>
    public InMemoryDataset Subset(ReadOnlySpan<int> indices)
    {
        var f = new float[(long)indices.Length * sampleLength];
        var l = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            CheckIndex(indices[i]);
            features.AsSpan(indices[i] * sampleLength, sampleLength).CopyTo(f.AsSpan(i * sampleLength));
            l[i] = labels[indices[i]];
        }

        return new InMemoryDataset(f, l, SampleShape, ClassCount);
    }

    /// <summary>
    /// Shuffles the samples by <paramref name="seed"/> and splits them: the first <paramref name="firstCount"/> go to
    /// <c>First</c>, the rest to <c>Second</c>. The same seed always gives the same split.
    /// </summary>
    public (InMemoryDataset First, InMemoryDataset Second) Split(int firstCount, long seed)
    {
        if (firstCount <= 0 || firstCount >= Count)
        {
            throw new ArgumentOutOfRangeException(nameof(firstCount), firstCount, $"A split of {Count} samples needs 0 < firstCount < {Count}.");
        }

        var order = new int[Count];
        SampleRandom.EpochOrder(order, seed, 0, shuffle: true);
        return (Subset(order.AsSpan(0, firstCount)), Subset(order.AsSpan(firstCount)));
    }

    /// <summary>Applies <paramref name="normalization"/> to every sample in place.</summary>
    public void Normalize(Normalization normalization)
    {
        ArgumentNullException.ThrowIfNull(normalization);
        for (int i = 0; i < Count; i++)
        {
            normalization.Apply(features.AsSpan(i * sampleLength, sampleLength), SampleShape);
        }
    }

    private static int[] Identity(int n)
    {
        var a = new int[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = i;
        }

        return a;
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)labels.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Sample index must lie in [0, {labels.Length}).");
        }
    }
}
