// Host path of softmax / log-softmax (SIMD over contiguous lines, scalar over strided ones) and of maxout,
// split across cores by HostParallel.
using System;
using System.Numerics;
using System.Numerics.Tensors;
using Engine.Kernels.Activations;
using ILGPU;

namespace Engine.Backends.Cpu;

/// <summary>Managed softmax, log-softmax and maxout over CPU-accelerator buffers.</summary>
internal static unsafe class CpuSoftmax
{
    private const int MinWork = 16384;

    /// <summary>Softmax / log-softmax forward on host memory.</summary>
    public static void Forward(Device device, ArrayView<float> x, ArrayView<float> y, SoftmaxParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
        fixed (float* px = HostViews.Span(x), py = HostViews.Span(y))
        {
            var body = new Body { A = px, B = py, P = p, Backward = false };
            HostParallel.For(p.Outer * p.Inner, ref body, Math.Max(1, MinWork / p.Axis));
        }
    }

    /// <summary>Softmax / log-softmax backward from y and dy on host memory.</summary>
    public static void Backward(Device device, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, SoftmaxParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
        fixed (float* py = HostViews.Span(y), pdy = HostViews.Span(dy), pdx = HostViews.Span(dx))
        {
            var body = new Body { A = py, B = pdy, C = pdx, P = p, Backward = true };
            HostParallel.For(p.Outer * p.Inner, ref body, Math.Max(1, MinWork / p.Axis));
        }
    }

    /// <summary>Softmax / log-softmax tangent (forward mode) from y and the input tangent dx on host memory (see SoftmaxKernels.TangentLine).</summary>
    public static void Tangent(Device device, ArrayView<float> y, ArrayView<float> dx, ArrayView<float> dy, SoftmaxParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
        fixed (float* py = HostViews.Span(y), pdx = HostViews.Span(dx), pdy = HostViews.Span(dy))
        {
            var body = new TangentBody { Y = py, Dx = pdx, Dy = pdy, P = p };
            HostParallel.For(p.Outer * p.Inner, ref body, Math.Max(1, MinWork / p.Axis));
        }
    }

    /// <summary>Maxout tangent (forward mode): dy[o] is dx at the first maximum of x in group o.</summary>
    public static void MaxoutTangent(Device device, ArrayView<float> x, ArrayView<float> dx, ArrayView<float> dy, int pieces)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
        fixed (float* px = HostViews.Span(x), pdx = HostViews.Span(dx), pdy = HostViews.Span(dy))
        {
            var body = new MaxoutBody { X = px, Y = pdy, Dx = pdx, K = pieces, Tangent = true };
            HostParallel.For((int)dy.Length, ref body, Math.Max(1, MinWork / pieces));
        }
    }

    /// <summary>Maxout forward: y[o] = max of x[o k .. o k + k).</summary>
    public static void MaxoutForward(Device device, ArrayView<float> x, ArrayView<float> y, int pieces)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
        fixed (float* px = HostViews.Span(x), py = HostViews.Span(y))
        {
            var body = new MaxoutBody { X = px, Y = py, K = pieces };
            HostParallel.For((int)y.Length, ref body, Math.Max(1, MinWork / pieces));
        }
    }

    /// <summary>Maxout backward: dy[o] goes to the first maximum of its group, zeros elsewhere.</summary>
    public static void MaxoutBackward(Device device, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dx, int pieces)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
        fixed (float* px = HostViews.Span(x), pdy = HostViews.Span(dy), pdx = HostViews.Span(dx))
        {
            var body = new MaxoutBody { X = px, Y = pdy, Dx = pdx, K = pieces, Backward = true };
            HostParallel.For((int)dy.Length, ref body, Math.Max(1, MinWork / pieces));
        }
    }

    private static void ForwardContiguous(ReadOnlySpan<float> x, Span<float> y, bool log)
    {
        float m = TensorPrimitives.Max(x);
        int n = x.Length;
        int w = Vector<float>.Count;
        var vm = new Vector<float>(m);
        var acc = Vector<float>.Zero;
        int i = 0;
        for (; i + w <= n; i += w)
        {
            acc += Vector.Exp(new Vector<float>(x.Slice(i, w)) - vm);
        }

        float s = Vector.Sum(acc);
        for (; i < n; i++)
        {
            s += MathF.Exp(x[i] - m);
        }

        if (log)
        {
            // (x - max) - log(sum): exact differences first, so huge logits keep their small terms.
            TensorPrimitives.Subtract(x, m, y);
            TensorPrimitives.Subtract(y, MathF.Log(s), y);
        }
        else
        {
            TensorPrimitives.Subtract(x, m, y);
            TensorPrimitives.Exp(y, y);
            TensorPrimitives.Multiply(y, 1f / s, y);
        }
    }

    private static void BackwardContiguous(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, bool log)
    {
        int n = y.Length;
        int w = Vector<float>.Count;
        int i = 0;
        if (log)
        {
            var vs = new Vector<float>(TensorPrimitives.Sum(dy));
            for (; i + w <= n; i += w)
            {
                (new Vector<float>(dy.Slice(i, w)) - (Vector.Exp(new Vector<float>(y.Slice(i, w))) * vs)).CopyTo(dx.Slice(i, w));
            }

            for (; i < n; i++)
            {
                dx[i] = dy[i] - (MathF.Exp(y[i]) * vs[0]);
            }

            return;
        }

        float dot = TensorPrimitives.Dot(dy, y);
        var vd = new Vector<float>(dot);
        for (; i + w <= n; i += w)
        {
            (new Vector<float>(y.Slice(i, w)) * (new Vector<float>(dy.Slice(i, w)) - vd)).CopyTo(dx.Slice(i, w));
        }

        for (; i < n; i++)
        {
            dx[i] = y[i] * (dy[i] - dot);
        }
    }

    private static void ForwardStrided(float* x, float* y, long b, int n, int inner, bool log)
    {
        float m = float.NegativeInfinity;
        for (int k = 0; k < n; k++)
        {
            m = MathF.Max(m, x[b + ((long)k * inner)]);
        }

        float s = 0f;
        for (int k = 0; k < n; k++)
        {
            s += MathF.Exp(x[b + ((long)k * inner)] - m);
        }

        float ls = MathF.Log(s);
        float inv = 1f / s;
        for (int k = 0; k < n; k++)
        {
            long i = b + ((long)k * inner);
            y[i] = log ? (x[i] - m) - ls : MathF.Exp(x[i] - m) * inv;
        }
    }

    private static void BackwardStrided(float* y, float* dy, float* dx, long b, int n, int inner, bool log)
    {
        float s = 0f;
        for (int k = 0; k < n; k++)
        {
            long i = b + ((long)k * inner);
            s += log ? dy[i] : dy[i] * y[i];
        }

        for (int k = 0; k < n; k++)
        {
            long i = b + ((long)k * inner);
            dx[i] = log ? dy[i] - (MathF.Exp(y[i]) * s) : y[i] * (dy[i] - s);
        }
    }

    private struct Body : IRangeBody
    {
        public float* A;
        public float* B;
        public float* C;
        public SoftmaxParams P;
        public bool Backward;

        public readonly void Run(int start, int end)
        {
            int n = P.Axis;
            int inner = P.Inner;
            bool log = P.Log != 0;
            for (int line = start; line < end; line++)
            {
                long b = ((long)(line / inner) * n * inner) + (line % inner);
                if (inner == 1 && Backward)
                {
                    BackwardContiguous(new ReadOnlySpan<float>(A + b, n), new ReadOnlySpan<float>(B + b, n), new Span<float>(C + b, n), log);
                }
                else if (inner == 1)
                {
                    ForwardContiguous(new ReadOnlySpan<float>(A + b, n), new Span<float>(B + b, n), log);
                }
                else if (Backward)
                {
                    BackwardStrided(A, B, C, b, n, inner, log);
                }
                else
                {
                    ForwardStrided(A, B, b, n, inner, log);
                }
            }
        }
    }

    private struct TangentBody : IRangeBody
    {
        public float* Y;
        public float* Dx;
        public float* Dy;
        public SoftmaxParams P;

        public readonly void Run(int start, int end)
        {
            int n = P.Axis;
            int inner = P.Inner;
            bool log = P.Log != 0;
            for (int line = start; line < end; line++)
            {
                long b = ((long)(line / inner) * n * inner) + (line % inner);
                float dot = 0f;
                for (int k = 0; k < n; k++)
                {
                    long i = b + ((long)k * inner);
                    dot += (log ? MathF.Exp(Y[i]) : Y[i]) * Dx[i];
                }

                for (int k = 0; k < n; k++)
                {
                    long i = b + ((long)k * inner);
                    Dy[i] = log ? Dx[i] - dot : Y[i] * (Dx[i] - dot);
                }
            }
        }
    }

    /// <summary>Maxout over groups of K: forward writes Y; backward (Y holds dy) scatters into Dx; tangent (Y is dy) gathers from Dx.</summary>
    private struct MaxoutBody : IRangeBody
    {
        public float* X;
        public float* Y;
        public float* Dx;
        public int K;
        public bool Backward;
        public bool Tangent;

        public readonly void Run(int start, int end)
        {
            int k = K;
            for (int o = start; o < end; o++)
            {
                float* g = X + ((long)o * k);
                float m = g[0];
                int arg = 0;
                for (int j = 1; j < k; j++)
                {
                    if (g[j] > m || (float.IsNaN(g[j]) && !float.IsNaN(m)))
                    {
                        m = g[j];
                        arg = j;
                    }
                }

                if (Tangent)
                {
                    Y[o] = Dx[((long)o * k) + arg];
                    continue;
                }

                if (!Backward)
                {
                    Y[o] = m;
                    continue;
                }

                float* d = Dx + ((long)o * k);
                for (int j = 0; j < k; j++)
                {
                    d[j] = j == arg ? Y[o] : 0f;
                }
            }
        }
    }
}
