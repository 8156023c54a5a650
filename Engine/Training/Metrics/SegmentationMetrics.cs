// Segmentation quality from class scores per position: per-class IoU and Dice of the predicted classes (the largest
// score) against the true classes (indices, or the largest target value), their means, and the pixel accuracy.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Engine.Training;

/// <summary>
/// For outputs (N, C, d1, ...) (or (N, C): one position per sample) and targets of class indices (N, d1, ...) or of the
/// output's shape (one-hot or probabilities): <c>pixel_accuracy</c>, <c>mean_iou</c>, <c>mean_dice</c>, and per class c
/// <c>iou_c</c> = |pred c and true c| / |pred c or true c| and <c>dice_c</c> = 2 |pred c and true c| / (|pred c| + |true c|),
/// counted over every position of the pass. A class that is neither predicted nor present is NaN and left out of the means.
/// </summary>
public sealed class SegmentationMetrics : Metric
{
    private string[] names = [];
    private int classes;
    private int positions;
    private bool indexTargets;

    /// <inheritdoc />
    public override IReadOnlyList<string> Names => names;

    /// <inheritdoc />
    public override void Bind(Shape output, Shape target)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(target);
        if (output.Rank < 2 || output[1] < 2)
        {
            throw new ArgumentException($"Segmentation metrics need class scores (N, C, d1, ...) with C >= 2; the model's output is {output}.", nameof(output));
        }

        classes = output[1];
        positions = checked((int)(output.Length / ((long)output[0] * classes)));
        var indexShape = new Shape([output[0], .. output.ToArray()[2..]]);
        indexTargets = target == indexShape;
        if (!indexTargets && target != output)
        {
            throw new ArgumentException($"Segmentation metrics need targets of class indices {indexShape} or of the output's shape {output}; the target is {target}.", nameof(target));
        }

        names = [
            "pixel_accuracy", "mean_iou", "mean_dice",
            .. Enumerable.Range(0, classes).Select(c => string.Create(CultureInfo.InvariantCulture, $"iou_{c}")),
            .. Enumerable.Range(0, classes).Select(c => string.Create(CultureInfo.InvariantCulture, $"dice_{c}")),
        ];
    }

    /// <inheritdoc />
    public override int StateLength(int samples) => 2 + (3 * classes);

    /// <inheritdoc />
    public override void Update(Span<double> state, ReadOnlySpan<float> output, ReadOnlySpan<float> target, int rows)
    {
        int c = classes, s = positions;
        var both = state.Slice(2, c);
        var predicted = state.Slice(2 + c, c);
        var present = state.Slice(2 + (2 * c), c);
        long correct = 0;
        for (int n = 0; n < rows; n++)
        {
            int block = n * c * s;
            for (int at = 0; at < s; at++)
            {
                int p = ArgMax(output, block + at, c, s);
                int y = indexTargets ? (int)target[(n * s) + at] : ArgMax(target, block + at, c, s);
                predicted[p]++;
                if ((uint)y < (uint)c)
                {
                    present[y]++;
                    if (p == y)
                    {
                        both[y]++;
                        correct++;
                    }
                }
            }
        }

        state[0] += correct;
        state[1] += (long)rows * s;
    }

    /// <inheritdoc />
    public override void Compute(ReadOnlySpan<double> state, Span<double> values)
    {
        int c = classes;
        values[0] = state[1] > 0 ? state[0] / state[1] : double.NaN;
        double iouSum = 0, diceSum = 0;
        int counted = 0;
        for (int k = 0; k < c; k++)
        {
            double i = state[2 + k], p = state[2 + c + k], t = state[2 + (2 * c) + k];
            double iou = p + t > 0 ? i / (p + t - i) : double.NaN;
            double dice = p + t > 0 ? 2 * i / (p + t) : double.NaN;
            values[3 + k] = iou;
            values[3 + c + k] = dice;
            if (p + t > 0)
            {
                iouSum += iou;
                diceSum += dice;
                counted++;
            }
        }

        values[1] = counted > 0 ? iouSum / counted : double.NaN;
        values[2] = counted > 0 ? diceSum / counted : double.NaN;
    }
}
