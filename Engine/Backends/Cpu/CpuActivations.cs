// Host path of the elementwise activations: one Vector<float> loop generic over the operator struct (its vector
// forms), split across cores by HostParallel for large tensors; the tail of a span runs through the same vector
// code on a padded copy, so every element is computed the same way.
using System;
using System.Numerics;
using Engine.Kernels.Activations;
using ILGPU;

namespace Engine.Backends.Cpu;

/// <summary>Managed SIMD activations over CPU-accelerator buffers, for any <see cref="IActivationOperator"/>.</summary>
internal static unsafe class CpuActivations
{
    private const int MinChunk = 16384;

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

    /// <summary>Forward over a span pair (single-threaded).</summary>
    public static void ForwardSpan<TOp>(ReadOnlySpan<float> x, Span<float> y, ActivationParams p)
        where TOp : struct, IActivationOperator
    {
        var op = default(TOp);
        int n = x.Length;
        int w = Vector<float>.Count;
        int i = 0;
        for (; i + w <= n; i += w)
        {
            op.Forward(new Vector<float>(x.Slice(i, w)), p).CopyTo(y.Slice(i, w));
        }

        if (i < n)
        {
            Span<float> tmp = stackalloc float[Vector<float>.Count];
            tmp.Clear();
            x[i..].CopyTo(tmp);
            op.Forward(new Vector<float>(tmp), p).CopyTo(tmp);
            tmp[..(n - i)].CopyTo(y[i..]);
        }
    }

    /// <summary>Backward over spans (single-threaded); reads only the tensor the operator's derivative needs.</summary>
    public static void BackwardSpan<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, ActivationParams p)
        where TOp : struct, IActivationOperator
    {
        var op = default(TOp);
        var saved = op.DerivativeReads == ActivationInput.Output ? y : x;
        int n = x.Length;
        int w = Vector<float>.Count;
        int i = 0;
        for (; i + w <= n; i += w)
        {
            var s = new Vector<float>(saved.Slice(i, w));
            (Derivative(op, s, p) * new Vector<float>(dy.Slice(i, w))).CopyTo(dx.Slice(i, w));
        }

        if (i < n)
        {
            Span<float> t = stackalloc float[Vector<float>.Count * 2];
            t.Clear();
            saved[i..].CopyTo(t);
            dy[i..].CopyTo(t[w..]);
            (Derivative(op, new Vector<float>(t[..w]), p) * new Vector<float>(t.Slice(w, w))).CopyTo(t);
            t[..(n - i)].CopyTo(dx[i..]);
        }
    }

    // The operator's derivative with the saved tensor in the argument it reads (the other gets the same lanes).
    private static Vector<float> Derivative<TOp>(TOp op, Vector<float> saved, ActivationParams p)
        where TOp : struct, IActivationOperator => op.Derivative(saved, saved, p);

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
                BackwardSpan<TOp>(new ReadOnlySpan<float>(X + start, n), new ReadOnlySpan<float>(Y + start, n), new ReadOnlySpan<float>(Dy + start, n), new Span<float>(Dx + start, n), P);
            }
            else
            {
                ForwardSpan<TOp>(new ReadOnlySpan<float>(X + start, n), new Span<float>(Y + start, n), P);
            }
        }
    }
}
