// Feature scalings beside z-score normalization (Normalization.cs): min-max to a range with statistics computed over
// a training set, and the fixed log and arctan squashings for heavy-tailed features.
using System;
using System.Globalization;

namespace Engine.Data;

/// <summary>
/// Min-max scaling, as scikit-learn's <c>MinMaxScaler</c>: x' = low + (x - min) (high - low) / (max - min), with min and
/// max per channel (dimension 0 of the sample shape) or over the whole sample. A channel whose max equals its min maps to
/// <c>low</c> (scikit-learn's scale of 1 for constant features). Values outside the training range land outside [low, high] (no clipping).
/// </summary>
public sealed class MinMaxScale : ISampleTransform
{
    private readonly float[] min;
    private readonly float[] max;

    /// <summary>Scaling with the given per-channel minima and maxima (one value each: every element) to [low, high].</summary>
    /// <exception cref="ArgumentException">Lists empty or of different lengths, a value not finite, a max below its min, or high not above low.</exception>
    public MinMaxScale(float[] min, float[] max, float low = 0f, float high = 1f)
    {
        ArgumentNullException.ThrowIfNull(min);
        ArgumentNullException.ThrowIfNull(max);
        if (min.Length == 0 || min.Length != max.Length)
        {
            throw new ArgumentException($"min has {min.Length} values and max {max.Length}; give one value per channel (at least one).", nameof(max));
        }

        for (int i = 0; i < min.Length; i++)
        {
            if (!float.IsFinite(min[i]) || !float.IsFinite(max[i]) || max[i] < min[i])
            {
                throw new ArgumentException($"min[{i}] is {min[i]} and max[{i}] {max[i]}; both must be finite with min <= max.", nameof(max));
            }
        }

        if (!float.IsFinite(low) || !float.IsFinite(high) || !(high > low))
        {
            throw new ArgumentException($"the target range [{low}, {high}] must be finite with high > low.", nameof(high));
        }

        this.min = (float[])min.Clone();
        this.max = (float[])max.Clone();
        Low = low;
        High = high;
    }

    /// <summary>Lower end of the target range.</summary>
    public float Low { get; }

    /// <summary>Upper end of the target range.</summary>
    public float High { get; }

    /// <summary>The per-channel minima.</summary>
    public ReadOnlySpan<float> Min => min;

    /// <summary>The per-channel maxima.</summary>
    public ReadOnlySpan<float> Max => max;

    /// <summary>The minimum and maximum of every feature of <paramref name="dataset"/>, over all elements or per channel (dimension 0).</summary>
    /// <exception cref="ArgumentException">The dataset is empty or holds a value that is not finite.</exception>
    public static MinMaxScale Compute(IDataset dataset, bool perChannel = false, float low = 0f, float high = 1f)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (dataset.Count == 0)
        {
            throw new ArgumentException("min-max statistics need at least one sample.", nameof(dataset));
        }

        var shape = dataset.SampleShape;
        int channels = perChannel && shape.Rank >= 2 ? shape[0] : 1;
        int perCh = checked((int)shape.Length) / channels;
        var lo = new float[channels];
        var hi = new float[channels];
        lo.AsSpan().Fill(float.PositiveInfinity);
        hi.AsSpan().Fill(float.NegativeInfinity);
        var buf = new float[shape.Length];
        for (int i = 0; i < dataset.Count; i++)
        {
            dataset.Read(i, buf);
            for (int c = 0; c < channels; c++)
            {
                foreach (float v in buf.AsSpan(c * perCh, perCh))
                {
                    if (!float.IsFinite(v))
                    {
                        throw new ArgumentException($"sample {i} holds {v}; min-max statistics need finite features.", nameof(dataset));
                    }

                    lo[c] = Math.Min(lo[c], v);
                    hi[c] = Math.Max(hi[c], v);
                }
            }
        }

        return new MinMaxScale(lo, hi, low, high);
    }

    /// <inheritdoc />
    public void Apply(Span<float> sample, Shape shape, ref SampleRandom random)
    {
        int channels = Normalization.Channels(min.Length, shape);
        int perCh = sample.Length / channels;
        for (int c = 0; c < channels; c++)
        {
            float range = max[c] - min[c];
            float scale = (High - Low) / (range > 0f ? range : 1f);
            float offset = min[c];
            var span = sample.Slice(c * perCh, perCh);
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = Low + ((span[i] - offset) * scale);
            }
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"min-max to [{Low}, {High}]: min [{string.Join(", ", min)}], max [{string.Join(", ", max)}]");
}

/// <summary>
/// Log scaling for non-negative, heavy-tailed features (counts, intensities): x' = ln(x + offset) (default offset 1,
/// <c>log1p</c>). Values at or below -offset give -infinity or NaN, as the logarithm does.
/// </summary>
public sealed class LogScale : ISampleTransform
{
    /// <summary>Creates the scaling.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="offset"/> is not finite.</exception>
    public LogScale(float offset = 1f) =>
        Offset = float.IsFinite(offset) ? offset : throw new ArgumentOutOfRangeException(nameof(offset), offset, "the log offset must be finite.");

    /// <summary>Added before the logarithm.</summary>
    public float Offset { get; }

    /// <inheritdoc />
    public void Apply(Span<float> sample, Shape shape, ref SampleRandom random)
    {
        for (int i = 0; i < sample.Length; i++)
        {
            sample[i] = MathF.Log(sample[i] + Offset);
        }
    }
}

/// <summary>
/// Arctan scaling: x' = (2 / pi) atan(x / scale), which squashes any real feature into (-1, 1) smoothly, about linear
/// (x' ~ 2x / (pi scale)) near zero.
/// </summary>
public sealed class ArctanScale : ISampleTransform
{
    /// <summary>Creates the scaling.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="scale"/> is not positive and finite.</exception>
    public ArctanScale(float scale = 1f) =>
        Scale = scale > 0f && float.IsFinite(scale) ? scale : throw new ArgumentOutOfRangeException(nameof(scale), scale, "the arctan scale must be positive and finite.");

    /// <summary>The feature value that maps to 0.5.</summary>
    public float Scale { get; }

    /// <inheritdoc />
    public void Apply(Span<float> sample, Shape shape, ref SampleRandom random)
    {
        float inv = 1f / Scale;
        for (int i = 0; i < sample.Length; i++)
        {
            sample[i] = (2f / MathF.PI) * MathF.Atan(sample[i] * inv);
        }
    }
}
