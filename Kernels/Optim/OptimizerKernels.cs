// Fused optimizer steps: one launch updates every element of a chunk table (any set of parameters of a flat buffer).
using ILGPU;
using ILGPU.Algorithms;

namespace Engine.Kernels.Optim;

/// <summary>
/// One kernel per optimizer, each applying PyTorch 1.13's single-tensor update rule to the elements listed by a
/// chunk table. Launch with grid = number of chunks, group = <see cref="OptimLayout.GroupSize"/>.
/// Buffers: <c>w</c> (weights), <c>g</c> (gradients) and the state buffers are flat, laid out like the parameters
/// (same length, same offsets); <c>chunks</c> is (start, count) int pairs, count &lt;= <see cref="OptimLayout.ChunkElements"/>.
/// State buffers a configuration does not use may alias <c>w</c>; they are never touched.
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

    /// <summary>SGD. State: <c>buf</c> momentum buffer (used when momentum is non-zero).</summary>
    public static void Sgd(ArrayView<float> w, ArrayView<float> g, ArrayView<float> buf, ArrayView<int> chunks, SgdParams p)
    {
        int c = Grid.IdxX;
        int start = chunks[2 * c];
        int count = chunks[(2 * c) + 1];
        int stride = Group.DimX;
        for (int j = Group.IdxX; j < count; j += stride)
        {
            int i = start + j;
            float wi = w[i] * p.Reg.DecayScale;
            float d = RegularizedGrad(wi, g[i], p.Reg);
            if (p.HasMomentum != 0)
            {
                float b = p.First != 0 ? d : (p.Momentum * buf[i]) + (p.OneMinusDampening * d);
                buf[i] = b;
                d = p.Nesterov != 0 ? d + (p.Momentum * b) : b;
            }

            w[i] = wi - (p.Lr * d);
        }
    }

    /// <summary>Adagrad. State: <c>sum</c> (accumulated squared gradients).</summary>
    public static void Adagrad(ArrayView<float> w, ArrayView<float> g, ArrayView<float> sum, ArrayView<int> chunks, AdagradParams p)
    {
        int c = Grid.IdxX;
        int start = chunks[2 * c];
        int count = chunks[(2 * c) + 1];
        int stride = Group.DimX;
        for (int j = Group.IdxX; j < count; j += stride)
        {
            int i = start + j;
            float wi = w[i] * p.Reg.DecayScale;
            float gi = RegularizedGrad(wi, g[i], p.Reg);
            float s = sum[i] + (gi * gi);
            sum[i] = s;
            w[i] = wi - (p.Clr * (gi / (XMath.Sqrt(s) + p.Eps)));
        }
    }

    /// <summary>Adadelta. State: <c>sq</c> (square_avg), <c>acc</c> (acc_delta).</summary>
    public static void Adadelta(ArrayView<float> w, ArrayView<float> g, ArrayView<float> sq, ArrayView<float> acc, ArrayView<int> chunks, AdadeltaParams p)
    {
        int c = Grid.IdxX;
        int start = chunks[2 * c];
        int count = chunks[(2 * c) + 1];
        int stride = Group.DimX;
        for (int j = Group.IdxX; j < count; j += stride)
        {
            int i = start + j;
            float wi = w[i] * p.Reg.DecayScale;
            float gi = RegularizedGrad(wi, g[i], p.Reg);
            float s = (sq[i] * p.Rho) + (p.OneMinusRho * gi * gi);
            sq[i] = s;
            float std = XMath.Sqrt(s + p.Eps);
            float a = acc[i];
            float delta = XMath.Sqrt(a + p.Eps) / std * gi;
            acc[i] = (a * p.Rho) + (p.OneMinusRho * delta * delta);
            w[i] = wi - (p.Lr * delta);
        }
    }

    /// <summary>RMSprop. State: <c>sq</c> (square_avg), <c>mom</c> (momentum_buffer), <c>gavg</c> (grad_avg, centered).</summary>
    public static void Rmsprop(ArrayView<float> w, ArrayView<float> g, ArrayView<float> sq, ArrayView<float> mom, ArrayView<float> gavg, ArrayView<int> chunks, RmspropParams p)
    {
        int c = Grid.IdxX;
        int start = chunks[2 * c];
        int count = chunks[(2 * c) + 1];
        int stride = Group.DimX;
        for (int j = Group.IdxX; j < count; j += stride)
        {
            int i = start + j;
            float wi = w[i] * p.Reg.DecayScale;
            float gi = RegularizedGrad(wi, g[i], p.Reg);
            float s = (sq[i] * p.Alpha) + (p.OneMinusAlpha * gi * gi);
            sq[i] = s;
            float avg;
            if (p.Centered != 0)
            {
                float ga = (gavg[i] * p.Alpha) + (p.OneMinusAlpha * gi);
                gavg[i] = ga;
                avg = XMath.Sqrt(s - (ga * ga));
            }
            else
            {
                avg = XMath.Sqrt(s);
            }

            avg += p.Eps;
            if (p.HasMomentum != 0)
            {
                float b = (mom[i] * p.Momentum) + (gi / avg);
                mom[i] = b;
                w[i] = wi - (p.Lr * b);
            }
            else
            {
                w[i] = wi - (p.Lr * (gi / avg));
            }
        }
    }

    /// <summary>Adam / AdamW. State: <c>m</c> (exp_avg), <c>v</c> (exp_avg_sq), <c>vmax</c> (max_exp_avg_sq, AMSGrad).</summary>
    public static void Adam(ArrayView<float> w, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v, ArrayView<float> vmax, ArrayView<int> chunks, AdamParams p)
    {
        int c = Grid.IdxX;
        int start = chunks[2 * c];
        int count = chunks[(2 * c) + 1];
        int stride = Group.DimX;
        for (int j = Group.IdxX; j < count; j += stride)
        {
            int i = start + j;
            float wi = w[i] * p.Reg.DecayScale;
            float gi = RegularizedGrad(wi, g[i], p.Reg);
            float mi = (m[i] * p.Beta1) + (p.OneMinusBeta1 * gi);
            float vi = (v[i] * p.Beta2) + (p.OneMinusBeta2 * gi * gi);
            m[i] = mi;
            v[i] = vi;
            if (p.Amsgrad != 0)
            {
                float old = vmax[i];
                vi = old > vi || XMath.IsNaN(old) ? old : vi;
                vmax[i] = vi;
            }

            float denom = (XMath.Sqrt(vi) / p.Bc2Sqrt) + p.Eps;
            w[i] = wi - (p.StepSize * (mi / denom));
        }
    }

    /// <summary>Adamax. State: <c>m</c> (exp_avg), <c>u</c> (exp_inf).</summary>
    public static void Adamax(ArrayView<float> w, ArrayView<float> g, ArrayView<float> m, ArrayView<float> u, ArrayView<int> chunks, AdamaxParams p)
    {
        int c = Grid.IdxX;
        int start = chunks[2 * c];
        int count = chunks[(2 * c) + 1];
        int stride = Group.DimX;
        for (int j = Group.IdxX; j < count; j += stride)
        {
            int i = start + j;
            float wi = w[i] * p.Reg.DecayScale;
            float gi = RegularizedGrad(wi, g[i], p.Reg);
            float mi = (m[i] * p.Beta1) + (p.OneMinusBeta1 * gi);
            m[i] = mi;
            float a = u[i] * p.Beta2;
            float b = XMath.Abs(gi) + p.Eps;
            float ui = a > b || XMath.IsNaN(a) ? a : b;
            u[i] = ui;
            w[i] = wi - (p.Clr * (mi / ui));
        }
    }

    /// <summary>NAdam. State: <c>m</c> (exp_avg), <c>v</c> (exp_avg_sq).</summary>
    public static void Nadam(ArrayView<float> w, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v, ArrayView<int> chunks, NadamParams p)
    {
        int c = Grid.IdxX;
        int start = chunks[2 * c];
        int count = chunks[(2 * c) + 1];
        int stride = Group.DimX;
        for (int j = Group.IdxX; j < count; j += stride)
        {
            int i = start + j;
            float wi = w[i] * p.Reg.DecayScale;
            float gi = RegularizedGrad(wi, g[i], p.Reg);
            float mi = (m[i] * p.Beta1) + (p.OneMinusBeta1 * gi);
            float vi = (v[i] * p.Beta2) + (p.OneMinusBeta2 * gi * gi);
            m[i] = mi;
            v[i] = vi;
            float denom = XMath.Sqrt(vi / p.Bc2) + p.Eps;
            wi += p.GradCoef * (gi / denom);
            w[i] = wi + (p.AvgCoef * (mi / denom));
        }
    }
}
