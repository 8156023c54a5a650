// Cross-entropy class weights from class counts (scikit-learn's "balanced" rule), so that rare classes weigh as
// much in the loss as common ones.
using System;

namespace Engine.Data;

/// <summary>
/// Class weights for a weighted cross-entropy (<c>Loss.CrossEntropy(classWeights: ...)</c>, torch's <c>weight</c>):
/// <see cref="Balanced(ReadOnlySpan{long})"/> is scikit-learn's <c>compute_class_weight("balanced")</c>,
/// w_c = n_samples / (n_classes * count_c), so every class contributes the same total weight n_samples / n_classes.
/// </summary>
public static class ClassWeights
{
    /// <summary>w_c = n_samples / (n_classes * count_c) for the sample count of each class.</summary>
    /// <exception cref="ArgumentException">No classes, a negative count, or a class with no samples (its weight would be infinite); the message names it.</exception>
    public static float[] Balanced(ReadOnlySpan<long> counts)
    {
        if (counts.IsEmpty)
        {
            throw new ArgumentException("class weights need the count of at least one class.", nameof(counts));
        }

        long total = 0;
        for (int c = 0; c < counts.Length; c++)
        {
            if (counts[c] <= 0)
            {
                throw new ArgumentException($"class {c} has {counts[c]} samples; every class needs at least one for a balanced weight (n_samples / (n_classes * count)).", nameof(counts));
            }

            total += counts[c];
        }

        var w = new float[counts.Length];
        for (int c = 0; c < w.Length; c++)
        {
            w[c] = (float)(total / ((double)counts.Length * counts[c]));
        }

        return w;
    }

    /// <summary>The balanced weights of a classification dataset's labels (<see cref="Count"/>, then <see cref="Balanced(ReadOnlySpan{long})"/>).</summary>
    /// <exception cref="ArgumentException">The dataset's targets are not class labels, or a class has no samples.</exception>
    public static float[] Balanced(IDataset dataset) => Balanced(Count(dataset));

    /// <summary>How many samples of <paramref name="dataset"/> carry each label in [0, ClassCount).</summary>
    /// <exception cref="ArgumentException">The targets are not class labels, or a label lies outside [0, ClassCount).</exception>
    public static long[] Count(IDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (dataset.TargetKind != TargetKind.ClassIndex || dataset.ClassCount <= 0)
        {
            throw new ArgumentException($"class weights need class labels; the dataset's targets are {dataset.TargetKind} with {dataset.ClassCount} classes.", nameof(dataset));
        }

        var counts = new long[dataset.ClassCount];
        var features = new float[dataset.SampleShape.Length];
        for (int i = 0; i < dataset.Count; i++)
        {
            int label = dataset.Read(i, features);
            if ((uint)label >= (uint)counts.Length)
            {
                throw new ArgumentException($"sample {i} has label {label}, outside [0, {counts.Length}).", nameof(dataset));
            }

            counts[label]++;
        }

        return counts;
    }
}
