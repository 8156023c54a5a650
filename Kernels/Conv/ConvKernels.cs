// Convolution building blocks for im2col + GEMM: im2col, col2im (its adjoint, a gather, so no atomics),
// per-channel bias broadcast and per-channel sums (bias gradients, global average pooling).
using ILGPU;

namespace Engine.Kernels.Conv;

/// <summary>Kernels that turn convolutions into GEMMs. Buffer layouts are described on <see cref="Im2ColParams"/>.</summary>
public static class ConvKernels
{
    /// <summary>Threads per group of <see cref="ChannelSum"/>.</summary>
    public const int SumGroupSize = 128;

    /// <summary>
    /// im2col. Launch over Images * Channels * OutH * OutW threads; thread (n, c, oh, ow) writes the KernelH * KernelW
    /// column entries of its output position.
    /// x: (Images, Channels, Height, Width); col: (Images, Channels * KernelH * KernelW, OutH * OutW).
    /// </summary>
    public static void Im2Col(Index1D index, ArrayView<float> x, ArrayView<float> col, Im2ColParams p)
    {
        int outW = p.OutW, outH = p.OutH, channels = p.Channels, height = p.Height, width = p.Width;
        int kernelH = p.KernelH, kernelW = p.KernelW, dilationH = p.DilationH, dilationW = p.DilationW;
        int i = index;
        int ow = i % outW;
        int t = i / outW;
        int oh = t % outH;
        int plane = t / outH; // n * Channels + c
        long outHw = (long)outH * outW;
        long xBase = (long)plane * height * width;
        long colBase = ((long)plane * kernelH * kernelW * outHw) + ((long)oh * outW) + ow;
        int ih0 = (oh * p.StrideH) - p.PadTop;
        int iw0 = (ow * p.StrideW) - p.PadLeft;
        for (int kh = 0; kh < kernelH; kh++)
        {
            int ih = ih0 + (kh * dilationH);
            bool rowIn = ih >= 0 && ih < height;
            for (int kw = 0; kw < kernelW; kw++)
            {
                int iw = iw0 + (kw * dilationW);
                float v = 0f;
                if (rowIn && iw >= 0 && iw < width)
                {
                    v = KernelMath.LoadReadOnly(ref x[xBase + ((long)ih * width) + iw]); // neighbouring windows reread x
                }

                col[colBase + (((long)(kh * kernelW) + kw) * outHw)] = v;
            }
        }
    }

    /// <summary>
    /// col2im, the adjoint of <see cref="Im2Col"/>: x = Beta * x + (sum of every column entry that im2col would have
    /// read from x). Launch over Images * Channels * Height * Width threads; each gathers its own entries.
    /// col: (Images, Channels * KernelH * KernelW, OutH * OutW); x: (Images, Channels, Height, Width).
    /// </summary>
    public static void Col2Im(Index1D index, ArrayView<float> col, ArrayView<float> x, Im2ColParams p)
    {
        int outW = p.OutW, outH = p.OutH, height = p.Height, width = p.Width;
        int kernelH = p.KernelH, kernelW = p.KernelW, dilationH = p.DilationH, dilationW = p.DilationW;
        int strideH = p.StrideH, strideW = p.StrideW;
        int i = index;
        int w = i % width;
        int t = i / width;
        int h = t % height;
        int plane = t / height;
        long outHw = (long)outH * outW;
        long colBase = (long)plane * kernelH * kernelW * outHw;
        int hp = h + p.PadTop;
        int wp = w + p.PadLeft;
        float sum = 0f;
        for (int kh = 0; kh < kernelH; kh++)
        {
            int hh = hp - (kh * dilationH);
            if (hh < 0)
            {
                break;
            }

            int oh = hh / strideH;
            if (oh * strideH != hh || oh >= outH)
            {
                continue;
            }

            for (int kw = 0; kw < kernelW; kw++)
            {
                int ww = wp - (kw * dilationW);
                if (ww < 0)
                {
                    break;
                }

                int ow = ww / strideW;
                if (ow * strideW == ww && ow < outW)
                {
                    sum += col[colBase + (((long)(kh * kernelW) + kw) * outHw) + ((long)oh * outW) + ow];
                }
            }
        }

        x[i] = p.Beta == 0f ? sum : x[i] + sum;
    }

    /// <summary>
    /// Bias broadcast: y[n, c, s] = b[c]. Launch over Outer * Channels * Inner threads (p.Scale and p.Beta unused).
    /// y: (Outer, Channels, Inner); b: (Channels).
    /// </summary>
    public static void BiasFill(Index1D index, ArrayView<float> b, ArrayView<float> y, ChannelSumParams p)
    {
        int i = index;
        y[i] = b[(i / p.Inner) % p.Channels];
    }

    /// <summary>
    /// Per-channel sum: y[c] = Scale * sum over (o, s) of x[o, c, s] + Beta * y[c]. One group of
    /// <see cref="SumGroupSize"/> threads per channel (grid = Channels), reduced in shared memory (deterministic).
    /// x: (Outer, Channels, Inner); y: (Channels).
    /// </summary>
    public static void ChannelSum(ArrayView<float> x, ArrayView<float> y, ChannelSumParams p)
    {
        var shared = SharedMemory.Allocate<float>(SumGroupSize);
        int t = Group.IdxX;
        int c = Grid.IdxX;
        int inner = p.Inner;
        long channels = p.Channels;
        int total = p.Outer * inner;
        float acc = 0f;
        for (int j = t; j < total; j += SumGroupSize)
        {
            int o = j / inner;
            int s = j - (o * inner);
            acc += x[((o * channels) + c) * inner + s];
        }

        shared[t] = acc;
        Group.Barrier();
        for (int width = SumGroupSize / 2; width > 0; width >>= 1)
        {
            if (t < width)
            {
                shared[t] += shared[t + width];
            }

            Group.Barrier();
        }

        if (t == 0)
        {
            float sum = p.Scale * shared[0];
            y[c] = p.Beta == 0f ? sum : sum + (p.Beta * y[c]);
        }
    }
}
