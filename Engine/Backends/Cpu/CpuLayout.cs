// Host path of the channel-layout ops: the same index maps as Kernels/Elementwise/LayoutKernels, over rows of the
// output spread across cores.
using Engine.Kernels.Elementwise;

namespace Engine.Backends.Cpu;

/// <summary>Managed (N, C, S) &lt;-&gt; (N S, C) permutes and one-hot expansion over CPU-accelerator buffers.</summary>
internal static unsafe class CpuLayout
{
    private const int RowsPerChunk = 256;

    private enum Kind
    {
        ToLast,
        ToFirst,
        OneHot,
    }

    /// <summary>x (N, C, S) to y (N S, C).</summary>
    public static void ToChannelsLast(Tensor x, Tensor y, LayoutParams p) => Run(Kind.ToLast, x, y, p);

    /// <summary>y (N S, C) to x (N, C, S).</summary>
    public static void ToChannelsFirst(Tensor y, Tensor x, LayoutParams p) => Run(Kind.ToFirst, y, x, p);

    /// <summary>indices (N, S) to one-hot y (N, C, S).</summary>
    public static void OneHot(Tensor indices, Tensor y, LayoutParams p) => Run(Kind.OneHot, indices, y, p);

    private static void Run(Kind kind, Tensor src, Tensor dst, LayoutParams p)
    {
        dst.Device.Synchronize();
        var body = new Body { Src = HostSimd.Ptr(src), Dst = HostSimd.Ptr(dst), P = p, Kind = kind };
        HostParallel.For(p.N * p.S, ref body, RowsPerChunk);
    }

    /// <summary>Works on positions r = n S + s: all C channels of one position per index.</summary>
    private struct Body : IRangeBody
    {
        public float* Src;
        public float* Dst;
        public LayoutParams P;
        public Kind Kind;

        public readonly void Run(int start, int end)
        {
            int c = P.C, s = P.S;
            for (int r = start; r < end; r++)
            {
                int n = r / s, at = r - (n * s);
                long first = ((long)n * c * s) + at;   // (n, 0, at) in the channels-first layout; channel k adds k S
                float* row = Kind == Kind.ToFirst ? Src + ((long)r * c) : Dst + ((long)r * c);
                switch (Kind)
                {
                    case Kind.ToLast:
                        for (int k = 0; k < c; k++)
                        {
                            row[k] = Src[first + ((long)k * s)];
                        }

                        break;
                    case Kind.ToFirst:
                        for (int k = 0; k < c; k++)
                        {
                            Dst[first + ((long)k * s)] = row[k];
                        }

                        break;
                    default:
                        float y = Src[r];
                        for (int k = 0; k < c; k++)
                        {
                            Dst[first + ((long)k * s)] = y == k ? 1f : 0f;
                        }

                        break;
                }
            }
        }
    }
}
