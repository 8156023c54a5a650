// Host median pooling: per window, a stable insertion sort of (value, position) in a stack buffer picks the element
// of rank (k - 1) / 2 (PyTorch's median; the first NaN when there is one), planes in parallel. Large windows count
// ranks instead, as the kernel does, so the stack stays small.
using System;
using Engine.Kernels.Pool;
using ILGPU;

namespace Engine.Backends.Cpu;

/// <summary>Median pooling forward on the host (the backward is max pooling's, through the saved indices).</summary>
internal static unsafe partial class CpuPool
{
    private const int MaxSortedWindow = 1024;

    /// <summary>Median pooling forward (see <see cref="MedianPoolKernels.Forward"/>).</summary>
    public static void MedianForward(Device device, PoolParams p, ArrayView<float> x, ArrayView<float> y, ArrayView<float> indices)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
        fixed (float* px = HostViews.Span(x), py = HostViews.Span(y), pi = HostViews.Span(indices))
        {
            var body = new MedianBody { X = px, Y = py, Indices = pi, P = p };
            long work = (long)p.Planes * p.OutH * p.OutW * p.KernelH * p.KernelW;
            HostParallel.For(p.Planes, ref body, work < ParallelWork ? Math.Max(p.Planes, 1) : 1);
        }
    }

    private struct MedianBody : IRangeBody
    {
        public float* X, Y, Indices;
        public PoolParams P;

        public readonly void Run(int start, int end)
        {
            int kh = P.KernelH, kw = P.KernelW, k = kh * kw, width = P.Width;
            bool sort = k <= MaxSortedWindow;
            float* vals = stackalloc float[sort ? k : 1];
            int* pos = stackalloc int[sort ? k : 1];
            for (int plane = start; plane < end; plane++)
            {
                float* x = X + ((long)plane * P.Height * width);
                long o = (long)plane * P.OutH * P.OutW;
                for (int oh = 0; oh < P.OutH; oh++)
                {
                    for (int ow = 0; ow < P.OutW; ow++, o++)
                    {
                        int origin = (oh * P.StrideH * width) + (ow * P.StrideW);
                        int best = FirstNaN(x + origin);
                        if (best < 0)
                        {
                            best = sort ? Sorted(x + origin, vals, pos) : Counted(x + origin);
                        }

                        Y[o] = x[origin + best];
                        Indices[o] = origin + best;
                    }
                }
            }
        }

        private readonly int FirstNaN(float* w)
        {
            for (int h = 0; h < P.KernelH; h++)
            {
                for (int c = 0; c < P.KernelW; c++)
                {
                    if (float.IsNaN(w[(h * P.Width) + c]))
                    {
                        return (h * P.Width) + c;
                    }
                }
            }

            return -1;
        }

        // Stable insertion sort: an element moves only past strictly greater ones, so ties keep scan order.
        private readonly int Sorted(float* w, float* vals, int* pos)
        {
            int n = 0;
            for (int h = 0; h < P.KernelH; h++)
            {
                for (int c = 0; c < P.KernelW; c++, n++)
                {
                    float v = w[(h * P.Width) + c];
                    int j = n;
                    for (; j > 0 && vals[j - 1] > v; j--)
                    {
                        vals[j] = vals[j - 1];
                        pos[j] = pos[j - 1];
                    }

                    vals[j] = v;
                    pos[j] = (h * P.Width) + c;
                }
            }

            return pos[(n - 1) / 2];
        }

        private readonly int Counted(float* w)
        {
            int k = P.KernelH * P.KernelW, rank = (k - 1) / 2;
            for (int a = 0; a < k; a++)
            {
                float va = w[((a / P.KernelW) * P.Width) + (a % P.KernelW)];
                int before = 0;
                for (int b = 0; b < k; b++)
                {
                    float vb = w[((b / P.KernelW) * P.Width) + (b % P.KernelW)];
                    before += vb < va || (vb == va && b < a) ? 1 : 0;
                }

                if (before == rank)
                {
                    return ((a / P.KernelW) * P.Width) + (a % P.KernelW);
                }
            }

            throw new InvalidOperationException("median_pool2d: no window element has the middle rank (unreachable without NaN).");
        }
    }
}
