// Pointwise losses (mse, mae, huber, smooth_l1, bce, bce_with_logits, focal), generic over the loss operator struct:
// a grid-stride partial-sum pass for the forward (folded by GroupReduce.Finish) and an elementwise backward.
using ILGPU;
using Engine.Kernels.Reduction;

namespace Engine.Kernels.Losses;

/// <summary>
/// Forward and backward kernels of the pointwise losses. pred, target, dpred: (N). <c>TOp</c> is any
/// <see cref="IPointwiseLoss"/> struct of this assembly; each instantiation is its own kernel.
/// </summary>
public static class PointwiseLossKernels
{
    /// <summary>
    /// First pass of the forward: group g writes partials[g] = sum of the terms of its grid-stride share.
    /// Launch at most <see cref="GroupReduce.MaxGroups"/> groups of a power-of-two size; partials: (groups).
    /// </summary>
    public static void Reduce<TOp>(ArrayView<float> pred, ArrayView<float> target, ArrayView<float> partials, LossCall call, PointwiseLossParams q)
        where TOp : struct, IPointwiseLoss
    {
        var shared = SharedMemory.Allocate<float>(GroupReduce.MaxGroupSize);
        var op = default(TOp);
        int stride = Grid.DimX * Group.DimX;
        int n = call.N;
        float acc = 0f;
        for (int i = (Grid.IdxX * Group.DimX) + Group.IdxX; i < n; i += stride)
        {
            acc += op.Term(pred[i], target[i], q);
        }

        float s = GroupReduce.Sum(acc, shared);
        if (Group.IdxX == 0)
        {
            partials[Grid.IdxX] = s;
        }
    }

    /// <summary>dpred[i] = Scale * upstream[0] * dl/dp (upstream read only when HasUpstream). Launch over N.</summary>
    public static void Backward<TOp>(Index1D i, ArrayView<float> pred, ArrayView<float> target, ArrayView<float> upstream, ArrayView<float> dpred, LossCall call, PointwiseLossParams q)
        where TOp : struct, IPointwiseLoss
    {
        float s = call.HasUpstream != 0 ? call.Scale * upstream[0] : call.Scale;
        dpred[i] = s * default(TOp).Derivative(pred[i], target[i], q);
    }
}
