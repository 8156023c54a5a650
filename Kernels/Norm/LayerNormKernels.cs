// Layer-norm kernels: one group per row normalizes the trailing D elements (forward) and computes dx (backward).
using ILGPU;
using ILGPU.Algorithms;

namespace Engine.Kernels.Norm;

/// <summary>Shape and flags of the layer-norm kernels over x seen as (Rows, D).</summary>
public struct LayerNormParams
{
    /// <summary>Rows (product of the leading dimensions).</summary>
    public int Rows;

    /// <summary>Normalized elements per row (product of normalized_shape).</summary>
    public int D;

    /// <summary>Added to the variance.</summary>
    public float Eps;

    /// <summary>1 when gamma [D] is given.</summary>
    public int HasGamma;

    /// <summary>1 when beta [D] is given.</summary>
    public int HasBeta;
}

/// <summary>Row kernels of layer norm: grid Rows groups of g threads (power of two, at most 256).</summary>
public static class LayerNormKernels
{
    /// <summary>
    /// Group r: Welford mean and biased variance of x[r, :], mean[r], rstd[r] = 1 / sqrt(var + eps), and
    /// y[r, d] = (x - mean) * rstd * gamma[d] + beta[d]. x, y: [Rows * D]; mean, rstd: [Rows]; gamma, beta: [D].
    /// </summary>
    public static void Forward(ArrayView<float> x, ArrayView<float> y, ArrayView<float> gamma, ArrayView<float> beta, ArrayView<float> mean, ArrayView<float> rstd, LayerNormParams p)
    {
        var sn = SharedMemory.Allocate<float>(ChannelReduceKernels.MaxGroup);
        var sm = SharedMemory.Allocate<float>(ChannelReduceKernels.MaxGroup);
        var sq = SharedMemory.Allocate<float>(ChannelReduceKernels.MaxGroup);
        int t = Group.IdxX;
        int g = Group.DimX;
        int r = Grid.IdxX;
        int d = p.D;
        int rowBase = r * d;
        float n = 0f, mu = 0f, m2 = 0f;
        for (int j = t; j < d; j += g)
        {
            float v = x[rowBase + j];
            n += 1f;
            float diff = v - mu;
            mu += diff / n;
            m2 += diff * (v - mu);
        }

        sn[t] = n;
        sm[t] = mu;
        sq[t] = m2;
        Group.Barrier();
        ChannelReduceKernels.ChanTree(sn, sm, sq, t, g, 1, 0);
        float rowMean = sm[0];
        float rs = 1f / XMath.Sqrt((sq[0] / d) + p.Eps);
        if (t == 0)
        {
            mean[r] = rowMean;
            rstd[r] = rs;
        }

        bool hasGamma = p.HasGamma != 0;
        bool hasBeta = p.HasBeta != 0;
        for (int j = t; j < d; j += g)
        {
            float v = (x[rowBase + j] - rowMean) * rs;
            if (hasGamma)
            {
                v *= gamma[j];
            }

            if (hasBeta)
            {
                v += beta[j];
            }

            y[rowBase + j] = v;
        }
    }

    /// <summary>
    /// Group r: with gdy = dy * gamma and xhat = (x - mean[r]) * rstd[r],
    /// dx = rstd * (gdy - mean_d(gdy) - xhat * mean_d(gdy * xhat)). dgamma / dbeta are column sums
    /// (<see cref="ChannelReduceKernels.SumsColumns"/> with per-row statistics).
    /// </summary>
    public static void BackwardDx(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dx, ArrayView<float> gamma, ArrayView<float> mean, ArrayView<float> rstd, LayerNormParams p)
    {
        var s0 = SharedMemory.Allocate<float>(ChannelReduceKernels.MaxGroup);
        var s1 = SharedMemory.Allocate<float>(ChannelReduceKernels.MaxGroup);
        int t = Group.IdxX;
        int g = Group.DimX;
        int r = Grid.IdxX;
        int d = p.D;
        int rowBase = r * d;
        float mu = mean[r];
        float rs = rstd[r];
        bool hasGamma = p.HasGamma != 0;
        float a0 = 0f, a1 = 0f;
        for (int j = t; j < d; j += g)
        {
            float gd = hasGamma ? dy[rowBase + j] * gamma[j] : dy[rowBase + j];
            a0 += gd;
            a1 += gd * ((x[rowBase + j] - mu) * rs);
        }

        s0[t] = a0;
        s1[t] = a1;
        Group.Barrier();
        ChannelReduceKernels.SumTree(s0, s1, t, g, 1, 0);
        float inv = 1f / d;
        float meanG = s0[0] * inv;
        float meanGx = s1[0] * inv;
        for (int j = t; j < d; j += g)
        {
            float gd = hasGamma ? dy[rowBase + j] * gamma[j] : dy[rowBase + j];
            float xhat = (x[rowBase + j] - mu) * rs;
            dx[rowBase + j] = rs * (gd - meanG - (xhat * meanGx));
        }
    }

    /// <summary>
    /// Thread r: the forward of one short row (D at most a warp), two-pass mean and variance in registers. Same
    /// buffers as <see cref="Forward"/>; launch over Rows threads.
    /// </summary>
    public static void ForwardSmall(Index1D r, ArrayView<float> x, ArrayView<float> y, ArrayView<float> gamma, ArrayView<float> beta, ArrayView<float> mean, ArrayView<float> rstd, LayerNormParams p)
    {
        int d = p.D;
        int rowBase = r * d;
        float sum = 0f;
        for (int j = 0; j < d; j++)
        {
            sum += x[rowBase + j];
        }

        float mu = sum / d;
        float sq = 0f;
        for (int j = 0; j < d; j++)
        {
            float diff = x[rowBase + j] - mu;
            sq += diff * diff;
        }

        float rs = 1f / XMath.Sqrt((sq / d) + p.Eps);
        mean[r] = mu;
        rstd[r] = rs;
        bool hasGamma = p.HasGamma != 0;
        bool hasBeta = p.HasBeta != 0;
        for (int j = 0; j < d; j++)
        {
            float v = (x[rowBase + j] - mu) * rs;
            if (hasGamma)
            {
                v *= gamma[j];
            }

            if (hasBeta)
            {
                v += beta[j];
            }

            y[rowBase + j] = v;
        }
    }

    /// <summary>Thread r: dx of one short row, as <see cref="BackwardDx"/>; launch over Rows threads.</summary>
    public static void BackwardDxSmall(Index1D r, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dx, ArrayView<float> gamma, ArrayView<float> mean, ArrayView<float> rstd, LayerNormParams p)
    {
        int d = p.D;
        int rowBase = r * d;
        float mu = mean[r];
        float rs = rstd[r];
        bool hasGamma = p.HasGamma != 0;
        float a0 = 0f, a1 = 0f;
        for (int j = 0; j < d; j++)
        {
            float gd = hasGamma ? dy[rowBase + j] * gamma[j] : dy[rowBase + j];
            a0 += gd;
            a1 += gd * ((x[rowBase + j] - mu) * rs);
        }

        float meanG = a0 / d;
        float meanGx = a1 / d;
        for (int j = 0; j < d; j++)
        {
            float gd = hasGamma ? dy[rowBase + j] * gamma[j] : dy[rowBase + j];
            float xhat = (x[rowBase + j] - mu) * rs;
            dx[rowBase + j] = rs * (gd - meanG - (xhat * meanGx));
        }
    }

    /// <summary>
    /// Thread r: the tangent (forward mode) of one row along the input tangent dx and (with HasBeta, here meaning that
    /// dgamma and dbeta are given) the parameter tangents: with xhat = (x - mean[r]) rstd[r],
    /// dy = gamma rstd (dx - mean_d(dx) - xhat mean_d(xhat dx)) + xhat dgamma + dbeta. Launch over Rows threads.
    /// </summary>
    public static void Tangent(Index1D r, ArrayView<float> x, ArrayView<float> dx, ArrayView<float> dy, ArrayView<float> gamma, ArrayView<float> dgamma,
        ArrayView<float> dbeta, ArrayView<float> mean, ArrayView<float> rstd, LayerNormParams p)
    {
        int d = p.D;
        int rowBase = r * d;
        float mu = mean[r];
        float rs = rstd[r];
        bool hasGamma = p.HasGamma != 0;
        bool affineTangents = p.HasBeta != 0;
        float a0 = 0f, a1 = 0f;
        for (int j = 0; j < d; j++)
        {
            float t = dx[rowBase + j];
            a0 += t;
            a1 += t * ((x[rowBase + j] - mu) * rs);
        }

        float meanT = a0 / d;
        float meanTx = a1 / d;
        for (int j = 0; j < d; j++)
        {
            float xhat = (x[rowBase + j] - mu) * rs;
            float v = rs * (dx[rowBase + j] - meanT - (xhat * meanTx));
            if (hasGamma)
            {
                v *= gamma[j];
            }

            if (affineTangents)
            {
                v += (xhat * dgamma[j]) + dbeta[j];
            }

            dy[rowBase + j] = v;
        }
    }
}
