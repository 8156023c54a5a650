// Cross-entropy from logits over rows of C classes: class-index or probability targets, class weights, label smoothing.
using ILGPU;
using ILGPU.Algorithms;
using Engine.Kernels.Reduction;

namespace Engine.Kernels.Losses;

/// <summary>
/// Per row i with log-probabilities lp = log_softmax(x_i), smoothing e and weights w (1 without weights):
/// indices: num_i = (1 - e) w_y (-lp_y) + (e / C) sum_c w_c (-lp_c), den_i = w_y (weighted) or 1;
/// probabilities: num_i = sum_c w_c t'_c (-lp_c) with t' = (1 - e) t + e / C, den_i = 1.
/// The loss is sum num / sum den for "mean" and sum num for "sum" (torch 1.13's definitions).
/// A class index that is not an integer in [0, C) makes the row's loss and gradient NaN.
/// pred: (N, C); target: (N) indices or (N, C) probabilities; weight: (C) (unused without HasWeight).
/// </summary>
public static class CrossEntropyKernels
{
    /// <summary>
    /// First pass of the forward over rows (grid-stride): partials[g] = sum num, partials[groups + g] = sum den.
    /// partials: (2 * groups).
    /// </summary>
    public static void Reduce(ArrayView<float> pred, ArrayView<float> target, ArrayView<float> weight, ArrayView<float> partials, LossCall call, CrossEntropyParams q)
    {
        var shared = SharedMemory.Allocate<float>(GroupReduce.MaxGroupSize);
        int groups = Grid.DimX;
        int stride = groups * Group.DimX;
        int n = call.N;
        int c = call.C;
        bool hasW = q.HasWeight != 0;
        float e = q.LabelSmoothing;
        float num = 0f;
        float den = 0f;
        for (int row = (Grid.IdxX * Group.DimX) + Group.IdxX; row < n; row += stride)
        {
            long b = (long)row * c;
            // (m - x_k) + log(sum exp(x - m)): exact differences first, precise for huge logits.
            float m = RowMax(pred, b, c);
            float ls = LogSumExpShifted(pred, b, c, m);
            if (q.TargetIsProbabilities != 0)
            {
                float acc = 0f;
                for (int k = 0; k < c; k++)
                {
                    float tk = ((1f - e) * target[b + k]) + (e / c);
                    acc += (hasW ? weight[k] : 1f) * tk * ((m - pred[b + k]) + ls);
                }

                num += acc;
                den += 1f;
            }
            else
            {
                float yf = target[row];
                int y = (int)yf;
                if (y != yf || y < 0 || y >= c)
                {
                    num += float.NaN;
                    den += 1f;
                    continue;
                }

                float wy = hasW ? weight[y] : 1f;
                float smooth = 0f;
                if (e != 0f)
                {
                    for (int k = 0; k < c; k++)
                    {
                        smooth += (hasW ? weight[k] : 1f) * ((m - pred[b + k]) + ls);
                    }
                }

                num += ((1f - e) * wy * ((m - pred[b + y]) + ls)) + (e / c * smooth);
                den += wy;
            }
        }

        float sn = GroupReduce.Sum(num, shared);
        float sd = GroupReduce.Sum(den, shared);
        if (Group.IdxX == 0)
        {
            partials[Grid.IdxX] = sn;
            partials[groups + Grid.IdxX] = sd;
        }
    }

    /// <summary>First pass of sum_i w_{y_i} (the weighted-mean denominator) over rows: partials[g]. partials: (groups).</summary>
    public static void WeightSum(ArrayView<float> target, ArrayView<float> weight, ArrayView<float> partials, LossCall call)
    {
        var shared = SharedMemory.Allocate<float>(GroupReduce.MaxGroupSize);
        int stride = Grid.DimX * Group.DimX;
        int n = call.N;
        int c = call.C;
        float acc = 0f;
        for (int row = (Grid.IdxX * Group.DimX) + Group.IdxX; row < n; row += stride)
        {
            float yf = target[row];
            int y = (int)yf;
            acc += y == yf && y >= 0 && y < c ? weight[y] : float.NaN;
        }

        float s = GroupReduce.Sum(acc, shared);
        if (Group.IdxX == 0)
        {
            partials[Grid.IdxX] = s;
        }
    }

    /// <summary>
    /// Backward, one thread per row: dpred = s * d(num_i)/dx with s = Scale * upstream[0] (when HasUpstream) / den[0]
    /// (when WeightedMean). Launch over N rows. den: (1) (unused unless DenFromBuffer).
    /// </summary>
    public static void Backward(Index1D row, ArrayView<float> pred, ArrayView<float> target, ArrayView<float> weight, ArrayView<float> upstream, ArrayView<float> den, ArrayView<float> dpred, LossCall call, CrossEntropyParams q)
    {
        int c = call.C;
        long b = (long)row.X * c;
        bool hasW = q.HasWeight != 0;
        float e = q.LabelSmoothing;
        float s = call.Scale;
        if (call.HasUpstream != 0)
        {
            s *= upstream[0];
        }

        if (q.WeightedMean != 0)
        {
            s /= den[0];
        }

        float m = RowMax(pred, b, c);
        float sum = 0f;
        for (int k = 0; k < c; k++)
        {
            sum += XMath.Exp(pred[b + k] - m);
        }

        float inv = 1f / sum;
        if (q.TargetIsProbabilities != 0)
        {
            // d/dx_j of sum_k w_k t'_k (lse - x_k) = (sum_k w_k t'_k) softmax_j - w_j t'_j
            float tw = 0f;
            for (int k = 0; k < c; k++)
            {
                tw += (hasW ? weight[k] : 1f) * (((1f - e) * target[b + k]) + (e / c));
            }

            for (int k = 0; k < c; k++)
            {
                float wk = hasW ? weight[k] : 1f;
                float tk = ((1f - e) * target[b + k]) + (e / c);
                dpred[b + k] = s * ((tw * XMath.Exp(pred[b + k] - m) * inv) - (wk * tk));
            }

            return;
        }

        float yf = target[row];
        int y = (int)yf;
        bool valid = y == yf && y >= 0 && y < c;
        float wy = valid && hasW ? weight[y] : 1f;
        float wsum = 0f;
        if (e != 0f)
        {
            for (int k = 0; k < c; k++)
            {
                wsum += hasW ? weight[k] : 1f;
            }
        }

        for (int k = 0; k < c; k++)
        {
            float sm = XMath.Exp(pred[b + k] - m) * inv;
            float wk = hasW ? weight[k] : 1f;
            float g = ((1f - e) * wy * (sm - (k == y ? 1f : 0f))) + (e / c * ((wsum * sm) - wk));
            dpred[b + k] = valid ? s * g : float.NaN;
        }
    }

    /// <summary>log sum_k exp(x[b + k] - <paramref name="m"/>), m being the row maximum.</summary>
    public static float LogSumExpShifted(ArrayView<float> x, long b, int c, float m)
    {
        float s = 0f;
        for (int k = 0; k < c; k++)
        {
            s += XMath.Exp(x[b + k] - m);
        }

        return XMath.Log(s);
    }

    /// <summary>max_k x[b + k].</summary>
    public static float RowMax(ArrayView<float> x, long b, int c)
    {
        float m = x[b];
        for (int k = 1; k < c; k++)
        {
            m = KernelMath.Max(m, x[b + k]);
        }

        return m;
    }
}
