// Arguments of the per-channel reduction kernels shared by batch norm, layer norm and bias gradients.
namespace Engine.Kernels.Norm;

/// <summary>
/// Describes a tensor seen as (N, C, S), row-major, reduced per channel c over its N * S elements, in partial blocks.
/// Strided kernels: one group per (channel, block), block b covering elements [b * Chunk, (b + 1) * Chunk) of the
/// channel's N * S (element j is (n = j / S, s = j % S)). Column kernels: the tensor is an N x (C * S) matrix, one
/// group per (32 columns, block), block b covering rows [b * Chunk, (b + 1) * Chunk).
/// </summary>
public struct ReduceParams
{
    /// <summary>Outer size (batch, or rows).</summary>
    public int N;

    /// <summary>Channels reduced independently.</summary>
    public int C;

    /// <summary>Inner size (spatial elements per (n, c)).</summary>
    public int S;

    /// <summary>Partial blocks per channel (strided) or per column (column kernels).</summary>
    public int Blocks;

    /// <summary>Channel elements (strided) or rows (column kernels) per block.</summary>
    public int Chunk;

    /// <summary>Sums kernels: 1 when mean / inverse std are per row n (layer norm), 0 when per channel.</summary>
    public int PerRowStats;

    /// <summary>Sums kernels: 1 to also sum dy * xhat (needs x, mean, inverse std); 0 sums dy only.</summary>
    public int HasX;
}

/// <summary>
/// Arguments of the finalize kernels: one group per channel combines that channel's <see cref="Entries"/> partials
/// (stored contiguously at channel * Entries) and writes the per-channel results.
/// </summary>
public struct FinalizeParams
{
    /// <summary>Partial entries per channel.</summary>
    public int Entries;

    /// <summary>Elements reduced per channel (N * S), for the unbiased variance.</summary>
    public int Count;

    /// <summary>Added to the variance before the inverse square root.</summary>
    public float Eps;

    /// <summary>Running-statistics momentum: running = (1 - momentum) * running + momentum * batch.</summary>
    public float Momentum;

    /// <summary>Stats: 1 to update running mean and running (unbiased) variance.</summary>
    public int HasRunning;

    /// <summary>Sums: 1 to write (sum dy, sum dy * xhat) per channel to the sums buffer.</summary>
    public int HasSums;

    /// <summary>Sums: 1 to write dgamma = sum dy * xhat.</summary>
    public int HasDGamma;

    /// <summary>Sums: 1 to write dbeta = sum dy.</summary>
    public int HasDBeta;

    /// <summary>Sums: 1 to add to dgamma / dbeta instead of overwriting them.</summary>
    public int Accumulate;
}
