// Median pooling's forward: each output is the median element of its window, chosen as PyTorch's median does: the
// element of rank (k - 1) / 2 in a stable sort of the window in scan order (ties go to the earlier position), or the
// first NaN when the window has one. The backward is max pooling's: the gradient goes to the saved index.
using ILGPU;
using ILGPU.Algorithms;

namespace Engine.Kernels.Pool;

/// <summary>Median pooling over NCHW planes (no padding); shapes as on <see cref="PoolParams"/>.</summary>
public static class MedianPoolKernels
{
    /// <summary>
    /// Launch over Planes * OutH * OutW. y[i] is the median element of window i and indices[i] its flat index h * Width + w
    /// (as a float, like max pooling's, so <see cref="PoolKernels.MaxBackward"/> routes the gradient). The element is found
    /// by counting (no per-thread array): the one with exactly (k - 1) / 2 elements before it in (value, position) order.
    /// x: (Planes, Height, Width); y, indices: (Planes, OutH, OutW).
    /// </summary>
    public static void Forward(Index1D index, ArrayView<float> x, ArrayView<float> y, ArrayView<float> indices, PoolParams p)
    {
        int i = index;
        int outW = p.OutW, outH = p.OutH, height = p.Height, width = p.Width, kh = p.KernelH, kw = p.KernelW;
        int ow = i % outW;
        int t = i / outW;
        int oh = t % outH;
        int plane = t / outH;
        int hs = oh * p.StrideH;
        int ws = ow * p.StrideW;
        long xBase = ((long)plane * height * width) + (hs * width) + ws;
        int rank = ((kh * kw) - 1) / 2;
        int best = -1;

        // A NaN anywhere makes the median NaN: the first one in scan order.
        for (int h = 0; h < kh && best < 0; h++)
        {
            for (int w = 0; w < kw && best < 0; w++)
            {
                if (XMath.IsNaN(x[xBase + (h * width) + w]))
                {
                    best = (h * width) + w;
                }
            }
        }

        // Candidates in scan order; b < a in scan order exactly when (hb, wb) comes before (ha, wa).
        for (int ha = 0; ha < kh && best < 0; ha++)
        {
            for (int wa = 0; wa < kw && best < 0; wa++)
            {
                int at = (ha * width) + wa;
                float va = KernelMath.LoadReadOnly(ref x[xBase + at]);
                int before = 0;
                for (int hb = 0; hb < kh; hb++)
                {
                    for (int wb = 0; wb < kw; wb++)
                    {
                        float vb = KernelMath.LoadReadOnly(ref x[xBase + (hb * width) + wb]);
                        bool earlier = hb < ha || (hb == ha && wb < wa);
                        before += vb < va || (vb == va && earlier) ? 1 : 0;
                    }
                }

                if (before == rank)
                {
                    best = at;
                }
            }
        }

        y[i] = x[xBase + best];
        indices[i] = (hs * width) + ws + best;
    }
}
