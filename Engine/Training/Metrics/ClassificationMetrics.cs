// Accuracy of class scores (top-1, top-k) against class indices or one-hot / probability rows, and the accuracy of
// independent yes/no outputs.
using System;
using System.Collections.Generic;
using System.Globalization;

namespace Engine.Training;

/// <summary>
/// The fraction of samples whose label's class is among the <c>k</c> highest of the output's class scores (N, C)
/// (top-1: the largest score, the first on ties, as torch.argmax). Targets are class indices (N) or rows (N, C) whose
/// largest value is the class (one-hot or probabilities). Named <c>accuracy</c> for k = 1, else <c>top{k}_accuracy</c>.
/// </summary>
public sealed class Accuracy : Metric
{
    private int classes;
    private bool rowTargets;

    /// <summary>Creates top-<paramref name="k"/> accuracy.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is below 1.</exception>
    public Accuracy(int k = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        K = k;
        Names = [k == 1 ? "accuracy" : string.Create(CultureInfo.InvariantCulture, $"top{k}_accuracy")];
    }

    /// <summary>How many of the highest scores count.</summary>
    public int K { get; }

    /// <inheritdoc />
    public override IReadOnlyList<string> Names { get; }

    /// <inheritdoc />
    public override void Bind(Shape output, Shape target)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(target);
        if (output.Rank != 2 || output[1] < 2)
        {
            throw new ArgumentException($"{Names[0]} needs class scores (N, C) with C >= 2; the model's output is {output}.", nameof(output));
        }

        classes = output[1];
        if (K > classes)
        {
            throw new ArgumentException($"{Names[0]} counts the {K} highest scores, but the output has {classes} classes.", nameof(output));
        }

        rowTargets = target.Rank == 2 && target[1] == classes;
        if (!rowTargets && target.Rank != 1)
        {
            throw new ArgumentException($"{Names[0]} needs targets of class indices (N) or rows (N, {classes}); the target is {target}.", nameof(target));
        }
    }

    /// <inheritdoc />
    public override int StateLength(int samples) => 2;

    /// <inheritdoc />
    public override void Update(Span<double> state, ReadOnlySpan<float> output, ReadOnlySpan<float> target, int rows)
    {
        int c = classes;
        long correct = 0;
        for (int i = 0; i < rows; i++)
        {
            var scores = output.Slice(i * c, c);
            int label = rowTargets ? ArgMax(target, i * c, c, 1) : (int)target[i];
            if ((uint)label >= (uint)c)
            {
                continue;
            }

            if (K == 1)
            {
                correct += ArgMax(scores, 0, c, 1) == label ? 1 : 0;
                continue;
            }

            // Rank of the label's score: higher scores, and equal scores of earlier classes, come first.
            float s = scores[label];
            int ahead = float.IsNaN(s) ? c : 0;
            for (int j = 0; j < c && ahead < K; j++)
            {
                ahead += scores[j] > s || (j < label && scores[j] == s) ? 1 : 0;
            }

            correct += ahead < K ? 1 : 0;
        }

        state[0] += correct;
        state[1] += rows;
    }

    /// <inheritdoc />
    public override void Compute(ReadOnlySpan<double> state, Span<double> values) => values[0] = state[1] > 0 ? state[0] / state[1] : double.NaN;
}

/// <summary>
/// The fraction of independent yes/no outputs on the right side of a threshold (0 for logits, 0.5 for
/// probabilities), against targets of the same shape (yes where the target is above 0.5). Named <c>binary_accuracy</c>.
/// </summary>
public sealed class BinaryAccuracy : Metric
{
    private int length;

    /// <summary>Creates the metric for outputs that are <paramref name="logits"/> (threshold 0) or probabilities (threshold 0.5).</summary>
    public BinaryAccuracy(bool logits)
    {
        Threshold = logits ? 0f : 0.5f;
    }

    /// <summary>Outputs above it count as yes.</summary>
    public float Threshold { get; }

    /// <inheritdoc />
    public override IReadOnlyList<string> Names { get; } = ["binary_accuracy"];

    /// <inheritdoc />
    public override void Bind(Shape output, Shape target)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (target != output)
        {
            throw new ArgumentException($"binary_accuracy needs targets of the output's shape {output}; the target is {target}.", nameof(target));
        }

        length = RowLength(output);
    }

    /// <inheritdoc />
    public override int StateLength(int samples) => 2;

    /// <inheritdoc />
    public override void Update(Span<double> state, ReadOnlySpan<float> output, ReadOnlySpan<float> target, int rows)
    {
        int n = rows * length;
        long correct = 0;
        for (int i = 0; i < n; i++)
        {
            correct += (output[i] > Threshold) == (target[i] > 0.5f) ? 1 : 0;
        }

        state[0] += correct;
        state[1] += n;
    }

    /// <inheritdoc />
    public override void Compute(ReadOnlySpan<double> state, Span<double> values) => values[0] = state[1] > 0 ? state[0] / state[1] : double.NaN;
}
