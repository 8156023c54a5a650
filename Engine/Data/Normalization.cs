// Mean/std normalization: statistics computed once over a training set, applied to every sample (x - mean) / std.
using System;
using System.Globalization;

namespace Engine.Data;

/// <summary>
/// Per-channel (or whole-sample) mean and standard deviation; <see cref="Apply"/> maps x to (x - mean) / std.
/// With one value the same statistics apply to every element; with C values, channel c (dimension 0 of the
/// sample shape) uses mean[c] and std[c], as torchvision's <c>Normalize</c>.
/// </summary>
public sealed class Normalization
{
    private readonly float[] mean;
    private readonly float[] std;

    /// <summary>Creates a normalization from per-channel statistics.</summary>
    /// <exception cref="ArgumentException">The lists are empty or of different lengths, or a std is not positive and finite.</exception>
    public Normalization(float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length == 0 || mean.Length != std.Length)
        {
            throw new ArgumentException($"mean has {mean.Length} values and std {std.Length}; give one value per channel (at least one).", nameof(std));
        }

        for (int i = 0; i < std.Length; i++)
        {
            if (!(std[i] > 0f) || !float.IsFinite(std[i]) || !float.IsFinite(mean[i]))
            {
                throw new ArgumentException($"std[{i}] is {std[i]} and mean[{i}] is {mean[i]}; std must be positive and both finite.", nameof(std));
            }
        }

        this.mean = (float[])mean.Clone();
        this.std = (float[])std.Clone();
    }

    /// <summary>Creates a normalization with one mean and std for every element.</summary>
    public Normalization(float mean, float std)
        : this([mean], [std])
    {
    }

    /// <summary>The per-channel means.</summary>
    public ReadOnlySpan<float> Mean => mean;

    /// <summary>The per-channel standard deviations.</summary>
    public ReadOnlySpan<float> Std => std;

    /// <summary>
    /// Computes the mean and the population standard deviation of every feature of <paramref name="dataset"/>
    /// (in double), over all elements or, with <paramref name="perChannel"/>, per channel (dimension 0).
    /// </summary>
    public static Normalization Compute(IDataset dataset, bool perChannel = false)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var shape = dataset.SampleShape;
        int channels = perChannel && shape.Rank >= 2 ? shape[0] : 1;
        int n = checked((int)shape.Length);
        int perCh = n / channels;
        var sum = new double[channels];
        var sumSq = new double[channels];
        var buf = new float[n];
        for (int i = 0; i < dataset.Count; i++)
        {
            dataset.Read(i, buf);
            for (int c = 0; c < channels; c++)
            {
                double s = 0, q = 0;
                foreach (float v in buf.AsSpan(c * perCh, perCh))
                {
                    s += v;
                    q += (double)v * v;
                }

                sum[c] += s;
                sumSq[c] += q;
            }
        }

        var m = new float[channels];
        var sd = new float[channels];
        double count = (double)dataset.Count * perCh;
        for (int c = 0; c < channels; c++)
        {
            double mu = sum[c] / count;
            double var = Math.Max(0, (sumSq[c] / count) - (mu * mu));
            m[c] = (float)mu;
            sd[c] = var > 0 ? (float)Math.Sqrt(var) : 1f;
        }

        return new Normalization(m, sd);
    }

    /// <summary>Normalizes one sample of shape <paramref name="sampleShape"/> in place.</summary>
    /// <exception cref="ArgumentException">The statistics have a channel count that the shape does not.</exception>
    public void Apply(Span<float> sample, Shape sampleShape)
    {
        int channels = Channels(mean.Length, sampleShape);
        int perCh = sample.Length / channels;
        for (int c = 0; c < channels; c++)
        {
            float mu = mean[c];
            float inv = 1f / std[c];
            var span = sample.Slice(c * perCh, perCh);
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = (span[i] - mu) * inv;
            }
        }
    }

    /// <summary>Checks that per-channel statistics (<paramref name="channels"/> values; 1: every element) fit samples of <paramref name="sampleShape"/>.</summary>
    /// <exception cref="ArgumentException">There are several channels and dimension 0 of the shape is not their count.</exception>
    internal static int Channels(int channels, Shape sampleShape)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (channels > 1 && (sampleShape.Rank < 2 || sampleShape[0] != channels))
        {
            throw new ArgumentException($"The statistics have {channels} channels but samples have shape {sampleShape} (channels are dimension 0).", nameof(sampleShape));
        }

        return channels;
    }

    /// <inheritdoc />
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"mean [{string.Join(", ", mean)}], std [{string.Join(", ", std)}]");
}
