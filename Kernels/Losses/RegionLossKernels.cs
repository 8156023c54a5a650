// Dice, IoU and Tversky losses over (N, C) probabilities and one-hot targets: per-class sums over the batch, then
// one minus the mean over classes of the per-class ratio.
using ILGPU;
using Engine.Kernels.Reduction;

namespace Engine.Kernels.Losses;

/// <summary>
/// Per class c: I = sum_n p y, P = sum_n p, Y = sum_n y. Dice r = (2I + eps) / (P + Y + eps); IoU r = (I + eps) /
/// (P + Y - I + eps); Tversky r = (I + eps) / (I + a (P - I) + b (Y - I) + eps). Loss = 1 - mean_c r.
/// pred, target, dpred: (N, C); stats: (3 C) as I, P, Y per class.
/// </summary>
public static class RegionLossKernels
{
    /// <summary>Per-class sums: one group per class (grid = C groups, power-of-two group size) folds the N rows.</summary>
    public static void Stats(ArrayView<float> pred, ArrayView<float> target, ArrayView<float> stats, LossParams q)
    {
        var shared = SharedMemory.Allocate<float>(GroupReduce.MaxGroupSize);
        int cls = Grid.IdxX;
        int size = Group.DimX;
        int n = q.N;
        int c = q.C;
        float i = 0f, ps = 0f, ys = 0f;
        for (int row = Group.IdxX; row < n; row += size)
        {
            long k = ((long)row * c) + cls;
            float p = pred[k];
            float y = target[k];
            i += p * y;
            ps += p;
            ys += y;
        }

        i = GroupReduce.Sum(i, shared);
        ps = GroupReduce.Sum(ps, shared);
        ys = GroupReduce.Sum(ys, shared);
        if (Group.IdxX == 0)
        {
            stats[3 * cls] = i;
            stats[(3 * cls) + 1] = ps;
            stats[(3 * cls) + 2] = ys;
        }
    }

    /// <summary>The loss from the class sums: output[0] = Scale * (1 - mean_c r). Launch one group.</summary>
    public static void Finish(ArrayView<float> stats, ArrayView<float> output, LossParams q)
    {
        var shared = SharedMemory.Allocate<float>(GroupReduce.MaxGroupSize);
        int c = q.C;
        float acc = 0f;
        for (int k = Group.IdxX; k < c; k += Group.DimX)
        {
            acc += Ratio(stats[3 * k], stats[(3 * k) + 1], stats[(3 * k) + 2], q);
        }

        float s = GroupReduce.Sum(acc, shared);
        if (Group.IdxX == 0)
        {
            output[0] = q.Scale * (1f - (s / c));
        }
    }

    /// <summary>dpred = -Scale * upstream[0] / C * dr_c/dp. Launch over N * C elements.</summary>
    public static void Backward(Index1D idx, ArrayView<float> target, ArrayView<float> stats, ArrayView<float> upstream, ArrayView<float> dpred, LossParams q)
    {
        int c = q.C;
        int cls = idx % c;
        float s = q.HasUpstream != 0 ? q.Scale * upstream[0] : q.Scale;
        float y = target[idx];
        float i = stats[3 * cls];
        float ps = stats[(3 * cls) + 1];
        float ys = stats[(3 * cls) + 2];
        float eps = q.Eps;
        float dr;
        if (q.Kind == LossCodes.Dice)
        {
            float den = ps + ys + eps;
            dr = ((2f * y * den) - ((2f * i) + eps)) / (den * den);
        }
        else if (q.Kind == LossCodes.Iou)
        {
            float u = ps + ys - i + eps;
            dr = ((y * u) - ((i + eps) * (1f - y))) / (u * u);
        }
        else
        {
            float den = i + (q.A * (ps - i)) + (q.B * (ys - i)) + eps;
            float dden = y + (q.A * (1f - y)) - (q.B * y);
            dr = ((y * den) - ((i + eps) * dden)) / (den * den);
        }

        dpred[idx] = -s * dr / c;
    }

    /// <summary>The per-class ratio r from I, P, Y.</summary>
    public static float Ratio(float i, float ps, float ys, LossParams q)
    {
        float eps = q.Eps;
        if (q.Kind == LossCodes.Dice)
        {
            return ((2f * i) + eps) / (ps + ys + eps);
        }

        if (q.Kind == LossCodes.Iou)
        {
            return (i + eps) / (ps + ys - i + eps);
        }

        return (i + eps) / (i + (q.A * (ps - i)) + (q.B * (ys - i)) + eps);
    }
}
