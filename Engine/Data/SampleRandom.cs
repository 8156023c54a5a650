// A small, fast, seedable random generator (SplitMix64) whose streams are fixed by (seed, epoch, index), so that
// shuffles and augmentations are reproducible whatever the thread, batch size or prefetch depth.
using System;

namespace Engine.Data;

/// <summary>
/// A SplitMix64 generator. <see cref="For"/> derives an independent stream from a seed, an epoch and an index, so
/// every sample's augmentation in every epoch is fixed by the loader's seed alone. The sequence is part of the
/// contract: it never changes between releases or platforms (unlike <see cref="Random"/>).
/// </summary>
public struct SampleRandom
{
    private ulong state;

    /// <summary>Creates a generator from a 64-bit state.</summary>
    public SampleRandom(ulong state)
    {
        this.state = state;
    }

    /// <summary>An independent stream for (<paramref name="seed"/>, <paramref name="epoch"/>, <paramref name="index"/>).</summary>
    public static SampleRandom For(long seed, long epoch, long index)
    {
        ulong s = Mix(unchecked((ulong)seed) ^ 0x5851F42D4C957F2DUL);
        s = Mix(s ^ unchecked((ulong)epoch * 0x9E3779B97F4A7C15UL));
        s = Mix(s ^ unchecked((ulong)index * 0xC2B2AE3D27D4EB4FUL));
        return new SampleRandom(s);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        state = unchecked(state + 0x9E3779B97F4A7C15UL);
        return Mix(state);
    }

    /// <summary>A uniform integer in [0, <paramref name="maxExclusive"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxExclusive"/> is not positive.</exception>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        return (int)(((NextUInt64() >> 32) * (ulong)maxExclusive) >> 32);
    }

    /// <summary>A uniform integer in [<paramref name="min"/>, <paramref name="max"/>] (both inclusive).</summary>
    public int NextInt(int min, int max)
    {
        if (max < min)
        {
            throw new ArgumentOutOfRangeException(nameof(max), $"max {max} is below min {min}.");
        }

        return min + NextInt(max - min + 1);
    }

    /// <summary>A uniform float in [0, 1).</summary>
    public float NextSingle() => (NextUInt64() >> 40) * (1f / (1 << 24));

    /// <summary>A standard normal value (Box-Muller on two 53-bit uniforms in (0, 1)).</summary>
    public double NextNormal()
    {
        double u1 = ((NextUInt64() >> 11) + 0.5) * (1.0 / (1UL << 53));
        double u2 = ((NextUInt64() >> 11) + 0.5) * (1.0 / (1UL << 53));
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Shuffles <paramref name="values"/> in place (Fisher-Yates).</summary>
    public void Shuffle(Span<int> values)
    {
        for (int i = values.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    /// <summary>
    /// Writes the order in which epoch <paramref name="epoch"/> visits the samples: 0..n-1 shuffled by
    /// (<paramref name="seed"/>, <paramref name="epoch"/>) when <paramref name="shuffle"/> is set, else in order.
    /// </summary>
    public static void EpochOrder(Span<int> order, long seed, int epoch, bool shuffle)
    {
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        if (shuffle)
        {
            var rng = For(seed, epoch, -1);
            rng.Shuffle(order);
        }
    }

    private static ulong Mix(ulong z)
    {
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }
}
