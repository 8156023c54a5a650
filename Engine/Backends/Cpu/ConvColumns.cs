// im2col and col2im of one image (or one group of its channels) on the calling thread, for the host convolution
// that gives each thread its own images: stride-1 convolutions whose rows keep their width copy whole shifted
// planes instead of row pieces, which matters for small images (14 x 14 rows are 14 floats long).
using System;
using System.Numerics.Tensors;
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
}
