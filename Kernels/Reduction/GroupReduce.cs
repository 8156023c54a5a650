// Shared-memory tree reductions inside one group, and the final step that folds per-group partial sums.
using ILGPU;
using ILGPU.Algorithms;

namespace Engine.Kernels.Reduction;

/// <summary>Arguments of <see cref="GroupReduce.Finish"/>.</summary>
public struct FinishParams
{
    /// <summary>Number of partial sums (groups of the first pass).</summary>
    public int Count;

    /// <summary>1: output = Scale * sum(a) / sum(b) with a = partials[0, Count), b = partials[Count, 2 Count); 0: output = Scale * sum(a).</summary>
    public int Ratio;

    /// <summary>Factor applied to the result.</summary>
    public float Scale;
}

/// <summary>
/// Group-wide sums for explicitly grouped kernels. Groups must have a power-of-two size of at most
/// <see cref="MaxGroupSize"/> threads, and every thread of the group must call the helpers (they hold barriers).
/// </summary>
public static class GroupReduce
{
    /// <summary>Largest group size the shared arrays are sized for.</summary>
    public const int MaxGroupSize = 256;

    /// <summary>Most groups a first reduction pass launches (the partials buffer holds this many per channel).</summary>
    public const int MaxGroups = 256;

    /// <summary>Sum of <paramref name="value"/> over the group; every thread gets the result.</summary>
    public static float Sum(float value, ArrayView<float> shared)
    {
        int tid = Group.IdxX;
        int size = Group.DimX;
        shared[tid] = value;
        Group.Barrier();
        for (int s = size >> 1; s > 0; s >>= 1)
        {
            if (tid < s)
            {
                shared[tid] += shared[tid + s];
            }

            Group.Barrier();
        }

        float r = shared[0];
        Group.Barrier();
        return r;
    }

    /// <summary>Maximum of <paramref name="value"/> over the group, NaN if any is (as torch.max); every thread gets the result.</summary>
    public static float Max(float value, ArrayView<float> shared)
    {
        int tid = Group.IdxX;
        int size = Group.DimX;
        shared[tid] = value;
        Group.Barrier();
        for (int s = size >> 1; s > 0; s >>= 1)
        {
            if (tid < s)
            {
                float o = shared[tid + s];
                if (o > shared[tid] || XMath.IsNaN(o))
                {
                    shared[tid] = o;
                }
            }

            Group.Barrier();
        }

        float r = shared[0];
        Group.Barrier();
        return r;
    }

    /// <summary>
    /// Second pass: one group folds the partial sums of the first pass into output[0] (see <see cref="FinishParams"/>).
    /// partials: (Count) or (2 Count) when Ratio; output: (1). Launch one group of a power-of-two size.
    /// </summary>
    public static void Finish(ArrayView<float> partials, ArrayView<float> output, FinishParams p)
    {
        var shared = SharedMemory.Allocate<float>(MaxGroupSize);
        int tid = Group.IdxX;
        int size = Group.DimX;
        int count = p.Count;
        float a = 0f;
        float b = 0f;
        for (int i = tid; i < count; i += size)
        {
            a += partials[i];
            if (p.Ratio != 0)
            {
                b += partials[count + i];
            }
        }

        float sa = Sum(a, shared);
        float sb = p.Ratio != 0 ? Sum(b, shared) : 1f;
        if (tid == 0)
        {
            output[0] = p.Scale * sa / sb;
        }
    }
}
