// Host path of the elementwise activations: one Vector<float> loop generic over the operator struct (its vector
// forms), split across cores by HostParallel for large tensors; the tail of a range runs through the same vector
// code on a padded copy, so every element is computed the same way.
using System;
using System.Numerics;
using Engine.Kernels.Activations;
using ILGPU;

namespace Engine.Backends.Cpu;

/// <summary>Managed SIMD activations over CPU-accelerator buffers, for any <see cref="IActivationOperator"/>.</summary>
internal static unsafe class CpuActivations
{
    // 64K elements (256 KB, a few microseconds): smaller tensors run on the calling thread, where waking a worker costs more than it saves.
    private const int MinChunk = 1 << 16;

    /// <summary>y = f(x) on host memory.</summary>
    public static void Forward<TOp>(Device device, ArrayView<float> x, ArrayView<float> y, ActivationParams p)
        where TOp : struct, IActivationOperator
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
        var xs = HostViews.Span(x);
        var ys = HostViews.Span(y);
        fixed (float* px = xs, py = ys)
        {
            var body = new Body<TOp> { X = px, Y = py, P = p, Backward = false };
            HostParallel.For(xs.Length, ref body, MinChunk);
        }
    }

    /// <summary>dx = dy * f'(x, y) on host memory.</summary>
    public static void Backward<TOp>(Device device, ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, ActivationParams p)
        where TOp : struct, IActivationOperator
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
        var xs = HostViews.Span(x);
        fixed (float* px = xs, py = HostViews.Span(y), pdy = HostViews.Span(dy), pdx = HostViews.Span(dx))
        {
            var body = new Body<TOp> { X = px, Y = py, Dy = pdy, Dx = pdx, P = p, Backward = true };
            HostParallel.For(xs.Length, ref body, MinChunk);
        }
    }

    /// <summary>Forward over n elements (single-threaded): whole vectors, then the tail through a padded copy.</summary>
    public static void ForwardRange<TOp>(float* x, float* y, int n, ActivationParams p)
        where TOp : struct, IActivationOperator
    {
        var op = default(TOp);
        int w = Vector<float>.Count;
        int i = 0;
        for (; i + w <= n; i += w)
        {
            op.Forward(Vector.Load(x + i), p).Store(y + i);
        }

        if (i < n)
        {
            float* t = stackalloc float[Vector<float>.Count];
            new Span<float>(t, w).Clear();
            new ReadOnlySpan<float>(x + i, n - i).CopyTo(new Span<float>(t, w));
            op.Forward(Vector.Load(t), p).Store(t);
            new ReadOnlySpan<float>(t, n - i).CopyTo(new Span<float>(y + i, n - i));
        }
    }

    /// <summary>
    /// Backward over n elements (single-threaded): dx = dy * f', reading only the tensor the operator's derivative
    /// needs (<paramref name="saved"/> is x or y).
    /// </summary>
    public static void BackwardRange<TOp>(float* saved, float* dy, float* dx, int n, ActivationParams p)
        where TOp : struct, IActivationOperator
    {
        var op = default(TOp);
        int w = Vector<float>.Count;
        int i = 0;
        for (; i + w <= n; i += w)
        {
            var s = Vector.Load(saved + i);
            (op.Derivative(s, s, p) * Vector.Load(dy + i)).Store(dx + i);
        }

        if (i < n)
        {
            float* t = stackalloc float[Vector<float>.Count * 2];
            new Span<float>(t, 2 * w).Clear();
            new ReadOnlySpan<float>(saved + i, n - i).CopyTo(new Span<float>(t, w));
            new ReadOnlySpan<float>(dy + i, n - i).CopyTo(new Span<float>(t + w, w));
            var s = Vector.Load(t);
            (op.Derivative(s, s, p) * Vector.Load(t + w)).Store(t);
            new ReadOnlySpan<float>(t, n - i).CopyTo(new Span<float>(dx + i, n - i));
        }
    }

    private struct Body<TOp> : IRangeBody
        where TOp : struct, IActivationOperator
    {
        public float* X;
        public float* Y;
        public float* Dy;
        public float* Dx;
        public ActivationParams P;
        public bool Backward;

        public readonly void Run(int start, int end)
        {
            int n = end - start;
            if (Backward)
            {
                // The operator's derivative reads x or y, never both (it gets the same lanes twice).
                float* saved = default(TOp).DerivativeReads == ActivationInput.Output ? Y : X;
                BackwardRange<TOp>(saved + start, Dy + start, Dx + start, n, P);
            }
            else
            {
                ForwardRange<TOp>(X + start, Y + start, n, P);
            }
        }
    }
}
