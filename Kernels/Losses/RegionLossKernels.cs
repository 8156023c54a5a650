// Dice, IoU and Tversky losses over (N, C) probabilities and one-hot targets, generic over the region loss operator:
// per-class sums over the batch, then one minus the mean over classes of the per-class ratio.
using ILGPU;
using Engine.Kernels.Reduction;

namespace Engine.Kernels.Losses;

/// <summary>
/// Per class c: I = sum_n p y, P = sum_n p, Y = sum_n y; the ratio r and its gradient come from the
/// <see cref="IRegionLoss"/> struct <c>TOp</c>. Loss = 1 - mean_c r. pred, target, dpred: (N, C); stats: (3 C) as
/// I, P, Y per class.
/// </summary>
public static class RegionLossKernels
{
    /// <summary>Per-class sums: one group per class (grid = C groups, power-of-two group size) folds the N rows.</summary>
    public static void Stats(ArrayView<float> pred, ArrayView<float> target, ArrayView<float> stats, LossCall call)
    {
        var shared = SharedMemory.Allocate<float>(GroupReduce.MaxGroupSize);
        int cls = Grid.IdxX;
        int size = Group.DimX;
        int n = call.N;
        int c = call.C;
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
    public static void Finish<TOp>(ArrayView<float> stats, ArrayView<float> output, LossCall call, RegionLossParams q)
        where TOp : struct, IRegionLoss
    {
        var shared = SharedMemory.Allocate<float>(GroupReduce.MaxGroupSize);
        var op = default(TOp);
        int c = call.C;
        float acc = 0f;
        for (int k = Group.IdxX; k < c; k += Group.DimX)
        {
            acc += op.Ratio(stats[3 * k], stats[(3 * k) + 1], stats[(3 * k) + 2], q);
        }

        float s = GroupReduce.Sum(acc, shared);
        if (Group.IdxX == 0)
        {
            output[0] = call.Scale * (1f - (s / c));
        }
    }

    /// <summary>dpred = -Scale * upstream[0] / C * dr_c/dp. Launch over N * C elements.</summary>
    public static void Backward<TOp>(Index1D idx, ArrayView<float> target, ArrayView<float> stats, ArrayView<float> upstream, ArrayView<float> dpred, LossCall call, RegionLossParams q)
        where TOp : struct, IRegionLoss
    {
        int c = call.C;
        int cls = idx % c;
        float s = call.HasUpstream != 0 ? call.Scale * upstream[0] : call.Scale;
        float dr = default(TOp).RatioGrad(target[idx], stats[3 * cls], stats[(3 * cls) + 1], stats[(3 * cls) + 2], q);
        dpred[idx] = -s * dr / c;
    }
}
