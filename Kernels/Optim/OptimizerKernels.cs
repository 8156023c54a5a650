// The fused optimizer step: one generic kernel walks a chunk table (any set of parameters of a flat buffer) and
// applies the regularization and the rule struct's update to every element.
using ILGPU;

namespace Engine.Kernels.Optim;

/// <summary>
/// The chunk loop every optimizer shares. Launch with grid = number of chunks, group =
/// <see cref="OptimLayout.GroupSize"/>. Buffers <c>w</c> (weights), <c>g</c> (gradients) and the state buffers are
/// flat, laid out like the parameters; <c>chunks</c> is (start, count) int pairs, count &lt;=
/// <see cref="OptimLayout.ChunkElements"/>. State buffer k is read and written only when bit k of
/// <c>usedStates</c> is set (unused ones may alias <c>w</c>). <c>TRule</c> is any <see cref="IOptimizerRule"/>
/// struct of this assembly; each instantiation is its own kernel.
/// </summary>
public static class OptimizerKernels
{
    /// <summary>The gradient with coupled L2 and L1 terms: g + wd * w + l1 * sign(w).</summary>
    public static float RegularizedGrad(float w, float g, RegParams r)
    {
        if (r.WeightDecay != 0f)
        {
            g += r.WeightDecay * w;
        }

        if (r.L1 != 0f)
        {
            g += r.L1 * (w > 0f ? 1f : (w < 0f ? -1f : 0f));
        }

        return g;
    }

    /// <summary>One step of <typeparamref name="TRule"/> over the chunks' elements: w *= DecayScale, g regularized, then the rule.</summary>
    public static void Step<TRule>(ArrayView<float> w, ArrayView<float> g, ArrayView<float> s0, ArrayView<float> s1, ArrayView<float> s2,
        ArrayView<int> chunks, RegParams reg, int usedStates, TRule rule)
        where TRule : struct, IOptimizerRule
    {
        int c = Grid.IdxX;
        int start = chunks[2 * c];
        int count = chunks[(2 * c) + 1];
        int stride = Group.DimX;
        bool u0 = (usedStates & 1) != 0, u1 = (usedStates & 2) != 0, u2 = (usedStates & 4) != 0;
        for (int j = Group.IdxX; j < count; j += stride)
        {
            int i = start + j;
            var e = new OptimElement { W = w[i] * reg.DecayScale };
            float gi = RegularizedGrad(e.W, g[i], reg);
            e.S0 = u0 ? s0[i] : 0f;
            e.S1 = u1 ? s1[i] : 0f;
            e.S2 = u2 ? s2[i] : 0f;
            e = rule.Apply(e, gi);
            w[i] = e.W;
            if (u0)
            {
                s0[i] = e.S0;
            }

            if (u1)
            {
                s1[i] = e.S1;
            }

            if (u2)
            {
                s2[i] = e.S2;
            }
        }
    }
}
