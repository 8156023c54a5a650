// Per-channel reductions in two stages (partial blocks, then one group per channel), correct for any size:
// Welford/Chan statistics for normalization, and sums of dy and dy * xhat for the backward passes.
using ILGPU;
using ILGPU.Algorithms;

namespace Engine.Kernels.Norm;

/// <summary>
/// Partial-block and finalize kernels over a tensor seen as (N, C, S); see <see cref="ReduceParams"/>. Stats
/// partials are (count, mean, M2) triples, sums partials (sum dy, sum dy * xhat) pairs, both at
/// partials[(entry) * width] with entry = c * Blocks + b (strided) or k * Blocks + b for column k = c * S + s
/// (column kernels); either way channel c owns the contiguous entries [c * E, (c + 1) * E).
/// </summary>
public static class ChannelReduceKernels
{
    /// <summary>Largest group size the kernels are launched with (shared arrays are this long).</summary>
    public const int MaxGroup = 256;

    /// <summary>Columns per group of the column kernels (one warp wide).</summary>
    public const int ColumnWidth = 32;

    /// <summary>
    /// Welford statistics of x (N, C, S) per (channel, block). Grid (C, Blocks), group g (power of two, at most
    /// 256). partials: [C * Blocks * 3].
    /// </summary>
    public static void StatsStrided(ArrayView<float> x, ArrayView<float> partials, ReduceParams p)
    {
        var sn = SharedMemory.Allocate<float>(MaxGroup);
        var sm = SharedMemory.Allocate<float>(MaxGroup);
        var sq = SharedMemory.Allocate<float>(MaxGroup);
        int t = Group.IdxX;
        int g = Group.DimX;
        int c = Grid.IdxX;
        int b = Grid.IdxY;
        int s = p.S;
        int cs = p.C * s;
        int total = p.N * s;
        int start = b * p.Chunk;
        int end = start + p.Chunk < total ? start + p.Chunk : total;
        int cBase = c * s;
        float n = 0f, mean = 0f, m2 = 0f;
        for (int j = start + t; j < end; j += g)
        {
            int row = j / s;
            float v = x[(row * cs) + cBase + (j - (row * s))];
            n += 1f;
            float d = v - mean;
            mean += d / n;
            m2 += d * (v - mean);
        }

        sn[t] = n;
        sm[t] = mean;
        sq[t] = m2;
        Group.Barrier();
        ChanTree(sn, sm, sq, t, g, 1, 0);
        if (t == 0)
        {
            int e = ((c * p.Blocks) + b) * 3;
            partials[e] = sn[0];
            partials[e + 1] = sm[0];
            partials[e + 2] = sq[0];
        }
    }

    /// <summary>
    /// Welford statistics per (column, block) of x seen as an N x (C * S) matrix. Grid (ceil(C * S / 32), Blocks),
    /// group 32 x r threads (32 columns, r = group / 32 rows, a power of two). partials: [C * S * Blocks * 3].
    /// </summary>
    public static void StatsColumns(ArrayView<float> x, ArrayView<float> partials, ReduceParams p)
    {
        var sn = SharedMemory.Allocate<float>(MaxGroup);
        var sm = SharedMemory.Allocate<float>(MaxGroup);
        var sq = SharedMemory.Allocate<float>(MaxGroup);
        int t = Group.IdxX;
        int tx = t % ColumnWidth;
        int ty = t / ColumnWidth;
        int rows = Group.DimX / ColumnWidth;
        int width = p.C * p.S;
        int k = (Grid.IdxX * ColumnWidth) + tx;
        int b = Grid.IdxY;
        int start = b * p.Chunk;
        int end = start + p.Chunk < p.N ? start + p.Chunk : p.N;
        float n = 0f, mean = 0f, m2 = 0f;
        if (k < width)
        {
            for (int row = start + ty; row < end; row += rows)
            {
                float v = x[(row * width) + k];
                n += 1f;
                float d = v - mean;
                mean += d / n;
                m2 += d * (v - mean);
            }
        }

        sn[t] = n;
        sm[t] = mean;
        sq[t] = m2;
        Group.Barrier();
        ChanTree(sn, sm, sq, ty, rows, ColumnWidth, tx);
        if (ty == 0 && k < width)
        {
            int e = ((k * p.Blocks) + b) * 3;
            partials[e] = sn[tx];
            partials[e + 1] = sm[tx];
            partials[e + 2] = sq[tx];
        }
    }

    /// <summary>
    /// Sums of dy and dy * (x - mean[c]) * invStd[c] per (channel, block) of (N, C, S) tensors. Grid (C, Blocks),
    /// group g. partials: [C * Blocks * 2]. x, mean, invStd are read only when <see cref="ReduceParams.HasX"/>.
    /// </summary>
    public static void SumsStrided(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> mean, ArrayView<float> invStd, ArrayView<float> partials, ReduceParams p)
    {
        var s0 = SharedMemory.Allocate<float>(MaxGroup);
        var s1 = SharedMemory.Allocate<float>(MaxGroup);
        int t = Group.IdxX;
        int g = Group.DimX;
        int c = Grid.IdxX;
        int b = Grid.IdxY;
        int s = p.S;
        int cs = p.C * s;
        int total = p.N * s;
        int start = b * p.Chunk;
        int end = start + p.Chunk < total ? start + p.Chunk : total;
        int cBase = c * s;
        bool hasX = p.HasX != 0;
        float mu = hasX ? mean[c] : 0f;
        float rs = hasX ? invStd[c] : 0f;
        float a0 = 0f, a1 = 0f;
        for (int j = start + t; j < end; j += g)
        {
            int row = j / s;
            int idx = (row * cs) + cBase + (j - (row * s));
            float v = dy[idx];
            a0 += v;
            if (hasX)
            {
                a1 += v * ((x[idx] - mu) * rs);
            }
        }

        s0[t] = a0;
        s1[t] = a1;
        Group.Barrier();
        SumTree(s0, s1, t, g, 1, 0);
        if (t == 0)
        {
            int e = ((c * p.Blocks) + b) * 2;
            partials[e] = s0[0];
            partials[e + 1] = s1[0];
        }
    }

    /// <summary>
    /// Sums of dy and dy * xhat per (column, block) of N x (C * S) matrices; xhat uses mean / invStd of the column's
    /// channel, or of the row when <see cref="ReduceParams.PerRowStats"/> (layer norm). Grid (ceil(C * S / 32),
    /// Blocks), group 32 x r. partials: [C * S * Blocks * 2].
    /// </summary>
    public static void SumsColumns(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> mean, ArrayView<float> invStd, ArrayView<float> partials, ReduceParams p)
    {
        var s0 = SharedMemory.Allocate<float>(MaxGroup);
        var s1 = SharedMemory.Allocate<float>(MaxGroup);
        int t = Group.IdxX;
        int tx = t % ColumnWidth;
        int ty = t / ColumnWidth;
        int rows = Group.DimX / ColumnWidth;
        int width = p.C * p.S;
        int k = (Grid.IdxX * ColumnWidth) + tx;
        int b = Grid.IdxY;
        int start = b * p.Chunk;
        int end = start + p.Chunk < p.N ? start + p.Chunk : p.N;
        bool hasX = p.HasX != 0;
        bool perRow = p.PerRowStats != 0;
        float a0 = 0f, a1 = 0f;
        if (k < width)
        {
            int c = k / p.S;
            float mu = hasX && !perRow ? mean[c] : 0f;
            float rs = hasX && !perRow ? invStd[c] : 0f;
            for (int row = start + ty; row < end; row += rows)
            {
                int idx = (row * width) + k;
                float v = dy[idx];
                a0 += v;
                if (hasX)
                {
                    if (perRow)
                    {
                        mu = mean[row];
                        rs = invStd[row];
                    }

                    a1 += v * ((x[idx] - mu) * rs);
                }
            }
        }

        s0[t] = a0;
        s1[t] = a1;
        Group.Barrier();
        SumTree(s0, s1, ty, rows, ColumnWidth, tx);
        if (ty == 0 && k < width)
        {
            int e = ((k * p.Blocks) + b) * 2;
            partials[e] = s0[tx];
            partials[e + 1] = s1[tx];
        }
    }

    /// <summary>
    /// Combines each channel's stats partials (grid C, group g): saveMean[c], saveInvStd[c] = 1 / sqrt(var + eps)
    /// with the biased variance, and when <see cref="FinalizeParams.HasRunning"/> updates running mean and running
    /// variance (unbiased: M2 / (Count - 1)) with the momentum.
    /// </summary>
    public static void StatsFinalize(ArrayView<float> partials, ArrayView<float> saveMean, ArrayView<float> saveInvStd, ArrayView<float> runningMean, ArrayView<float> runningVar, FinalizeParams p)
    {
        var sn = SharedMemory.Allocate<float>(MaxGroup);
        var sm = SharedMemory.Allocate<float>(MaxGroup);
        var sq = SharedMemory.Allocate<float>(MaxGroup);
        int t = Group.IdxX;
        int g = Group.DimX;
        int c = Grid.IdxX;
        int entries = p.Entries;
        int baseE = c * entries;
        float n = 0f, mean = 0f, m2 = 0f;
        for (int e = t; e < entries; e += g)
        {
            int q = (baseE + e) * 3;
            float nb = partials[q];
            if (nb > 0f)
            {
                float nt = n + nb;
                float d = partials[q + 1] - mean;
                float f = nb / nt;
                mean += d * f;
                m2 += partials[q + 2] + (d * d * n * f);
                n = nt;
            }
        }

        sn[t] = n;
        sm[t] = mean;
        sq[t] = m2;
        Group.Barrier();
        ChanTree(sn, sm, sq, t, g, 1, 0);
        if (t == 0)
        {
            WriteStats(c, sm[0], sq[0], saveMean, saveInvStd, runningMean, runningVar, p);
        }
    }

    /// <summary>
    /// Thread c combines channel c's stats partials serially (for few entries per channel) and writes what
    /// <see cref="StatsFinalize"/> writes.
    /// </summary>
    public static void StatsFinalizeSerial(Index1D c, ArrayView<float> partials, ArrayView<float> saveMean, ArrayView<float> saveInvStd, ArrayView<float> runningMean, ArrayView<float> runningVar, FinalizeParams p)
    {
        int entries = p.Entries;
        int baseE = c * entries;
        float n = 0f, mean = 0f, m2 = 0f;
        for (int e = 0; e < entries; e++)
        {
            int q = (baseE + e) * 3;
            float nb = partials[q];
            if (nb > 0f)
            {
                float nt = n + nb;
                float d = partials[q + 1] - mean;
                float f = nb / nt;
                mean += d * f;
                m2 += partials[q + 2] + (d * d * n * f);
                n = nt;
            }
        }

        WriteStats(c, mean, m2, saveMean, saveInvStd, runningMean, runningVar, p);
    }

    private static void WriteStats(int c, float mu, float m2, ArrayView<float> saveMean, ArrayView<float> saveInvStd, ArrayView<float> runningMean, ArrayView<float> runningVar, FinalizeParams p)
    {
        float count = p.Count;
        saveMean[c] = mu;
        saveInvStd[c] = 1f / XMath.Sqrt((m2 / count) + p.Eps);
        if (p.HasRunning != 0)
        {
            float mom = p.Momentum;
            runningMean[c] = ((1f - mom) * runningMean[c]) + (mom * mu);
            runningVar[c] = ((1f - mom) * runningVar[c]) + (mom * (m2 / (count - 1f)));
        }
    }

    /// <summary>
    /// Combines each channel's sums partials (grid C, group g) into sums[c * 2] = sum dy, sums[c * 2 + 1] =
    /// sum dy * xhat, dbeta[c] = sum dy and dgamma[c] = sum dy * xhat, each when its flag is set (added when
    /// <see cref="FinalizeParams.Accumulate"/>).
    /// </summary>
    public static void SumsFinalize(ArrayView<float> partials, ArrayView<float> sums, ArrayView<float> dgamma, ArrayView<float> dbeta, FinalizeParams p)
    {
        var s0 = SharedMemory.Allocate<float>(MaxGroup);
        var s1 = SharedMemory.Allocate<float>(MaxGroup);
        int t = Group.IdxX;
        int g = Group.DimX;
        int c = Grid.IdxX;
        int entries = p.Entries;
        int baseE = c * entries;
        float a0 = 0f, a1 = 0f;
        for (int e = t; e < entries; e += g)
        {
            int q = (baseE + e) * 2;
            a0 += partials[q];
            a1 += partials[q + 1];
        }

        s0[t] = a0;
        s1[t] = a1;
        Group.Barrier();
        SumTree(s0, s1, t, g, 1, 0);
        if (t == 0)
        {
            WriteSums(c, s0[0], s1[0], sums, dgamma, dbeta, p);
        }
    }

    /// <summary>Thread c sums channel c's partials serially (for few entries) and writes what <see cref="SumsFinalize"/> writes.</summary>
    public static void SumsFinalizeSerial(Index1D c, ArrayView<float> partials, ArrayView<float> sums, ArrayView<float> dgamma, ArrayView<float> dbeta, FinalizeParams p)
    {
        int entries = p.Entries;
        int baseE = c * entries;
        float a0 = 0f, a1 = 0f;
        for (int e = 0; e < entries; e++)
        {
            int q = (baseE + e) * 2;
            a0 += partials[q];
            a1 += partials[q + 1];
        }

        WriteSums(c, a0, a1, sums, dgamma, dbeta, p);
    }

    private static void WriteSums(int c, float sumDy, float sumDyXhat, ArrayView<float> sums, ArrayView<float> dgamma, ArrayView<float> dbeta, FinalizeParams p)
    {
        bool acc = p.Accumulate != 0;
        if (p.HasSums != 0)
        {
            sums[c * 2] = sumDy;
            sums[(c * 2) + 1] = sumDyXhat;
        }

        if (p.HasDBeta != 0)
        {
            dbeta[c] = acc ? dbeta[c] + sumDy : sumDy;
        }

        if (p.HasDGamma != 0)
        {
            dgamma[c] = acc ? dgamma[c] + sumDyXhat : sumDyXhat;
        }
    }

    /// <summary>
    /// Tree-combines Welford triples at base + lane * stride for lane in [0, count) (count a power of two) into lane 0
    /// with Chan's formula. Every thread of the group must call it after a barrier; it ends with a barrier.
    /// </summary>
    public static void ChanTree(ArrayView<float> sn, ArrayView<float> sm, ArrayView<float> sq, int lane, int count, int stride, int offset)
    {
        for (int half = count / 2; half > 0; half /= 2)
        {
            if (lane < half)
            {
                int a = offset + (lane * stride);
                int o = offset + ((lane + half) * stride);
                float na = sn[a];
                float nb = sn[o];
                if (nb > 0f)
                {
                    float nt = na + nb;
                    float d = sm[o] - sm[a];
                    float f = nb / nt;
                    sm[a] += d * f;
                    sq[a] += sq[o] + (d * d * na * f);
                    sn[a] = nt;
                }
            }

            Group.Barrier();
        }
    }

    /// <summary>Tree-sums two arrays at base + lane * stride into lane 0, like <see cref="ChanTree"/>.</summary>
    public static void SumTree(ArrayView<float> s0, ArrayView<float> s1, int lane, int count, int stride, int offset)
    {
        for (int half = count / 2; half > 0; half /= 2)
        {
            if (lane < half)
            {
                int a = offset + (lane * stride);
                int o = offset + ((lane + half) * stride);
                s0[a] += s0[o];
                s1[a] += s1[o];
            }

            Group.Barrier();
        }
    }
}
