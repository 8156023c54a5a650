// Host (managed) pooling for the CPU device: every op works plane by plane, parallel over planes via HostParallel,
// so backward passes scatter within a plane without atomics.
using System;
using System.Numerics.Tensors;
using Engine.Kernels.Pool;
using ILGPU;

namespace Engine.Backends.Cpu;

/// <summary>Managed versions of <see cref="PoolKernels"/> over CPU-accelerator buffers (same layouts and semantics).</summary>
internal static unsafe partial class CpuPool
{
    private const long ParallelWork = 1 << 15;

    private enum Kind
    {
        MaxForward,
        MaxBackward,
        AvgForward,
        AvgBackward,
        LpForward,
        LpBackward,
        GlobalForward,
        GlobalBackward,
        MaxTangent,
        LpTangent,
    }

    /// <summary>Max pooling forward (see <see cref="PoolKernels.MaxForward"/>).</summary>
    public static void MaxForward(Device device, PoolParams p, ArrayView<float> x, ArrayView<float> y, ArrayView<float> indices) =>
        Run(device, Kind.MaxForward, p, x, y, indices);

    /// <summary>Max pooling backward (see <see cref="PoolKernels.MaxBackward"/>).</summary>
    public static void MaxBackward(Device device, PoolParams p, ArrayView<float> dy, ArrayView<float> indices, ArrayView<float> dx) =>
        Run(device, Kind.MaxBackward, p, dy, dx, indices);

    /// <summary>Average pooling forward (see <see cref="PoolKernels.AvgForward"/>).</summary>
    public static void AvgForward(Device device, PoolParams p, ArrayView<float> x, ArrayView<float> y) => Run(device, Kind.AvgForward, p, x, y, default);

    /// <summary>Average pooling backward (see <see cref="PoolKernels.AvgBackward"/>).</summary>
    public static void AvgBackward(Device device, PoolParams p, ArrayView<float> dy, ArrayView<float> dx) => Run(device, Kind.AvgBackward, p, dy, dx, default);

    /// <summary>Power-average pooling forward (see <see cref="PoolKernels.LpForward"/>).</summary>
    public static void LpForward(Device device, PoolParams p, ArrayView<float> x, ArrayView<float> y) => Run(device, Kind.LpForward, p, x, y, default);

    /// <summary>Power-average pooling backward (see <see cref="PoolKernels.LpBackward"/>).</summary>
    public static void LpBackward(Device device, PoolParams p, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dx) =>
        Run(device, Kind.LpBackward, p, dy, dx, x);

    /// <summary>Tangent of max pooling and of every pooling that saves indices: dy[o] = dx[indices[o]] within the plane (see <see cref="PoolKernels.MaxTangent"/>).</summary>
    public static void MaxTangent(Device device, PoolParams p, ArrayView<float> dx, ArrayView<float> indices, ArrayView<float> dy) =>
        Run(device, Kind.MaxTangent, p, dx, dy, indices);

    /// <summary>Tangent of power-average pooling (see <see cref="PoolKernels.LpTangent"/>).</summary>
    public static void LpTangent(Device device, PoolParams p, ArrayView<float> x, ArrayView<float> dx, ArrayView<float> dy) =>
        Run(device, Kind.LpTangent, p, x, dy, dx);

    /// <summary>Global average pooling forward: y[plane] = mean of the plane.</summary>
    public static void GlobalAvgForward(Device device, PoolParams p, ArrayView<float> x, ArrayView<float> y) => Run(device, Kind.GlobalForward, p, x, y, default);

    /// <summary>Global average pooling backward: dx[plane, :] = Beta * dx + dy[plane] / (H * W).</summary>
    public static void GlobalAvgBackward(Device device, PoolParams p, ArrayView<float> dy, ArrayView<float> dx) => Run(device, Kind.GlobalBackward, p, dy, dx, default);

    private static void Run(Device device, Kind kind, PoolParams p, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
        fixed (float* pa = HostViews.Span(a), pb = HostViews.Span(b), pc = HostViews.Span(c))
        {
            var body = new PlaneBody { Kind = kind, P = p, A = pa, B = pb, C = pc };
            long work = (long)p.Planes * Math.Max((long)p.Height * p.Width, (long)p.OutH * p.OutW * p.KernelH * p.KernelW);
            HostParallel.For(p.Planes, ref body, work < ParallelWork ? Math.Max(p.Planes, 1) : 1);
        }
    }

    private static float Pow(float x, float e) => e == 1f ? x : e == 2f ? x * x : MathF.Pow(x, e);

    /// <summary>
    /// One plane of one op. A is the op's first input (x, or dy for backward, dx for the max tangent), B its output
    /// (y, dx, or the tangent dy), C the third buffer (max: indices; lp backward: x; lp tangent: dx).
    /// </summary>
    private struct PlaneBody : IRangeBody
    {
        public Kind Kind;
        public PoolParams P;
        public float* A;
        public float* B;
        public float* C;

        public readonly void Run(int start, int end)
        {
            int hw = P.Height * P.Width, ohw = P.OutH * P.OutW;
            bool fast = MaxPool2x2.Applies(P);
            for (int plane = start; plane < end; plane++)
            {
                long inBase = (long)plane * hw, outBase = (long)plane * ohw;
                switch (Kind)
                {
                    case Kind.MaxForward when fast: MaxPool2x2.Forward(A + inBase, B + outBase, C + outBase, P.Height, P.Width, P.OutH, P.OutW); break;
                    case Kind.MaxForward: MaxForward(A + inBase, B + outBase, C + outBase); break;
                    case Kind.MaxBackward when fast: MaxPool2x2.Backward(A + outBase, C + outBase, B + inBase, P.Height, P.Width, P.OutH, P.OutW, P.Beta); break;
                    case Kind.MaxBackward: Backward(A + outBase, B + inBase, C + outBase, null); break;
                    case Kind.AvgForward: Forward(A + inBase, B + outBase, average: true); break;
                    case Kind.AvgBackward: Backward(A + outBase, B + inBase, null, null); break;
                    case Kind.LpForward: Forward(A + inBase, B + outBase, average: false); break;
                    case Kind.LpBackward: Backward(A + outBase, B + inBase, null, C + inBase); break;
                    case Kind.GlobalForward: B[plane] = TensorPrimitives.Sum(new ReadOnlySpan<float>(A + inBase, hw)) * (1f / hw); break;
                    case Kind.MaxTangent:
                        for (int o = 0; o < ohw; o++)
                        {
                            B[outBase + o] = A[inBase + (int)C[outBase + o]];
                        }

                        break;
                    case Kind.LpTangent: LpTangent(A + inBase, C + inBase, B + outBase); break;
                    case Kind.GlobalBackward:
                        var dx = new Span<float>(B + inBase, hw);
                        float g = A[plane] / hw;
                        if (P.Beta == 0f)
                        {
                            dx.Fill(g);
                        }
                        else
                        {
                            TensorPrimitives.Add(dx, g, dx);
                        }

                        break;
                    default:
                        throw new InvalidOperationException($"Unknown pooling kind {Kind}.");
                }
            }
        }

        /// <summary>One plane of the lp tangent: dy = s^(1/p - 1) sum x^(p-1) dx over each window, 0 where s = 0.</summary>
        private readonly void LpTangent(float* x, float* dx, float* dy)
        {
            int width = P.Width;
            float norm = P.NormType;
            for (int oh = 0; oh < P.OutH; oh++)
            {
                for (int ow = 0; ow < P.OutW; ow++)
                {
                    Window(oh, ow, out int hs, out int he, out int ws, out int we, out _);
                    float s = 0f, sum = 0f;
                    for (int h = hs; h < he; h++)
                    {
                        for (int w = ws; w < we; w++)
                        {
                            float v = x[(h * width) + w];
                            s += Pow(v, norm);
                            sum += Pow(v, norm - 1f) * dx[(h * width) + w];
                        }
                    }

                    dy[(oh * P.OutW) + ow] = s == 0f ? 0f : sum * Pow(s, (1f / norm) - 1f);
                }
            }
        }

        private readonly void Window(int oh, int ow, out int hs, out int he, out int ws, out int we, out int area)
        {
            hs = (oh * P.StrideH) - P.PadH;
            ws = (ow * P.StrideW) - P.PadW;
            area = (Math.Min(hs + P.KernelH, P.Height + P.PadH) - hs) * (Math.Min(ws + P.KernelW, P.Width + P.PadW) - ws);
            he = Math.Min(hs + P.KernelH, P.Height);
            we = Math.Min(ws + P.KernelW, P.Width);
            hs = Math.Max(hs, 0);
            ws = Math.Max(ws, 0);
        }

        private readonly void MaxForward(float* x, float* y, float* indices)
        {
            int width = P.Width;
            for (int oh = 0; oh < P.OutH; oh++)
            {
                for (int ow = 0; ow < P.OutW; ow++)
                {
                    Window(oh, ow, out int hs, out int he, out int ws, out int we, out _);
                    int best = (hs * width) + ws;
                    float max = float.NegativeInfinity;
                    for (int h = hs; h < he; h++)
                    {
                        for (int w = ws; w < we; w++)
                        {
                            float v = x[(h * width) + w];
                            bool take = v > max || float.IsNaN(v);
                            max = take ? v : max;
                            best = take ? (h * width) + w : best;
                        }
                    }

                    y[(oh * P.OutW) + ow] = max;
                    indices[(oh * P.OutW) + ow] = best;
                }
            }
        }

        private readonly void Forward(float* x, float* y, bool average)
        {
            int width = P.Width;
            float norm = P.NormType;
            for (int oh = 0; oh < P.OutH; oh++)
            {
                for (int ow = 0; ow < P.OutW; ow++)
                {
                    Window(oh, ow, out int hs, out int he, out int ws, out int we, out int area);
                    float s = 0f;
                    for (int h = hs; h < he; h++)
                    {
                        var row = new ReadOnlySpan<float>(x + (h * width) + ws, we - ws);
                        if (average)
                        {
                            s += TensorPrimitives.Sum(row);
                        }
                        else
                        {
                            foreach (float v in row)
                            {
                                s += Pow(v, norm);
                            }
                        }
                    }

                    y[(oh * P.OutW) + ow] = average ? s / area : Pow(s, 1f / norm);
                }
            }
        }

        /// <summary>Max (indices given), Lp (x given) or average (neither) backward of one plane, scattering dy.</summary>
        private readonly void Backward(float* dy, float* dx, float* indices, float* x)
        {
            int width = P.Width;
            float norm = P.NormType, exponent = (1f / norm) - 1f;
            if (P.Beta == 0f)
            {
                new Span<float>(dx, P.Height * width).Clear();
            }

            for (int oh = 0; oh < P.OutH; oh++)
            {
                for (int ow = 0; ow < P.OutW; ow++)
                {
                    int o = (oh * P.OutW) + ow;
                    if (indices != null)
                    {
                        dx[(int)indices[o]] += dy[o];
                        continue;
                    }

                    Window(oh, ow, out int hs, out int he, out int ws, out int we, out int area);
                    if (x == null)
                    {
                        float g = dy[o] / area;
                        for (int h = hs; h < he; h++)
                        {
                            var row = new Span<float>(dx + (h * width) + ws, we - ws);
                            TensorPrimitives.Add(row, g, row);
                        }

                        continue;
                    }

                    float s = 0f;
                    for (int h = hs; h < he; h++)
                    {
                        for (int w = ws; w < we; w++)
                        {
                            s += Pow(x[(h * width) + w], norm);
                        }
                    }

                    if (s == 0f)
                    {
                        continue;
                    }

                    float coef = dy[o] * Pow(s, exponent);
                    for (int h = hs; h < he; h++)
                    {
                        for (int w = ws; w < we; w++)
                        {
                            dx[(h * width) + w] += coef * Pow(x[(h * width) + w], norm - 1f);
                        }
                    }
                }
            }
        }
    }
}
