// Small fused SIMD loops (Vector<float>) the host normalization paths need and TensorPrimitives lacks.
using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Engine.Backends.Cpu;

/// <summary>Fused vector loops over spans; each has a scalar tail, so short spans (even length 1) are fine.</summary>
internal static class HostSimd
{
    /// <summary>
    /// Sum of (x - m)^2, accumulated in float lanes per call (four independent vector accumulators, so the adds do not
    /// wait on each other) and returned as double.
    /// </summary>
    public static double SumSquaredDiff(ReadOnlySpan<float> x, float m)
    {
        int i = 0;
        double total = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var vm = new Vector<float>(m);
            Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
            var xv = MemoryMarshal.Cast<float, Vector<float>>(x);
            int v = 0;
            for (; v + 4 <= xv.Length; v += 4)
            {
                var d0 = xv[v] - vm;
                var d1 = xv[v + 1] - vm;
                var d2 = xv[v + 2] - vm;
                var d3 = xv[v + 3] - vm;
                a0 += d0 * d0;
                a1 += d1 * d1;
                a2 += d2 * d2;
                a3 += d3 * d3;
            }

            for (; v < xv.Length; v++)
            {
                var d = xv[v] - vm;
                a0 += d * d;
            }

            total = Vector.Sum((a0 + a1) + (a2 + a3));
            i = xv.Length * Vector<float>.Count;
        }

        for (; i < x.Length; i++)
        {
            float d = x[i] - m;
            total += d * d;
        }

        return total;
    }

    /// <summary>Sum of dy * (x - m), with four independent vector accumulators.</summary>
    public static double DotDiff(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float m) => SumAndDotDiff(dy, x, m, out _);

    /// <summary>
    /// Sum of dy * (x - m), and in <paramref name="sumDy"/> the sum of dy, in one sweep (batch norm's backward sums);
    /// float lanes per call (four independent accumulators each), returned as double.
    /// </summary>
    public static double SumAndDotDiff(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float m, out double sumDy)
    {
        int i = 0;
        double total = 0, sum = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var vm = new Vector<float>(m);
            Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector<float> s0 = default, s1 = default, s2 = default, s3 = default;
            var xv = MemoryMarshal.Cast<float, Vector<float>>(x);
            var gv = MemoryMarshal.Cast<float, Vector<float>>(dy);
            int v = 0;
            for (; v + 4 <= xv.Length; v += 4)
            {
                var g0 = gv[v];
                var g1 = gv[v + 1];
                var g2 = gv[v + 2];
                var g3 = gv[v + 3];
                a0 += g0 * (xv[v] - vm);
                a1 += g1 * (xv[v + 1] - vm);
                a2 += g2 * (xv[v + 2] - vm);
                a3 += g3 * (xv[v + 3] - vm);
                s0 += g0;
                s1 += g1;
                s2 += g2;
                s3 += g3;
            }

            for (; v < xv.Length; v++)
            {
                a0 += gv[v] * (xv[v] - vm);
                s0 += gv[v];
            }

            total = Vector.Sum((a0 + a1) + (a2 + a3));
            sum = Vector.Sum((s0 + s1) + (s2 + s3));
            i = xv.Length * Vector<float>.Count;
        }

        for (; i < x.Length; i++)
        {
            total += dy[i] * (x[i] - m);
            sum += dy[i];
        }

        sumDy = sum;
        return total;
    }

    /// <summary>y = (x - m) * a + b (y may be x).</summary>
    public static void AffineDiff(ReadOnlySpan<float> x, float m, float a, float b, Span<float> y)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var vm = new Vector<float>(m);
            var va = new Vector<float>(a);
            var vb = new Vector<float>(b);
            var xv = MemoryMarshal.Cast<float, Vector<float>>(x);
            var yv = MemoryMarshal.Cast<float, Vector<float>>(y);
            for (int v = 0; v < xv.Length; v++)
            {
                yv[v] = Affine(xv[v], vm, va, vb);
            }

            i = xv.Length * Vector<float>.Count;
        }

        for (; i < x.Length; i++)
        {
            y[i] = Affine(x[i], m, a, b);
        }
    }

    /// <summary>dx = k * (g - c0 - (x - m) * c1) (dx may be g).</summary>
    public static void NormBackward(ReadOnlySpan<float> g, ReadOnlySpan<float> x, float m, float k, float c0, float c1, Span<float> dx)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var vm = new Vector<float>(m);
            var vk = new Vector<float>(k);
            var v0 = new Vector<float>(c0);
            var v1 = new Vector<float>(c1);
            var xv = MemoryMarshal.Cast<float, Vector<float>>(x);
            var gv = MemoryMarshal.Cast<float, Vector<float>>(g);
            var dv = MemoryMarshal.Cast<float, Vector<float>>(dx);
            for (int v = 0; v < xv.Length; v++)
            {
                dv[v] = vk * (gv[v] - v0 - ((xv[v] - vm) * v1));
            }

            i = xv.Length * Vector<float>.Count;
        }

        for (; i < x.Length; i++)
        {
            dx[i] = k * (g[i] - c0 - ((x[i] - m) * c1));
        }
    }

    /// <summary>
    /// The pre-ReLU batch-norm value (x - m) * a + b, one expression for <see cref="AffineDiffRelu"/> and for the masked
    /// backward loops, so that backward recomputes exactly the values forward compared with zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Affine(Vector<float> x, Vector<float> m, Vector<float> a, Vector<float> b) => ((x - m) * a) + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Affine(float x, float m, float a, float b) => ((x - m) * a) + b;

    /// <summary>ReLU's derivative at the pre-ReLU value t times g: 0 * g where t &lt;= 0, else g (as the relu backward computes it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> ReluGrad(Vector<float> t, Vector<float> g) =>
        Vector.ConditionalSelect(Vector.LessThanOrEqual(t, Vector<float>.Zero), Vector<float>.Zero, Vector<float>.One) * g;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ReluGrad(float t, float g) => (t <= 0f ? 0f : 1f) * g;

    /// <summary>y = relu((x - m) * a + b) (y may be x): batch norm's normalization with the ReLU after it, in one sweep.</summary>
    public static void AffineDiffRelu(ReadOnlySpan<float> x, float m, float a, float b, Span<float> y)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var vm = new Vector<float>(m);
            var va = new Vector<float>(a);
            var vb = new Vector<float>(b);
            var xv = MemoryMarshal.Cast<float, Vector<float>>(x);
            var yv = MemoryMarshal.Cast<float, Vector<float>>(y);
            for (int v = 0; v < xv.Length; v++)
            {
                var t = Affine(xv[v], vm, va, vb);
                yv[v] = Vector.ConditionalSelect(Vector.LessThan(t, Vector<float>.Zero), Vector<float>.Zero, t);
            }

            i = xv.Length * Vector<float>.Count;
        }

        for (; i < x.Length; i++)
        {
            float t = Affine(x[i], m, a, b);
            y[i] = t < 0f ? 0f : t;
        }
    }

    /// <summary>
    /// <see cref="SumAndDotDiff"/> of g = relu'(t) * dy instead of dy, with t = (x - m) * a + b the pre-ReLU value that
    /// <see cref="AffineDiffRelu"/> computed (recomputed here, so the ReLU output need not be read); g is also stored
    /// into <paramref name="gOut"/> unless it is empty (it may be dy).
    /// </summary>
    public static double SumAndDotDiffRelu(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float m, float a, float b, Span<float> gOut, out double sumDy)
    {
        bool store = !gOut.IsEmpty;
        int i = 0;
        double total = 0, sum = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var vm = new Vector<float>(m);
            var va = new Vector<float>(a);
            var vb = new Vector<float>(b);
            Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector<float> s0 = default, s1 = default, s2 = default, s3 = default;
            var xv = MemoryMarshal.Cast<float, Vector<float>>(x);
            var gv = MemoryMarshal.Cast<float, Vector<float>>(dy);
            var ov = MemoryMarshal.Cast<float, Vector<float>>(gOut);
            int v = 0;

            // The accumulators and their order are SumAndDotDiff's, so the sums equal those of relu backward then batch norm backward.
            for (; v + 4 <= xv.Length; v += 4)
            {
                var g0 = ReluGrad(Affine(xv[v], vm, va, vb), gv[v]);
                var g1 = ReluGrad(Affine(xv[v + 1], vm, va, vb), gv[v + 1]);
                var g2 = ReluGrad(Affine(xv[v + 2], vm, va, vb), gv[v + 2]);
                var g3 = ReluGrad(Affine(xv[v + 3], vm, va, vb), gv[v + 3]);
                if (store)
                {
                    ov[v] = g0;
                    ov[v + 1] = g1;
                    ov[v + 2] = g2;
                    ov[v + 3] = g3;
                }

                a0 += g0 * (xv[v] - vm);
                a1 += g1 * (xv[v + 1] - vm);
                a2 += g2 * (xv[v + 2] - vm);
                a3 += g3 * (xv[v + 3] - vm);
                s0 += g0;
                s1 += g1;
                s2 += g2;
                s3 += g3;
            }

            for (; v < xv.Length; v++)
            {
                var g = ReluGrad(Affine(xv[v], vm, va, vb), gv[v]);
                if (store)
                {
                    ov[v] = g;
                }

                a0 += g * (xv[v] - vm);
                s0 += g;
            }

            total = Vector.Sum((a0 + a1) + (a2 + a3));
            sum = Vector.Sum((s0 + s1) + (s2 + s3));
            i = xv.Length * Vector<float>.Count;
        }

        for (; i < x.Length; i++)
        {
            float g = ReluGrad(Affine(x[i], m, a, b), dy[i]);
            if (store)
            {
                gOut[i] = g;
            }

            total += g * (x[i] - m);
            sum += g;
        }

        sumDy = sum;
        return total;
    }

    /// <summary>acc += dy * (x - m) * r (the dgamma column sums of layer norm).</summary>
    public static void AccumulateScaledDiff(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float m, float r, Span<float> acc)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var vm = new Vector<float>(m);
            var vr = new Vector<float>(r);
            var xv = MemoryMarshal.Cast<float, Vector<float>>(x);
            var gv = MemoryMarshal.Cast<float, Vector<float>>(dy);
            var av = MemoryMarshal.Cast<float, Vector<float>>(acc);
            for (int v = 0; v < xv.Length; v++)
            {
                av[v] += gv[v] * ((xv[v] - vm) * vr);
            }

            i = xv.Length * Vector<float>.Count;
        }

        for (; i < x.Length; i++)
        {
            acc[i] += dy[i] * ((x[i] - m) * r);
        }
    }

    /// <summary>A host pointer to a tensor's first element (CPU device only).</summary>
    public static unsafe float* Ptr(Tensor t) => (float*)t.Buffer.HostPointer + t.Offset;

    /// <summary>A host pointer to a tensor's first element, or null.</summary>
    public static unsafe float* PtrOrNull(Tensor? t) => t is null ? null : Ptr(t);
}
