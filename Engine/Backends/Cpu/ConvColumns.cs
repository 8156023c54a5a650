// im2col and col2im of one image (or one group of its channels) on the calling thread, for the host convolution
// that gives each thread its own images: stride-1 convolutions whose rows keep their width copy whole shifted
// planes instead of row pieces, which matters for small images (14 x 14 rows are 14 floats long). Also the
// position-major layout of an output gradient that the weight gradients of ConvShift and ConvWinograd read.
using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Engine.Kernels.Conv;

namespace Engine.Backends.Cpu;

/// <summary>Single-threaded im2col / col2im over raw pointers (layouts of <see cref="Im2ColParams"/>, Images ignored).</summary>
internal static unsafe class ConvColumns
{
    /// <summary>
    /// Whether the column matrix of <paramref name="p"/> is the image itself (1x1 kernel, stride 1, no padding, output
    /// as large as the input), so no im2col is needed; the same test as the conv ops' <c>ConvGeometry.IsPointwise</c>.
    /// </summary>
    public static bool IsIdentity(in Im2ColParams p) => p.KernelH == 1 && p.KernelW == 1 && p.StrideH == 1 && p.StrideW == 1
        && p.PadTop == 0 && p.PadLeft == 0 && p.OutH == p.Height && p.OutW == p.Width;

    /// <summary>Whether every kernel tap of <paramref name="p"/> is a pure shift of the plane (stride 1, output rows as wide as input rows).</summary>
    public static bool IsShift(in Im2ColParams p) => p.StrideH == 1 && p.StrideW == 1 && p.OutW == p.Width;

    /// <summary>col (Channels * kH * kW rows of OutH * OutW) = im2col of the Channels planes at <paramref name="image"/>.</summary>
    public static void Im2Col(float* image, float* col, in Im2ColParams p)
    {
        if (!IsShift(p))
        {
            var body = new CpuConv.Im2ColBody { Image = image, Col = col, P = p };
            body.Run(0, p.Channels);
            return;
        }

        int w = p.Width, h = p.Height, outH = p.OutH, ohw = outH * w;
        for (int c = 0; c < p.Channels; c++)
        {
            float* x = image + ((long)c * h * w);
            for (int kh = 0; kh < p.KernelH; kh++)
            {
                for (int kw = 0; kw < p.KernelW; kw++)
                {
                    float* dst = col + ((((long)c * p.KernelH) + kh) * p.KernelW + kw) * ohw;
                    int offH = (kh * p.DilationH) - p.PadTop, offW = (kw * p.DilationW) - p.PadLeft;
                    Ranges(offH, offW, h, w, outH, out int r0, out int r1, out int lo, out int hi);
                    if (r0 >= r1 || lo >= hi)
                    {
                        new Span<float>(dst, ohw).Clear();
                        continue;
                    }

                    int first = (r0 * w) + lo, last = ((r1 - 1) * w) + hi;
                    new Span<float>(dst, first).Clear();
                    Buffer.MemoryCopy(x + first + (offH * w) + offW, dst + first, (long)(last - first) * sizeof(float), (long)(last - first) * sizeof(float));
                    new Span<float>(dst + last, ohw - last).Clear();
                    if (lo > 0 || hi < w)
                    {
                        ClearEdges(dst, w, r0, r1, lo, hi);
                    }
                }
            }
        }
    }

    /// <summary>
    /// image (Channels planes) = col2im(col) + Beta * image. The wrapped entries of <paramref name="col"/> (taps that
    /// fall outside the image) are zeroed on the way: col is scratch the caller is done with.
    /// </summary>
    public static void Col2Im(float* col, float* image, in Im2ColParams p)
    {
        if (!IsShift(p))
        {
            var body = new CpuConv.Col2ImBody { Image = image, Col = col, P = p };
            body.Run(0, p.Channels);
            return;
        }

        int w = p.Width, h = p.Height, outH = p.OutH, ohw = outH * w;
        for (int c = 0; c < p.Channels; c++)
        {
            float* x = image + ((long)c * h * w);
            if (p.Beta == 0f)
            {
                new Span<float>(x, h * w).Clear();
            }

            for (int kh = 0; kh < p.KernelH; kh++)
            {
                for (int kw = 0; kw < p.KernelW; kw++)
                {
                    float* src = col + ((((long)c * p.KernelH) + kh) * p.KernelW + kw) * ohw;
                    int offH = (kh * p.DilationH) - p.PadTop, offW = (kw * p.DilationW) - p.PadLeft;
                    Ranges(offH, offW, h, w, outH, out int r0, out int r1, out int lo, out int hi);
                    if (r0 >= r1 || lo >= hi)
                    {
                        continue;
                    }

                    if (lo > 0 || hi < w)
                    {
                        ClearEdges(src, w, r0, r1, lo, hi);
                    }

                    int first = (r0 * w) + lo, last = ((r1 - 1) * w) + hi;
                    var d = new Span<float>(x + first + (offH * w) + offW, last - first);
                    TensorPrimitives.Add(d, new ReadOnlySpan<float>(src + first, last - first), d);
                }
            }
        }
    }

    /// <summary>Output rows [r0, r1) and columns [lo, hi) whose tap (shifted by offH, offW) lies inside the image.</summary>
    private static void Ranges(int offH, int offW, int h, int w, int outH, out int r0, out int r1, out int lo, out int hi)
    {
        r0 = Math.Max(0, -offH);
        r1 = Math.Min(outH, h - offH);
        lo = Math.Max(0, -offW);
        hi = Math.Min(w, w - offW);
    }

    /// <summary>Zeroes columns [0, lo) and [hi, w) of rows [r0, r1).</summary>
    private static void ClearEdges(float* plane, int w, int r0, int r1, int lo, int hi)
    {
        for (int r = r0; r < r1; r++)
        {
            float* row = plane + ((long)r * w);
            for (int j = 0; j < lo; j++)
            {
                row[j] = 0f;
            }

            for (int j = hi; j < w; j++)
            {
                row[j] = 0f;
            }
        }
    }

    /// <summary>
    /// dT[pos * ldd + co] = dy[co * hw + pos]: cout planes of hw positions laid out position-major with ldd lanes per
    /// position (lanes past cout untouched), 8 x 8 blocks transposed in registers with AVX (the weight gradients of the
    /// shift and Winograd convolutions).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ToPositionMajor(float* dy, int cout, int hw, float* dT, int ldd)
    {
        int co8 = Avx.IsSupported ? cout / 8 * 8 : 0, hw8 = hw / 8 * 8;
        for (int c0 = 0; c0 < co8; c0 += 8)
        {
            float* src = dy + ((long)c0 * hw);
            for (int p0 = 0; p0 < hw8; p0 += 8)
            {
                float* r = src + p0;
                var t0 = Avx.UnpackLow(Vector256.Load(r), Vector256.Load(r + hw));
                var t1 = Avx.UnpackHigh(Vector256.Load(r), Vector256.Load(r + hw));
                var t2 = Avx.UnpackLow(Vector256.Load(r + (2 * hw)), Vector256.Load(r + (3 * hw)));
                var t3 = Avx.UnpackHigh(Vector256.Load(r + (2 * hw)), Vector256.Load(r + (3 * hw)));
                var t4 = Avx.UnpackLow(Vector256.Load(r + (4 * hw)), Vector256.Load(r + (5 * hw)));
                var t5 = Avx.UnpackHigh(Vector256.Load(r + (4 * hw)), Vector256.Load(r + (5 * hw)));
                var t6 = Avx.UnpackLow(Vector256.Load(r + (6 * hw)), Vector256.Load(r + (7 * hw)));
                var t7 = Avx.UnpackHigh(Vector256.Load(r + (6 * hw)), Vector256.Load(r + (7 * hw)));
                var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
                var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
                var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
                var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
                float* d = dT + ((long)p0 * ldd) + c0;
                Avx.Permute2x128(u0, u4, 0x20).Store(d);
                Avx.Permute2x128(u1, u5, 0x20).Store(d + ldd);
                Avx.Permute2x128(u2, u6, 0x20).Store(d + (2 * ldd));
                Avx.Permute2x128(u3, u7, 0x20).Store(d + (3 * ldd));
                Avx.Permute2x128(u0, u4, 0x31).Store(d + (4 * ldd));
                Avx.Permute2x128(u1, u5, 0x31).Store(d + (5 * ldd));
                Avx.Permute2x128(u2, u6, 0x31).Store(d + (6 * ldd));
                Avx.Permute2x128(u3, u7, 0x31).Store(d + (7 * ldd));
            }

            for (int c = c0; c < c0 + 8; c++)
            {
                for (int pos = hw8; pos < hw; pos++)
                {
                    dT[((long)pos * ldd) + c] = dy[((long)c * hw) + pos];
                }
            }
        }

        for (int c = co8; c < cout; c++)
        {
            for (int pos = 0; pos < hw; pos++)
            {
                dT[((long)pos * ldd) + c] = dy[((long)c * hw) + pos];
            }
        }
    }
}
