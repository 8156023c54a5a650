// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a counter-based RNG
// that is one pure function, so kernels and host code produce the same bits for the same (key, counter).
namespace Engine.Kernels.Rng;

/// <summary>Four 32-bit random words: one Philox4x32 output block.</summary>
public struct Philox4
{
    /// <summary>Word 0.</summary>
    public uint X0;

    /// <summary>Word 1.</summary>
    public uint X1;

    /// <summary>Word 2.</summary>
    public uint X2;

    /// <summary>Word 3.</summary>
    public uint X3;

    /// <summary>Word <paramref name="k"/> (0..3).</summary>
    public readonly uint Word(int k) => k == 0 ? X0 : k == 1 ? X1 : k == 2 ? X2 : X3;
}

/// <summary>
/// Philox4x32 with 10 rounds, the variant of Random123, cuRAND and PyTorch's CUDA generator. Callable from
/// kernels and from host code; the result depends only on the arguments.
/// </summary>
public static class Philox
{
    private const uint M0 = 0xD2511F53u;
    private const uint M1 = 0xCD9E8D57u;
    private const uint W0 = 0x9E3779B9u;
    private const uint W1 = 0xBB67AE85u;

    /// <summary>The output block for counter (c0, c1, c2, c3) under key (k0, k1).</summary>
    public static Philox4 Generate(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        var s = new Philox4 { X0 = c0, X1 = c1, X2 = c2, X3 = c3 };
        s = Round(s, k0, k1);
        for (int r = 1; r < 10; r++)
        {
            k0 = unchecked(k0 + W0);
            k1 = unchecked(k1 + W1);
            s = Round(s, k0, k1);
        }

        return s;
    }

    /// <summary>
    /// The block for element block <paramref name="block"/> of stream <paramref name="offset"/> under
    /// <paramref name="seed"/>: counter (block, offset) and key seed, each split into 32-bit halves.
    /// </summary>
    public static Philox4 Block(ulong seed, ulong offset, ulong block) =>
        Generate((uint)block, (uint)(block >> 32), (uint)offset, (uint)(offset >> 32), (uint)seed, (uint)(seed >> 32));

    /// <summary>A uniform float in [0, 1) from the top 24 bits of <paramref name="word"/> (exactly representable).</summary>
    public static float ToUniform(uint word) => (word >> 8) * (1f / 16777216f);

    private static Philox4 Round(Philox4 s, uint k0, uint k1)
    {
        ulong p0 = (ulong)M0 * s.X0;
        ulong p1 = (ulong)M1 * s.X2;
        uint hi0 = (uint)(p0 >> 32), lo0 = (uint)p0;
        uint hi1 = (uint)(p1 >> 32), lo1 = (uint)p1;
        return new Philox4 { X0 = hi1 ^ s.X1 ^ k0, X1 = lo1, X2 = hi0 ^ s.X3 ^ k1, X3 = lo0 };
    }
}
