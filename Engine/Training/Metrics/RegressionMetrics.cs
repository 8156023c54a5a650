// Regression quality: mean absolute error, root mean squared error and the coefficient of determination R², over every
// target value, accumulated in double.
using System;
using System.Collections.Generic;

namespace Engine.Training;

/// <summary>
/// <c>mae</c> (mean |y - p|), <c>rmse</c> (sqrt of the mean (y - p)²) and <c>r2</c> (1 - sum (y - p)² / sum (y - mean y)²)
/// over every target value (all outputs pooled), for outputs and targets of the same shape.
/// </summary>
public sealed class RegressionMetrics : Metric
{
    private int length;

    /// <inheritdoc />
    public override IReadOnlyList<string> Names { get; } = ["mae", "rmse", "r2"];

    /// <inheritdoc />
    public override void Bind(Shape output, Shape target)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (target != output)
        {
            throw new ArgumentException($"mae, rmse and r2 need targets of the output's shape {output}; the target is {target}.", nameof(target));
        }

        length = RowLength(output);
    }

    /// <inheritdoc />
    public override int StateLength(int samples) => 5;

    /// <inheritdoc />
    public override void Update(Span<double> state, ReadOnlySpan<float> output, ReadOnlySpan<float> target, int rows)
    {
        int n = rows * length;
        double abs = 0, sq = 0, sy = 0, syy = 0;
        for (int i = 0; i < n; i++)
        {
            double y = target[i], e = y - output[i];
            abs += Math.Abs(e);
            sq += e * e;
            sy += y;
            syy += y * y;
        }

        state[0] += n;
        state[1] += abs;
        state[2] += sq;
        state[3] += sy;
        state[4] += syy;
    }

    /// <inheritdoc />
    public override void Compute(ReadOnlySpan<double> state, Span<double> values)
    {
        double n = state[0];
        if (n == 0)
        {
            values[0] = values[1] = values[2] = double.NaN;
            return;
        }

        double mean = state[3] / n;
        double total = state[4] - (n * mean * mean);
        values[0] = state[1] / n;
        values[1] = Math.Sqrt(state[2] / n);
        values[2] = total > 0 ? 1 - (state[2] / total) : double.NaN;
    }
}
