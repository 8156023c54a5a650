// Deterministic two-pass reductions (norms, non-finite counts) and gradient clipping over chunk tables.
using ILGPU;
using ILGPU.Algorithms;

namespace Engine.Kernels.Optim;

/// <summary>
/// Reductions in two passes with a fixed order (so results are reproducible): <see cref="Partial"/> reduces each
/// chunk in one group of a power-of-two number of threads, at most <see cref="OptimLayout.GroupSize"/> (strided loop, then a shared-memory tree) into
/// <c>partials[chunk]</c>; <see cref="Final"/> reduces the partials in one group into <c>result[0]</c> (finished:
/// the norm or the count) and <c>result[1]</c> (the raw sum or maximum). Any length works.
/// </summary>
public static class ReduceKernels
{
    /// <summary>The value an element contributes in <paramref name="mode"/>.</summary>
    public static float Map(float x, int mode, float p)
    {
        if (mode == ReduceMode.SumSquares)
        {
            return x * x;
        }

        if (mode == ReduceMode.SumAbs || mode == ReduceMode.MaxAbs)
        {
            return XMath.Abs(x);
        }

        if (mode == ReduceMode.SumPow)
        {
            return XMath.Pow(XMath.Abs(x), p);
        }

        return XMath.IsNaN(x) || XMath.IsInfinity(x) ? 1f : 0f;
    }

    /// <summary>Combines two mapped values: a NaN-propagating maximum for <see cref="ReduceMode.MaxAbs"/>, else a sum.</summary>
    public static float Combine(float a, float b, int mode)
    {
        if (mode == ReduceMode.MaxAbs)
        {
            return a > b || XMath.IsNaN(a) ? a : b;
        }

        return a + b;
    }

    /// <summary>Per-chunk reduction. x: the buffer; chunks: (start, count) pairs unless contiguous; partials: one per chunk.</summary>
    public static void Partial(ArrayView<float> x, ArrayView<int> chunks, ArrayView<float> partials, ReduceParams p)
    {
        var shared = SharedMemory.Allocate<float>(OptimLayout.GroupSize);
        int c = Grid.IdxX;
        int t = Group.IdxX;
        int stride = Group.DimX;
        int start, count;
        if (p.Contiguous != 0)
        {
            start = c * OptimLayout.ChunkElements;
            count = p.Length - start < OptimLayout.ChunkElements ? p.Length - start : OptimLayout.ChunkElements;
        }
        else
        {
            start = chunks[2 * c];
            count = chunks[(2 * c) + 1];
        }

        int mode = p.Mode;
        float pp = p.P;
        float acc = 0f;
        for (int j = t; j < count; j += stride)
        {
            acc = Combine(acc, Map(x[start + j], mode, pp), mode);
        }

        shared[t] = acc;
        Group.Barrier();
        for (int s = stride / 2; s > 0; s /= 2)
        {
            if (t < s)
            {
                shared[t] = Combine(shared[t], shared[t + s], mode);
            }

            Group.Barrier();
        }

        if (t == 0)
        {
            partials[c] = shared[0];
        }
    }

    /// <summary>Reduces <c>p.Partials</c> partials in one group; result[0] = finished value, result[1] = raw value.</summary>
    public static void Final(ArrayView<float> partials, ArrayView<float> result, ReduceParams p)
    {
        var shared = SharedMemory.Allocate<float>(OptimLayout.GroupSize);
        int t = Group.IdxX;
        int stride = Group.DimX;
        int n = p.Partials;
        int mode = p.Mode;
        float acc = 0f;
        for (int j = t; j < n; j += stride)
        {
            acc = Combine(acc, partials[j], mode);
        }

        shared[t] = acc;
        Group.Barrier();
        for (int s = stride / 2; s > 0; s /= 2)
        {
            if (t < s)
            {
                shared[t] = Combine(shared[t], shared[t + s], mode);
            }

            Group.Barrier();
        }

        if (t == 0)
        {
            float raw = shared[0];
            float done = raw;
            if (mode == ReduceMode.SumSquares)
            {
                done = XMath.Sqrt(raw);
            }
            else if (mode == ReduceMode.SumPow)
            {
                done = XMath.Pow(raw, 1f / p.P);
            }

            result[0] = done;
            result[1] = raw;
        }
    }

    /// <summary>
    /// clip_grad_norm_'s scaling: coef = limit / (norm[0] + 1e-6); the gradients are multiplied by it unless it is
    /// at least 1 (a NaN norm makes every gradient NaN, as in PyTorch).
    /// </summary>
    public static void ScaleByNorm(ArrayView<float> g, ArrayView<int> chunks, ArrayView<float> norm, ClipParams p)
    {
        // NaN is tested explicitly: ILGPU's OpenCL backend emits C#'s unordered float branches as ordered comparisons,
        // so `if (coef >= 1f) return;` returned early for a NaN coefficient there.
        float coef = p.Limit / (norm[0] + 1e-6f);
        if (!XMath.IsNaN(coef) && coef >= 1f)
        {
            return;
        }

        int c = Grid.IdxX;
        int start = chunks[2 * c];
        int count = chunks[(2 * c) + 1];
        int stride = Group.DimX;
        for (int j = Group.IdxX; j < count; j += stride)
        {
            g[start + j] *= coef;
        }
    }

    /// <summary>clip_grad_value_: clamps every listed element into [-limit, limit] (NaN stays NaN).</summary>
    public static void ClampByValue(ArrayView<float> g, ArrayView<int> chunks, ClipParams p)
    {
        int c = Grid.IdxX;
        int start = chunks[2 * c];
        int count = chunks[(2 * c) + 1];
        int stride = Group.DimX;
        float hi = p.Limit;
        float lo = -p.Limit;
        for (int j = Group.IdxX; j < count; j += stride)
        {
            float x = g[start + j];
            g[start + j] = x > hi ? hi : (x < lo ? lo : x);
        }
    }
}
