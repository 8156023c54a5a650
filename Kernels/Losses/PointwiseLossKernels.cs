// Pointwise losses (mse, mae, huber, smooth_l1, bce, bce_with_logits, focal): a grid-stride partial-sum pass for the
// forward (folded by GroupReduce.Finish) and an elementwise backward.
using ILGPU;
using Engine.Kernels.Reduction;

namespace Engine.Kernels.Losses;

/// <summary>Forward and backward kernels of the pointwise losses. pred, target, dpred: (N).</summary>
public static class PointwiseLossKernels
{
    /// <summary>
    /// First pass of the forward: group g writes partials[g] = sum of the terms of its grid-stride share.
    /// Launch at most <see cref="GroupReduce.MaxGroups"/> groups of a power-of-two size; partials: (groups).
    /// </summary>
    public static void Reduce(ArrayView<float> pred, ArrayView<float> target, ArrayView<float> partials, LossParams q)
    {
        var shared = SharedMemory.Allocate<float>(GroupReduce.MaxGroupSize);
        int stride = Grid.DimX * Group.DimX;
        int n = q.N;
        float acc = 0f;
        for (int i = (Grid.IdxX * Group.DimX) + Group.IdxX; i < n; i += stride)
        {
            acc += PointwiseLossMath.Term(pred[i], target[i], q);
        }

        float s = GroupReduce.Sum(acc, shared);
        if (Group.IdxX == 0)
        {
            partials[Grid.IdxX] = s;
        }
    }

    /// <summary>dpred[i] = Scale * upstream[0] * dl/dp (upstream read only when HasUpstream). Launch over N.</summary>
    public static void Backward(Index1D i, ArrayView<float> pred, ArrayView<float> target, ArrayView<float> upstream, ArrayView<float> dpred, LossParams q)
    {
        float s = q.HasUpstream != 0 ? q.Scale * upstream[0] : q.Scale;
        dpred[i] = s * PointwiseLossMath.Derivative(pred[i], target[i], q);
    }
}
