// A dataset held in arrays (features, and class labels or float targets): the common case for small sets like MNIST,
// tabular data, and tests.
using System;

namespace Engine.Data;

/// <summary>
/// Samples held in memory: <c>Count * SampleShape.Length</c> floats, row-major, and per sample either a class label
/// (<see cref="TargetKind.ClassIndex"/>) or <c>TargetShape.Length</c> float targets (<see cref="TargetKind.Values"/>:
/// regression vectors, masks, reconstructions). The arrays are owned by the dataset (the constructors copy nothing;
/// do not change them while a loader reads them).
/// </summary>
/// <example><code>
/// var classes = new InMemoryDataset(features, labels, new Shape(4), classCount: 3);          // class indices
/// var regression = new InMemoryDataset(features, new Shape(4), targets, new Shape(1));      // one float per sample
/// var masks = new InMemoryDataset(images, new Shape(1, 28, 28), masks, new Shape(28, 28)); // a mask per image
/// </code></example>
public sealed class InMemoryDataset : IDataset
{
    private readonly float[] features;
    private readonly int[] labels;
    private readonly float[] targets;
    private readonly int sampleLength;
    private readonly int targetLength;
    private readonly int count;

    /// <summary>Wraps <paramref name="features"/> and class <paramref name="labels"/> after validating them.</summary>
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
        CheckFeatures(features, labels.Length, sampleShape, sampleLength);
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classCount)
            {
                throw new ArgumentException($"labels[{i}] is {labels[i]}; labels must lie in [0, {classCount}).", nameof(labels));
            }
        }

        this.features = features;
        this.labels = labels;
        targets = [];
        count = labels.Length;
        targetLength = 1;
        SampleShape = sampleShape;
        ClassCount = classCount;
        TargetKind = TargetKind.ClassIndex;
        TargetShape = Shape.Scalar;
    }

    /// <summary>
    /// Wraps <paramref name="features"/> and float <paramref name="targets"/> of <paramref name="targetShape"/> per
    /// sample (e.g. [1] for one regression output, [28, 28] for a mask) after validating their lengths.
    /// </summary>
    /// <exception cref="ArgumentException">The set is empty, the lengths disagree, or a target is not finite.</exception>
    public InMemoryDataset(float[] features, Shape sampleShape, float[] targets, Shape targetShape)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(sampleShape);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(targetShape);
        sampleLength = checked((int)sampleShape.Length);
        targetLength = checked((int)targetShape.Length);
        if (targets.Length == 0 || targets.Length % targetLength != 0)
        {
            throw new ArgumentException(
                $"targets has {targets.Length} elements; a dataset needs at least one sample and a whole number of targets of shape {targetShape} ({targetLength} each).", nameof(targets));
        }

        count = targets.Length / targetLength;
        CheckFeatures(features, count, sampleShape, sampleLength);
        int bad = Array.FindIndex(targets, t => !float.IsFinite(t));
        if (bad >= 0)
        {
            throw new ArgumentException($"targets[{bad}] is {targets[bad]}; targets must be finite (sample {bad / targetLength}).", nameof(targets));
        }

        this.features = features;
        this.targets = targets;
        labels = [];
        SampleShape = sampleShape;
        TargetKind = TargetKind.Values;
        TargetShape = targetShape;
    }

    /// <inheritdoc />
    public int Count => count;

    /// <inheritdoc />
    public Shape SampleShape { get; }

    /// <inheritdoc />
    public int ClassCount { get; }

    /// <inheritdoc />
    public TargetKind TargetKind { get; }

    /// <inheritdoc />
    public Shape TargetShape { get; }

    /// <summary>Every sample's features, row-major.</summary>
    public ReadOnlySpan<float> Features => features;

    /// <summary>Every sample's label (empty when the targets are float values).</summary>
    public ReadOnlySpan<int> Labels => labels;

    /// <summary>Every sample's float targets, row-major (empty when the targets are class labels).</summary>
    public ReadOnlySpan<float> Targets => targets;

    /// <summary>The features of sample <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Sample(int index)
    {
        CheckIndex(index);
        return features.AsSpan(index * sampleLength, sampleLength);
    }

    /// <summary>The label of sample <paramref name="index"/>.</summary>
    /// <exception cref="InvalidOperationException">The targets are float values, not labels.</exception>
    public int Label(int index)
    {
        CheckIndex(index);
        return TargetKind == TargetKind.ClassIndex
            ? labels[index]
            : throw new InvalidOperationException($"This dataset's targets are float values of shape {TargetShape}, not class labels; use Target(index).");
    }

    /// <summary>The float target of sample <paramref name="index"/>.</summary>
    /// <exception cref="InvalidOperationException">The targets are class labels.</exception>
    public ReadOnlySpan<float> Target(int index)
    {
        CheckIndex(index);
        return TargetKind == TargetKind.Values
            ? targets.AsSpan(index * targetLength, targetLength)
            : throw new InvalidOperationException("This dataset's targets are class labels; use Label(index).");
    }

    /// <inheritdoc />
    public int Read(int index, Span<float> features)
    {
        CopyFeatures(index, features);
        return TargetKind == TargetKind.ClassIndex ? labels[index] : -1;
    }

    /// <inheritdoc />
    public void Read(int index, Span<float> features, Span<float> target)
    {
        CopyFeatures(index, features);
        if (target.Length != targetLength)
        {
            throw new ArgumentException($"target has {target.Length} elements; a target of shape {TargetShape} has {targetLength}.", nameof(target));
        }

        if (TargetKind == TargetKind.ClassIndex)
        {
            target[0] = labels[index];
        }
        else
        {
            targets.AsSpan(index * targetLength, targetLength).CopyTo(target);
        }
    }

    /// <summary>Copies any class-label or float-target dataset into memory (a triplet dataset: copy its source instead).</summary>
    /// <exception cref="ArgumentException">The dataset's targets are triplets.</exception>
    public static InMemoryDataset From(IDataset source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source is InMemoryDataset m)
        {
            return m.Subset(Identity(m.Count));
        }

        int n = checked((int)source.SampleShape.Length);
        var f = new float[(long)source.Count * n];
        switch (source.TargetKind)
        {
            case TargetKind.ClassIndex:
                {
                    var l = new int[source.Count];
                    for (int i = 0; i < source.Count; i++)
                    {
                        l[i] = source.Read(i, f.AsSpan(i * n, n));
                    }

                    return new InMemoryDataset(f, l, source.SampleShape, source.ClassCount);
                }

            case TargetKind.Values:
                {
                    int t = checked((int)source.TargetShape.Length);
                    var v = new float[(long)source.Count * t];
                    for (int i = 0; i < source.Count; i++)
                    {
                        source.Read(i, f.AsSpan(i * n, n), v.AsSpan(i * t, t));
                    }

                    return new InMemoryDataset(f, source.SampleShape, v, source.TargetShape);
                }

            default:
                throw new ArgumentException($"A dataset of {source.TargetKind} targets cannot be copied sample by sample; copy its source dataset.", nameof(source));
        }
    }

    /// <summary>A new dataset of the samples at <paramref name="indices"/>, in that order (copied).</summary>
    public InMemoryDataset Subset(ReadOnlySpan<int> indices)
    {
        var f = new float[(long)indices.Length * sampleLength];
        var l = new int[TargetKind == TargetKind.ClassIndex ? indices.Length : 0];
        var t = new float[TargetKind == TargetKind.Values ? (long)indices.Length * targetLength : 0];
        for (int i = 0; i < indices.Length; i++)
        {
            int k = indices[i];
            CheckIndex(k);
            features.AsSpan(k * sampleLength, sampleLength).CopyTo(f.AsSpan(i * sampleLength));
            if (TargetKind == TargetKind.ClassIndex)
            {
                l[i] = labels[k];
            }
            else
            {
                targets.AsSpan(k * targetLength, targetLength).CopyTo(t.AsSpan(i * targetLength));
            }
        }

        return TargetKind == TargetKind.ClassIndex
            ? new InMemoryDataset(f, l, SampleShape, ClassCount)
            : new InMemoryDataset(f, SampleShape, t, TargetShape);
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

    /// <summary>Applies <paramref name="normalization"/> to every sample's features in place (targets are left alone).</summary>
    public void Normalize(Normalization normalization)
    {
        ArgumentNullException.ThrowIfNull(normalization);
        for (int i = 0; i < Count; i++)
        {
            normalization.Apply(features.AsSpan(i * sampleLength, sampleLength), SampleShape);
        }
    }

    private static void CheckFeatures(float[] features, int samples, Shape sampleShape, int sampleLength)
    {
        if (features.Length != (long)samples * sampleLength)
        {
            throw new ArgumentException(
                $"features has {features.Length} elements but {samples} samples of shape {sampleShape} need {(long)samples * sampleLength}.",
                nameof(features));
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

    private void CopyFeatures(int index, Span<float> features)
    {
        CheckIndex(index);
        if (features.Length != sampleLength)
        {
            throw new ArgumentException($"features has {features.Length} elements; a sample of shape {SampleShape} has {sampleLength}.", nameof(features));
        }

        this.features.AsSpan(index * sampleLength, sampleLength).CopyTo(features);
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Sample index must lie in [0, {count}).");
        }
    }
}
