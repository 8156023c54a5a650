// Batch-norm kernels outside the reductions: inference statistics, the normalizing map, and dx.
using ILGPU;
using ILGPU.Algorithms;

namespace Engine.Kernels.Norm;

/// <summary>Shape and flags of the element-wise batch-norm kernels over x (N, C, S).</summary>
public struct BatchNormParams
{
    /// <summary>Channels.</summary>
    public int C;

    /// <summary>Inner size (product of the dimensions after the channel).</summary>
    public int S;

    /// <summary>Elements per channel, N * S.</summary>
    public int Count;

    /// <summary>1 when gamma is given (else gamma = 1).</summary>
    public int HasGamma;

    /// <summary>1 when beta is given (else beta = 0).</summary>
    public int HasBeta;

    /// <summary>Backward: 1 for the training-mode dx (batch statistics), 0 for the inference affine map.</summary>
    public int Training;

    /// <summary>Inference statistics: added to the running variance.</summary>
    public float Eps;
}

/// <summary>Element-wise batch-norm kernels; the per-channel reductions are in <see cref="ChannelReduceKernels"/>.</summary>
public static class BatchNormKernels
{
    /// <summary>Thread c: mean[c] = runningMean[c], invStd[c] = 1 / sqrt(runningVar[c] + eps). Buffers: [C].</summary>
    public static void InferenceStats(Index1D c, ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> mean, ArrayView<float> invStd, BatchNormParams p)
    {
        mean[c] = runningMean[c];
        invStd[c] = 1f / XMath.Sqrt(runningVar[c] + p.Eps);
    }

    /// <summary>
    /// Thread i (over N * C * S): y = (x - mean[c]) * invStd[c] * gamma[c] + beta[c], c = (i / S) % C.
    /// x, y: [N * C * S]; mean, invStd, gamma, beta: [C].
    /// </summary>
    public static void Normalize(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<float> mean, ArrayView<float> invStd, ArrayView<float> gamma, ArrayView<float> beta, BatchNormParams p)
    {
        int c = (i / p.S) % p.C;
        float v = (x[i] - mean[c]) * invStd[c];
        if (p.HasGamma != 0)
        {
            v *= gamma[c];
        }

        if (p.HasBeta != 0)
        {
            v += beta[c];
        }

        y[i] = v;
    }

    /// <summary>
    /// Thread i: training dx = gamma * invStd * (dy - sumDy / M - xhat * sumDyXhat / M), xhat = (x - mean) * invStd,
    /// M = N * S; inference dx = gamma * invStd * dy. sums: [C * 2] = (sum dy, sum dy * xhat) per channel.
    /// </summary>
    public static void BackwardDx(Index1D i, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dx, ArrayView<float> mean, ArrayView<float> invStd, ArrayView<float> gamma, ArrayView<float> sums, BatchNormParams p)
    {
        int c = (i / p.S) % p.C;
        float rs = invStd[c];
        float k = p.HasGamma != 0 ? gamma[c] * rs : rs;
        float g = dy[i];
        if (p.Training != 0)
        {
            float inv = 1f / p.Count;
            float xhat = (x[i] - mean[c]) * rs;
            g = g - (sums[c * 2] * inv) - (xhat * sums[(c * 2) + 1] * inv);
        }

        dx[i] = k * g;
    }
}
