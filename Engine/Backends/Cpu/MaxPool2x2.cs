// 2 x 2, stride 2, unpadded max pooling (the common case) on one plane with 256-bit vectors: eight outputs per step,
// branch-free argmax, same results and tie/NaN rules as the scalar loops of CpuPool.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Engine.Backends.Cpu;

/// <summary>
/// Max pooling with a 2 x 2 window and stride 2 and no padding. The window is scanned row by row; a value replaces
/// the running maximum when it is greater or NaN (so NaN propagates, ties keep the first), as in PyTorch.
/// Indices are flat positions in the plane, stored as floats.
/// </summary>
internal static unsafe class MaxPool2x2
{
    /// <summary>Whether <paramref name="p"/> is a 2 x 2, stride-2, unpadded pooling this class handles.</summary>
    public static bool Applies(in Kernels.Pool.PoolParams p) =>
        p.KernelH == 2 && p.KernelW == 2 && p.StrideH == 2 && p.StrideW == 2 && p.PadH == 0 && p.PadW == 0
        && p.OutH == p.Height / 2 && p.OutW == p.Width / 2;

    /// <summary>y and indices of one plane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(float* x, float* y, float* indices, int height, int width, int outH, int outW)
    {
        bool simd = Avx2.IsSupported;
        var lane = Vector256.Create(0f, 2f, 4f, 6f, 8f, 10f, 12f, 14f);
        var one = Vector256.Create(1f);
        var down = Vector256.Create((float)width);
        var downOne = Vector256.Create((float)width + 1f);
        for (int oh = 0; oh < outH; oh++)
        {
            float* r0 = x + (2 * oh * width);
            float* r1 = r0 + width;
            float* yr = y + (oh * outW);
            float* ir = indices + (oh * outW);
            int ow = 0;
            if (simd)
            {
                for (; ow + 8 <= outW; ow += 8)
                {
                    Step(r0, r1, yr, ir, (2 * oh * width) + (2 * ow), ow, lane, one, down, downOne);
                }

                if (ow < outW && outW >= 8)
                {
                    // The last eight outputs of the row again (those before the ragged end are rewritten unchanged).
                    ow = outW - 8;
                    Step(r0, r1, yr, ir, (2 * oh * width) + (2 * ow), ow, lane, one, down, downOne);
                    continue;
                }

                if (ow < outW && CrossesRows(oh, width, outH, outW))
                {
                    // Short rows: eight outputs starting at this row; those past its end are garbage that the next
                    // row (still in this plane) overwrites.
                    Step(r0, r1, yr, ir, 2 * oh * width, 0, lane, one, down, downOne);
                    continue;
                }
            }

            for (; ow < outW; ow++)
            {
                int i0 = (2 * oh * width) + (2 * ow);
                float m = x[i0];
                int best = i0;
                Scalar(ref m, ref best, x[i0 + 1], i0 + 1);
                Scalar(ref m, ref best, x[i0 + width], i0 + width);
                Scalar(ref m, ref best, x[i0 + width + 1], i0 + width + 1);
                yr[ow] = m;
                ir[ow] = best;
            }
        }
    }

    /// <summary>dx of one plane: each window gets dy at its argmax and zero elsewhere (plus dx when <paramref name="beta"/> is 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward(float* dy, float* indices, float* dx, int height, int width, int outH, int outW, float beta)
    {
        if (beta == 0f && (height != 2 * outH || width != 2 * outW))
        {
            new System.Span<float>(dx, height * width).Clear();
        }

        bool simd = Avx2.IsSupported;
        var lane = Vector256.Create(0f, 2f, 4f, 6f, 8f, 10f, 12f, 14f);
        var one = Vector256.Create(1f);
        var down = Vector256.Create((float)width);
        var downOne = Vector256.Create((float)width + 1f);
        for (int oh = 0; oh < outH; oh++)
        {
            float* r0 = dx + (2 * oh * width);
            float* r1 = r0 + width;
            float* gr = dy + (oh * outW);
            float* ir = indices + (oh * outW);
            int ow = 0;
            if (simd)
            {
                for (; ow + 8 <= outW; ow += 8)
                {
                    Scatter(r0, r1, gr, ir, (2 * oh * width) + (2 * ow), ow, beta, lane, one, down, downOne);
                }

                // With beta 0 a window written twice gets the same values, so the ragged end can overlap.
                if (ow < outW && outW >= 8 && beta == 0f)
                {
                    ow = outW - 8;
                    Scatter(r0, r1, gr, ir, (2 * oh * width) + (2 * ow), ow, beta, lane, one, down, downOne);
                    continue;
                }

                if (ow < outW && beta == 0f && CrossesRows(oh, width, outH, outW))
                {
                    // Short rows: the garbage written past this row pair is overwritten by the next one.
                    Scatter(r0, r1, gr, ir, 2 * oh * width, 0, beta, lane, one, down, downOne);
                    continue;
                }
            }

            for (; ow < outW; ow++)
            {
                int i0 = (2 * oh * width) + (2 * ow);
                int at = (int)ir[ow];
                float v = gr[ow];
                Put(dx, i0, at, v, beta);
                Put(dx, i0 + 1, at, v, beta);
                Put(dx, i0 + width, at, v, beta);
                Put(dx, i0 + width + 1, at, v, beta);
            }
        }
    }

    /// <summary>
    /// Whether output row <paramref name="oh"/> of a plane with short rows (fewer than eight outputs) may run one
    /// vector step that spills into the following rows: the plane's row pairs must be contiguous (width twice outW)
    /// and the step's 16 input columns of both rows, and its eight outputs, must stay within this plane's row pairs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool CrossesRows(int oh, int width, int outH, int outW) =>
        width == 2 * outW && (2 * oh * width) + width + 16 <= 2 * outH * width && (oh * outW) + 8 <= outH * outW;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(float* r0, float* r1, float* yr, float* ir, int at, int ow, Vector256<float> lane,
        Vector256<float> one, Vector256<float> down, Vector256<float> downOne)
    {
        Split(r0 + (2 * ow), out var a, out var b);
        Split(r1 + (2 * ow), out var c, out var d);
        var m = a;
        var off = Vector256<float>.Zero;
        Take(ref m, ref off, b, one);
        Take(ref m, ref off, c, down);
        Take(ref m, ref off, d, downOne);
        m.Store(yr + ow);
        (Vector256.Create((float)at) + lane + off).Store(ir + ow);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scatter(float* r0, float* r1, float* gr, float* ir, int at, int ow, float beta, Vector256<float> lane,
        Vector256<float> one, Vector256<float> down, Vector256<float> downOne)
    {
        var g = Vector256.Load(gr + ow);
        var off = Vector256.Load(ir + ow) - (Vector256.Create((float)at) + lane);
        var a = Vector256.ConditionalSelect(Vector256.Equals(off, Vector256<float>.Zero), g, Vector256<float>.Zero);
        var b = Vector256.ConditionalSelect(Vector256.Equals(off, one), g, Vector256<float>.Zero);
        var c = Vector256.ConditionalSelect(Vector256.Equals(off, down), g, Vector256<float>.Zero);
        var d = Vector256.ConditionalSelect(Vector256.Equals(off, downOne), g, Vector256<float>.Zero);
        Merge(r0 + (2 * ow), a, b, beta);
        Merge(r1 + (2 * ow), c, d, beta);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* dx, int i, int at, float v, float beta)
    {
        float g = i == at ? v : 0f;
        dx[i] = beta == 0f ? g : dx[i] + g;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scalar(ref float m, ref int best, float v, int i)
    {
        bool take = v > m || float.IsNaN(v);
        m = take ? v : m;
        best = take ? i : best;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Take(ref Vector256<float> m, ref Vector256<float> off, Vector256<float> v, Vector256<float> o)
    {
        var take = Vector256.GreaterThan(v, m) | ~Vector256.Equals(v, v);
        m = Vector256.ConditionalSelect(take, v, m);
        off = Vector256.ConditionalSelect(take, o, off);
    }

    /// <summary>Even and odd elements of the 16 floats at <paramref name="p"/>, in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Split(float* p, out Vector256<float> even, out Vector256<float> odd)
    {
        var lo = Avx.LoadVector256(p);
        var hi = Avx.LoadVector256(p + 8);
        even = Avx2.Permute4x64(Avx.Shuffle(lo, hi, 0b10_00_10_00).AsDouble(), 0b11_01_10_00).AsSingle();
        odd = Avx2.Permute4x64(Avx.Shuffle(lo, hi, 0b11_01_11_01).AsDouble(), 0b11_01_10_00).AsSingle();
    }

    /// <summary>Writes (or adds) the interleaving e0 o0 e1 o1 ... of 16 floats at <paramref name="p"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Merge(float* p, Vector256<float> even, Vector256<float> odd, float beta)
    {
        var l = Avx.UnpackLow(even, odd);   // e0 o0 e1 o1 | e4 o4 e5 o5
        var h = Avx.UnpackHigh(even, odd);  // e2 o2 e3 o3 | e6 o6 e7 o7
        var first = Avx.Permute2x128(l, h, 0x20);
        var second = Avx.Permute2x128(l, h, 0x31);
        if (beta != 0f)
        {
            first += Avx.LoadVector256(p);
            second += Avx.LoadVector256(p + 8);
        }

        first.Store(p);
        second.Store(p + 8);
    }
}
