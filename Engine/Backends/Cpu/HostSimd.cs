// Small fused SIMD loops (Vector<float>) the host normalization paths need and TensorPrimitives lacks.
using System;
using System.Numerics;
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
    public static double SumAndDotDiff(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float m, out double sumDy) =>
        SumAndDotDiff(dy, x, m, default(PlainGrad), default, out sumDy);

    /// <summary>
    /// <see cref="SumAndDotDiff(ReadOnlySpan{float}, ReadOnlySpan{float}, float, out double)"/> of g = relu'(t) * dy instead
    /// of dy, with t = (x - m) * a + b the pre-ReLU value that <see cref="AffineDiffRelu"/> computed (recomputed here, so
    /// the ReLU output need not be read); g is also stored into <paramref name="gOut"/> unless it is empty (it may be dy).
    /// </summary>
    public static double SumAndDotDiffRelu(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float m, float a, float b, Span<float> gOut, out double sumDy) =>
        SumAndDotDiff(dy, x, m, new ReluGradAt(a, b), gOut, out sumDy);

    /// <summary>
    /// The sweep of both: g = grad.Of(x - m, dy) (dy itself, or masked by relu'), the sums of g * (x - m) and of g, and g
    /// stored when <paramref name="gOut"/> is not empty. The accumulators and their order are the same for every
    /// <typeparamref name="TGrad"/> (a struct, so each is its own compiled loop), so the sums of a folded ReLU equal those
    /// of relu backward then batch norm backward.
    /// </summary>
    private static double SumAndDotDiff<TGrad>(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float m, TGrad grad, Span<float> gOut, out double sumDy)
        where TGrad : struct, IPlaneGrad
    {
        bool store = !gOut.IsEmpty;
        int i = 0;
        double total = 0, sum = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var vm = new Vector<float>(m);
            Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector<float> s0 = default, s1 = default, s2 = default, s3 = default;
            var xv = MemoryMarshal.Cast<float, Vector<float>>(x);
            var gv = MemoryMarshal.Cast<float, Vector<float>>(dy);
            var ov = MemoryMarshal.Cast<float, Vector<float>>(gOut);
            int v = 0;
            for (; v + 4 <= xv.Length; v += 4)
            {
                var d0 = xv[v] - vm;
                var d1 = xv[v + 1] - vm;
                var d2 = xv[v + 2] - vm;
                var d3 = xv[v + 3] - vm;
                var g0 = grad.Of(d0, gv[v]);
                var g1 = grad.Of(d1, gv[v + 1]);
                var g2 = grad.Of(d2, gv[v + 2]);
                var g3 = grad.Of(d3, gv[v + 3]);
                if (store)
                {
                    ov[v] = g0;
                    ov[v + 1] = g1;
                    ov[v + 2] = g2;
                    ov[v + 3] = g3;
                }

                a0 += g0 * d0;
                a1 += g1 * d1;
                a2 += g2 * d2;
                a3 += g3 * d3;
                s0 += g0;
                s1 += g1;
                s2 += g2;
                s3 += g3;
            }

            for (; v < xv.Length; v++)
            {
                var d = xv[v] - vm;
                var g = grad.Of(d, gv[v]);
                if (store)
                {
                    ov[v] = g;
                }

                a0 += g * d;
                s0 += g;
            }

            total = Vector.Sum((a0 + a1) + (a2 + a3));
            sum = Vector.Sum((s0 + s1) + (s2 + s3));
            i = xv.Length * Vector<float>.Count;
        }

        for (; i < x.Length; i++)
        {
            float d = x[i] - m;
            float g = grad.Of(d, dy[i]);
            if (store)
            {
                gOut[i] = g;
            }

            total += g * d;
            sum += g;
        }

        sumDy = sum;
        return total;
    }

    /// <summary>y = (x - m) * a + b (y may be x).</summary>
    public static void AffineDiff(ReadOnlySpan<float> x, float m, float a, float b, Span<float> y) => AffineDiff(x, m, a, b, y, default(Identity));

    /// <summary>y = relu((x - m) * a + b) (y may be x): batch norm's normalization with the ReLU after it, in one sweep.</summary>
    public static void AffineDiffRelu(ReadOnlySpan<float> x, float m, float a, float b, Span<float> y) => AffineDiff(x, m, a, b, y, default(Relu));

    private static void AffineDiff<TOut>(ReadOnlySpan<float> x, float m, float a, float b, Span<float> y, TOut map)
        where TOut : struct, IPlaneMap
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
                yv[v] = map.Of(((xv[v] - vm) * va) + vb);
            }

            i = xv.Length * Vector<float>.Count;
        }

        for (; i < x.Length; i++)
        {
            y[i] = map.Of(((x[i] - m) * a) + b);
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

    /// <summary>What the backward sums read as the gradient at one lane, given d = x - m and dy.</summary>
    private interface IPlaneGrad
    {
        Vector<float> Of(Vector<float> d, Vector<float> dy);

        float Of(float d, float dy);
    }

    /// <summary>What the normalization writes for the affine value t.</summary>
    private interface IPlaneMap
    {
        Vector<float> Of(Vector<float> t);

        float Of(float t);
    }

    /// <summary>dy itself.</summary>
    private readonly struct PlainGrad : IPlaneGrad
    {
        public Vector<float> Of(Vector<float> d, Vector<float> dy) => dy;

        public float Of(float d, float dy) => dy;
    }

    /// <summary>
    /// relu'(t) * dy with t = d * a + b, the pre-ReLU value computed as the normalization computes it ((x - m) * a + b),
    /// and relu' as the relu op's backward applies it (0 or 1 times dy, so a NaN or infinite dy stays so).
    /// </summary>
    private readonly struct ReluGradAt(float a, float b) : IPlaneGrad
    {
        private readonly Vector<float> va = new(a), vb = new(b);

        public Vector<float> Of(Vector<float> d, Vector<float> dy) =>
            Vector.ConditionalSelect(Vector.LessThanOrEqual((d * va) + vb, Vector<float>.Zero), Vector<float>.Zero, Vector<float>.One) * dy;

        public float Of(float d, float dy) => (((d * a) + b) <= 0f ? 0f : 1f) * dy;
    }

    /// <summary>t itself.</summary>
    private readonly struct Identity : IPlaneMap
    {
        public Vector<float> Of(Vector<float> t) => t;

        public float Of(float t) => t;
    }

    /// <summary>relu(t) as the relu op computes it (t &lt; 0 ? 0 : t, so -0 and NaN pass).</summary>
    private readonly struct Relu : IPlaneMap
    {
        public Vector<float> Of(Vector<float> t) => Vector.ConditionalSelect(Vector.LessThan(t, Vector<float>.Zero), Vector<float>.Zero, t);

        public float Of(float t) => t < 0f ? 0f : t;
    }
}
