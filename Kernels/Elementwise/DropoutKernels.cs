// Inverted dropout with a counter-based mask: element i is kept when Philox(seed, offset, i / 4) word i % 4,
// top 24 bits, is below the keep threshold; host code evaluates the same function, so both paths agree bit for bit.
using Engine.Kernels.Rng;
using ILGPU;

namespace Engine.Kernels.Elementwise;

/// <summary>Arguments of the dropout kernels.</summary>
public struct DropoutParams
{
    /// <summary>Number of elements.</summary>
    public int Length;

    /// <summary>Philox key (the user's seed).</summary>
    public ulong Seed;

    /// <summary>Philox counter high half: distinguishes calls (step, layer) under one seed.</summary>
    public ulong Offset;

    /// <summary>Keep when (word &gt;&gt; 8) &lt; Threshold; Threshold = round((1 - p) * 2^24).</summary>
    public uint Threshold;

    /// <summary>Scale of kept values, 1 / (1 - p) (0 when p = 1).</summary>
    public float Scale;
}

/// <summary>Dropout kernels: thread b handles elements [4b, 4b + 4) with one Philox block.</summary>
public static class DropoutKernels
{
    /// <summary>Whether element <paramref name="index"/> is kept; the single definition of the mask for every path.</summary>
    public static bool Keep(Philox4 block, int index, uint threshold) => (block.Word(index & 3) >> 8) < threshold;

    /// <summary>y = keep ? x * scale : 0 over blocks of four. x, y: [Length] (may alias). Backward: x = dy, y = dx.</summary>
    public static void Apply(Index1D b, ArrayView<float> x, ArrayView<float> y, DropoutParams p)
    {
        var r = Philox.Block(p.Seed, p.Offset, (ulong)b.X);
        int i0 = b * 4;
        int end = i0 + 4 < p.Length ? i0 + 4 : p.Length;
        for (int i = i0; i < end; i++)
        {
            y[i] = Keep(r, i, p.Threshold) ? x[i] * p.Scale : 0f;
        }
    }

    /// <summary>mask = keep ? scale : 0 over blocks of four. mask: [Length].</summary>
    public static void Mask(Index1D b, ArrayView<float> mask, DropoutParams p)
    {
        var r = Philox.Block(p.Seed, p.Offset, (ulong)b.X);
        int i0 = b * 4;
        int end = i0 + 4 < p.Length ? i0 + 4 : p.Length;
        for (int i = i0; i < end; i++)
        {
            mask[i] = Keep(r, i, p.Threshold) ? p.Scale : 0f;
        }
    }
}
