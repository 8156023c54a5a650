// Host path of the elementwise activations and maxout: Vector<float> loops (TensorPrimitives where it has the
// function), split across cores by HostParallel for large tensors.
using System;
using System.Numerics;
using System.Numerics.Tensors;
using Engine.Kernels.Activations;
using ILGPU;

namespace Engine.Backends.Cpu;

/// <summary>Managed SIMD activations over CPU-accelerator buffers.</summary>
public static unsafe class CpuActivations
{
    private const int MinChunk = 16384;

    /// <summary>y = f(x) on host memory.</summary>
    public static void Forward(Device device, ArrayView<float> x, ArrayView<float> y, ActivationParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
        var xs = HostViews.Span(x);
        var ys = HostViews.Span(y);
        fixed (float* px = xs, py = ys)
        {
            var body = new Body { X = px, Y = py, P = p, Backward = false };
            HostParallel.For(xs.Length, ref body, MinChunk);
        }
    }

    /// <summary>dx = dy * f'(x, y) on host memory.</summary>
    public static void Backward(Device device, ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, ActivationParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
        var xs = HostViews.Span(x);
        fixed (float* px = xs, py = HostViews.Span(y), pdy = HostViews.Span(dy), pdx = HostViews.Span(dx))
        {
            var body = new Body { X = px, Y = py, Dy = pdy, Dx = pdx, P = p, Backward = true };
            HostParallel.For(xs.Length, ref body, MinChunk);
        }
    }

    /// <summary>Forward over a span pair (single-threaded), for tests and other host code.</summary>
    public static void ForwardSpan(ReadOnlySpan<float> x, Span<float> y, ActivationParams p)
    {
        switch (p.Kind)
        {
            case ActivationCodes.Sigmoid:
                TensorPrimitives.Sigmoid(x, y);
                return;
            case ActivationCodes.Tanh:
                TensorPrimitives.Tanh(x, y);
                return;
            case ActivationCodes.Relu:
                TensorPrimitives.Max(x, 0f, y);
                return;
        }

        int n = x.Length;
        int w = Vector<float>.Count;
        int i = 0;
        for (; i + w <= n; i += w)
        {
            Fwd(new Vector<float>(x.Slice(i, w)), p).CopyTo(y.Slice(i, w));
        }

        if (i < n)
        {
            Span<float> tmp = stackalloc float[Vector<float>.Count];
            tmp.Clear();
            x[i..].CopyTo(tmp);
            Fwd(new Vector<float>(tmp), p).CopyTo(tmp);
            tmp[..(n - i)].CopyTo(y[i..]);
        }
    }

    /// <summary>Backward over spans (single-threaded).</summary>
    public static void BackwardSpan(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, ActivationParams p)
    {
        int n = x.Length;
        int w = Vector<float>.Count;
        int i = 0;
        if (p.Kind == ActivationCodes.Relu)
        {
            // Memory-bound: read only x and dy (dx = dy * (x > 0 ? 1 : 0), exactly as Deriv).
            for (; i + w <= n; i += w)
            {
                var pos = Vector.GreaterThan(new Vector<float>(x.Slice(i, w)), Vector<float>.Zero);
                (Vector.ConditionalSelect(pos, Vector<float>.One, Vector<float>.Zero) * new Vector<float>(dy.Slice(i, w))).CopyTo(dx.Slice(i, w));
            }

            for (; i < n; i++)
            {
                dx[i] = (x[i] > 0f ? 1f : 0f) * dy[i];
            }

            return;
        }

        for (; i + w <= n; i += w)
        {
            var d = Deriv(new Vector<float>(x.Slice(i, w)), new Vector<float>(y.Slice(i, w)), p);
            (d * new Vector<float>(dy.Slice(i, w))).CopyTo(dx.Slice(i, w));
        }

        if (i < n)
        {
            Span<float> tx = stackalloc float[Vector<float>.Count * 3];
            tx.Clear();
            int r = n - i;
            x[i..].CopyTo(tx);
            y[i..].CopyTo(tx[w..]);
            dy[i..].CopyTo(tx[(2 * w)..]);
            var d = Deriv(new Vector<float>(tx[..w]), new Vector<float>(tx.Slice(w, w)), p) * new Vector<float>(tx.Slice(2 * w, w));
            d.CopyTo(tx);
            tx[..r].CopyTo(dx[i..]);
        }
    }

    private static Vector<float> Sigmoid(Vector<float> x) => Vector<float>.One / (Vector<float>.One + Vector.Exp(-x));

    private static Vector<float> Fwd(Vector<float> x, ActivationParams p)
    {
        var zero = Vector<float>.Zero;
        var pos = Vector.GreaterThan(x, zero);
        switch (p.Kind)
        {
            case ActivationCodes.LeakyRelu:
                return Vector.ConditionalSelect(pos, x, x * p.Alpha);
            case ActivationCodes.Elu:
                return Vector.ConditionalSelect(pos, x, (Vector.Exp(Vector.Min(x, zero)) - Vector<float>.One) * p.Alpha);
            case ActivationCodes.GeluErf:
                return x * NormalCdf(x);
            case ActivationCodes.GeluTanh:
                return x * Sigmoid(2f * ActivationMath.SqrtTwoOverPi * (x + (ActivationMath.GeluKappa * x * x * x)));
            case ActivationCodes.Swish:
                return x * Sigmoid(x * p.Beta);
            default:
                {
                    var u = x * p.Beta;
                    return Vector.ConditionalSelect(Vector.GreaterThan(u, new Vector<float>(p.Threshold)), x, SoftplusUnit(u) / p.Beta);
                }
        }
    }

    private static Vector<float> Deriv(Vector<float> x, Vector<float> y, ActivationParams p)
    {
        var zero = Vector<float>.Zero;
        var one = Vector<float>.One;
        var pos = Vector.GreaterThan(x, zero);
        switch (p.Kind)
        {
            case ActivationCodes.Sigmoid:
                return y * (one - y);
            case ActivationCodes.Tanh:
                return one - (y * y);
            case ActivationCodes.Relu:
                return Vector.ConditionalSelect(pos, one, zero);
            case ActivationCodes.LeakyRelu:
                return Vector.ConditionalSelect(pos, one, new Vector<float>(p.Alpha));
            case ActivationCodes.Elu:
                return Vector.ConditionalSelect(pos, one, Vector.Exp(Vector.Min(x, zero)) * p.Alpha);
            case ActivationCodes.GeluErf:
                return NormalCdf(x) + (x * ActivationMath.InvSqrtTwoPi * Vector.Exp(x * x * -0.5f));
            case ActivationCodes.GeluTanh:
                {
                    var x2 = x * x;
                    var s = Sigmoid(2f * ActivationMath.SqrtTwoOverPi * (x + (ActivationMath.GeluKappa * x2 * x)));
                    return s + (2f * ActivationMath.SqrtTwoOverPi * x * s * (one - s) * (one + (3f * ActivationMath.GeluKappa * x2)));
                }

            case ActivationCodes.Swish:
                {
                    var s = Sigmoid(x * p.Beta);
                    return s + (p.Beta * x * s * (one - s));
                }

            default:
                {
                    var u = x * p.Beta;
                    return Vector.ConditionalSelect(Vector.GreaterThan(u, new Vector<float>(p.Threshold)), one, Sigmoid(u));
                }
        }
    }

    // Phi(x) = erfc(-x / sqrt 2) / 2 with Numerical Recipes' erfcc (as ActivationMath.Erfc).
    private static Vector<float> NormalCdf(Vector<float> x)
    {
        var v = x * -ActivationMath.InvSqrtTwo;
        var z = Vector.Abs(v);
        var t = Vector<float>.One / (Vector<float>.One + (0.5f * z));
        var poly = new Vector<float>(0.17087277f);
        poly = (poly * t) + new Vector<float>(-0.82215223f);
        poly = (poly * t) + new Vector<float>(1.48851587f);
        poly = (poly * t) + new Vector<float>(-1.13520398f);
        poly = (poly * t) + new Vector<float>(0.27886807f);
        poly = (poly * t) + new Vector<float>(-0.18628806f);
        poly = (poly * t) + new Vector<float>(0.09678418f);
        poly = (poly * t) + new Vector<float>(0.37409196f);
        poly = (poly * t) + new Vector<float>(1.00002368f);
        poly = (poly * t) + new Vector<float>(-1.26551223f);
        var r = t * Vector.Exp((-z * z) + poly);
        var erfc = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(v, Vector<float>.Zero), r, new Vector<float>(2f) - r);
        return 0.5f * erfc;
    }

    // log(1 + e^u) = max(u, 0) + log1p(e^-|u|), log1p(z) = log(w) z / (w - 1) with w = 1 + z (exact when w == 1).
    private static Vector<float> SoftplusUnit(Vector<float> u)
    {
        var z = Vector.Exp(-Vector.Abs(u));
        var w = Vector<float>.One + z;
        var log1p = Vector.ConditionalSelect(Vector.Equals(w, Vector<float>.One), z, Vector.Log(w) * z / (w - Vector<float>.One));
        return Vector.Max(u, Vector<float>.Zero) + log1p;
    }

    private struct Body : IRangeBody
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
                BackwardSpan(new ReadOnlySpan<float>(X + start, n), new ReadOnlySpan<float>(Y + start, n), new ReadOnlySpan<float>(Dy + start, n), new Span<float>(Dx + start, n), P);
            }
            else
            {
                ForwardSpan(new ReadOnlySpan<float>(X + start, n), new Span<float>(Y + start, n), P);
            }
        }
    }
}
