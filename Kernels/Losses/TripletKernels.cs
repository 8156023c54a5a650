// Triplet margin loss over (N, D) anchors, positives and negatives, as torch.nn.functional.triplet_margin_loss.
using ILGPU;
using ILGPU.Algorithms;
using Engine.Kernels.Reduction;

namespace Engine.Kernels.Losses;

/// <summary>
/// d(a, b) = || a - b + eps ||_p with eps = 1e-6 (torch pairwise_distance); l_i = max(d(a, p) - d(a, n) + margin, 0).
/// LossCall: N rows, C = D; TripletParams: margin, norm degree p. anchor, positive, negative and their gradients: (N, D).
/// </summary>
public static class TripletKernels
{
    /// <summary>The eps torch's pairwise_distance adds to the difference.</summary>
    public const float DistanceEps = 1e-6f;

    /// <summary>First pass of the forward over rows (grid-stride): partials[g] = sum of l_i. partials: (groups).</summary>
    public static void Reduce(ArrayView<float> anchor, ArrayView<float> positive, ArrayView<float> negative, ArrayView<float> partials, LossCall call, TripletParams q)
    {
        var shared = SharedMemory.Allocate<float>(GroupReduce.MaxGroupSize);
        int stride = Grid.DimX * Group.DimX;
        int n = call.N;
        float acc = 0f;
        for (int row = (Grid.IdxX * Group.DimX) + Group.IdxX; row < n; row += stride)
        {
            long b = (long)row * call.C;
            float dp = Distance(anchor, positive, b, call.C, q.NormDegree);
            float dn = Distance(anchor, negative, b, call.C, q.NormDegree);
            acc += KernelMath.ClampMin(dp - dn + q.Margin, 0f);
        }

        float s = GroupReduce.Sum(acc, shared);
        if (Group.IdxX == 0)
        {
            partials[Grid.IdxX] = s;
        }
    }

    /// <summary>
    /// Backward, one thread per row. Where the hinge is active (d(a,p) - d(a,n) + margin &gt;= 0, torch's clamp_min
    /// rule), da = s (g(a - p) - g(a - n)), dp = -s g(a - p), dn = s g(a - n) with g the gradient of the p-norm;
    /// elsewhere zeros. s = Scale * upstream[0] (when HasUpstream). Launch over N rows.
    /// </summary>
    public static void Backward(Index1D row, ArrayView<float> anchor, ArrayView<float> positive, ArrayView<float> negative, ArrayView<float> upstream, ArrayView<float> danchor, ArrayView<float> dpositive, ArrayView<float> dnegative, LossCall call, TripletParams q)
    {
        int d = call.C;
        float p = q.NormDegree;
        long b = (long)row.X * d;
        float s = call.HasUpstream != 0 ? call.Scale * upstream[0] : call.Scale;
        float dp = Distance(anchor, positive, b, d, p);
        float dn = Distance(anchor, negative, b, d, p);
        bool active = dp - dn + q.Margin >= 0f;
        for (int k = 0; k < d; k++)
        {
            long i = b + k;
            float gp = 0f;
            float gn = 0f;
            if (active)
            {
                gp = s * NormGrad(anchor[i] - positive[i] + DistanceEps, dp, p);
                gn = s * NormGrad(anchor[i] - negative[i] + DistanceEps, dn, p);
            }

            danchor[i] = gp - gn;
            dpositive[i] = -gp;
            dnegative[i] = gn;
        }
    }

    /// <summary>|| a[b..b+d) - x[b..b+d) + eps ||_p.</summary>
    public static float Distance(ArrayView<float> a, ArrayView<float> x, long b, int d, float p)
    {
        float acc = 0f;
        for (int k = 0; k < d; k++)
        {
            float v = XMath.Abs(a[b + k] - x[b + k] + DistanceEps);
            acc += p == 2f ? v * v : (p == 1f ? v : XMath.Pow(v, p));
        }

        return p == 2f ? XMath.Sqrt(acc) : (p == 1f ? acc : XMath.Pow(acc, 1f / p));
    }

    /// <summary>d||v||_p / dv_k for component v with norm <paramref name="norm"/> (torch's norm backward; 0 where the norm is 0).</summary>
    public static float NormGrad(float v, float norm, float p)
    {
        if (p == 1f)
        {
            return v > 0f ? 1f : (v < 0f ? -1f : 0f);
        }

        if (norm == 0f)
        {
            return 0f;
        }

        if (p == 2f)
        {
            return v / norm;
        }

        float sign = v > 0f ? 1f : (v < 0f ? -1f : 0f);
        return sign * XMath.Pow(XMath.Abs(v), p - 1f) / XMath.Pow(norm, p - 1f);
    }
}
