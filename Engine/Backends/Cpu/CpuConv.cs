// Host (managed SIMD) convolution primitives for the CPU device: im2col, col2im, bias broadcast, channel sums,
// parallel over image planes with HostParallel when the work is large enough to pay for it.
using System;
using System.Numerics.Tensors;
using Engine.Kernels.Conv;
using ILGPU;

namespace Engine.Backends.Cpu;

/// <summary>Managed versions of <see cref="ConvKernels"/> over CPU-accelerator buffers (same layouts, same results).</summary>
internal static unsafe class CpuConv
{
    // Below this many elements of work a call runs on the calling thread.
    private const long ParallelWork = 1 << 15;

    /// <summary>im2col (see <see cref="ConvKernels.Im2Col"/>).</summary>
    public static void Im2Col(Device device, ArrayView<float> image, ArrayView<float> col, Im2ColParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
        int planes = p.Images * p.Channels;
        fixed (float* xp = HostViews.Span(image), cp = HostViews.Span(col))
        {
            var body = new Im2ColBody { Image = xp, Col = cp, P = p };
            HostParallel.For(planes, ref body, MinChunk(planes, (long)planes * p.KernelH * p.KernelW * p.OutH * p.OutW));
        }
    }

    /// <summary>col2im (see <see cref="ConvKernels.Col2Im"/>): each plane is owned by one thread, so the adds need no atomics.</summary>
    public static void Col2Im(Device device, ArrayView<float> col, ArrayView<float> image, Im2ColParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
        int planes = p.Images * p.Channels;
        fixed (float* xp = HostViews.Span(image), cp = HostViews.Span(col))
        {
            var body = new Col2ImBody { Image = xp, Col = cp, P = p };
            HostParallel.For(planes, ref body, MinChunk(planes, (long)planes * p.KernelH * p.KernelW * p.OutH * p.OutW));
        }
    }

    /// <summary>y[o, c, s] = bias[c] (see <see cref="ConvKernels.BiasFill"/>).</summary>
    public static void BiasFill(Device device, ArrayView<float> bias, ArrayView<float> y, ChannelSumParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
        var b = HostViews.Span(bias);
        var ys = HostViews.Span(y);
        for (int o = 0; o < p.Outer; o++)
        {
            for (int c = 0; c < p.Channels; c++)
            {
                ys.Slice(((o * p.Channels) + c) * p.Inner, p.Inner).Fill(b[c]);
            }
        }
    }

    /// <summary>y[c] = Scale * sum over (o, s) of x[o, c, s] + Beta * y[c] (see <see cref="ConvKernels.ChannelSum"/>).</summary>
    public static void ChannelSum(Device device, ArrayView<float> x, ArrayView<float> y, ChannelSumParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
        fixed (float* xp = HostViews.Span(x), yp = HostViews.Span(y))
        {
            var body = new ChannelSumBody { X = xp, Y = yp, P = p };
            HostParallel.For(p.Channels, ref body, MinChunk(p.Channels, (long)p.Outer * p.Channels * p.Inner));
        }
    }

    private static int MinChunk(int count, long work) => work < ParallelWork ? Math.Max(count, 1) : 1;

    /// <summary>Columns [lo, hi) of the output whose input column ow * stride + offset lies in [0, size).</summary>
    private static void ValidRange(int offset, int stride, int size, int outSize, out int lo, out int hi)
    {
        lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
        hi = size - 1 - offset < 0 ? 0 : Math.Min(outSize, ((size - 1 - offset) / stride) + 1);
        if (lo > hi)
        {
            lo = hi;
        }
    }

    internal struct Im2ColBody : IRangeBody
    {
        public float* Image;
        public float* Col;
        public Im2ColParams P;

        public readonly void Run(int start, int end)
        {
            var p = P;
            int height = p.Height, width = p.Width, outH = p.OutH, outW = p.OutW, sw = p.StrideW;
            long ohw = (long)outH * outW;
            for (int plane = start; plane < end; plane++)
            {
                float* x = Image + ((long)plane * height * width);
                float* col = Col + ((long)plane * p.KernelH * p.KernelW * ohw);
                for (int kh = 0; kh < p.KernelH; kh++)
                {
                    for (int kw = 0; kw < p.KernelW; kw++)
                    {
                        float* row = col + (((long)(kh * p.KernelW) + kw) * ohw);
                        int iw0 = (kw * p.DilationW) - p.PadLeft;
                        ValidRange(iw0, sw, width, outW, out int lo, out int hi);
                        for (int oh = 0; oh < outH; oh++)
                        {
                            var dst = new Span<float>(row + ((long)oh * outW), outW);
                            int ih = (oh * p.StrideH) - p.PadTop + (kh * p.DilationH);
                            if (ih < 0 || ih >= height || lo >= hi)
                            {
                                dst.Clear();
                                continue;
                            }

                            float* src = x + ((long)ih * width) + iw0;
                            dst[..lo].Clear();
                            if (sw == 1)
                            {
                                new ReadOnlySpan<float>(src + lo, hi - lo).CopyTo(dst[lo..hi]);
                            }
                            else
                            {
                                for (int ow = lo; ow < hi; ow++)
                                {
                                    dst[ow] = src[(long)ow * sw];
                                }
                            }

                            dst[hi..].Clear();
                        }
                    }
                }
            }
        }
    }

    internal struct Col2ImBody : IRangeBody
    {
        public float* Image;
        public float* Col;
        public Im2ColParams P;

        public readonly void Run(int start, int end)
        {
            var p = P;
            int height = p.Height, width = p.Width, outH = p.OutH, outW = p.OutW, sw = p.StrideW;
            long ohw = (long)outH * outW;
            for (int plane = start; plane < end; plane++)
            {
                float* x = Image + ((long)plane * height * width);
                float* col = Col + ((long)plane * p.KernelH * p.KernelW * ohw);
                if (p.Beta == 0f)
                {
                    new Span<float>(x, height * width).Clear();
                }

                for (int kh = 0; kh < p.KernelH; kh++)
                {
                    for (int kw = 0; kw < p.KernelW; kw++)
                    {
                        float* row = col + (((long)(kh * p.KernelW) + kw) * ohw);
                        int iw0 = (kw * p.DilationW) - p.PadLeft;
                        ValidRange(iw0, sw, width, outW, out int lo, out int hi);
                        if (lo >= hi)
                        {
                            continue;
                        }

                        for (int oh = 0; oh < outH; oh++)
                        {
                            int ih = (oh * p.StrideH) - p.PadTop + (kh * p.DilationH);
                            if (ih < 0 || ih >= height)
                            {
                                continue;
                            }

                            float* dst = x + ((long)ih * width) + iw0;
                            float* src = row + ((long)oh * outW);
                            if (sw == 1)
                            {
                                var d = new Span<float>(dst + lo, hi - lo);
                                TensorPrimitives.Add(d, new ReadOnlySpan<float>(src + lo, hi - lo), d);
                            }
                            else
                            {
                                for (int ow = lo; ow < hi; ow++)
                                {
                                    dst[(long)ow * sw] += src[ow];
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private struct ChannelSumBody : IRangeBody
    {
        public float* X;
        public float* Y;
        public ChannelSumParams P;

        public readonly void Run(int start, int end)
        {
            var p = P;
            for (int c = start; c < end; c++)
            {
                float sum = 0f;
                for (int o = 0; o < p.Outer; o++)
                {
                    sum += TensorPrimitives.Sum(new ReadOnlySpan<float>(X + ((((long)o * p.Channels) + c) * p.Inner), p.Inner));
                }

                sum *= p.Scale;
                Y[c] = p.Beta == 0f ? sum : sum + (p.Beta * Y[c]);
            }
        }
    }
}
