// Direct SIMD loops for the convolution products that are too thin for a packed GEMM: few output channels per
// group (depthwise), weight gradients with a short reduction (a 1-channel first layer), input gradients from few
// channels. Each runs on the calling thread over one (image, group)'s column matrix.
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Engine.Backends.Cpu;

/// <summary>
/// With W (rows x k), col (k x hw) and y (rows x hw), all row-major and contiguous: the forward product, the
/// weight gradient and the column gradient, vectorized along hw in four independent accumulators.
/// </summary>
internal static unsafe class ConvSmallK
{
    /// <summary>y[r, p] = bias[r] (0 when null) + sum over q of w[r, q] * col[q, p].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(float* w, int rows, int k, float* col, int hw, float* y, float* bias)
    {
        int vc = Vector<float>.Count;
        for (int r = 0; r < rows; r++)
        {
            float* wr = w + ((long)r * k);
            float* yr = y + ((long)r * hw);
            float b = bias == null ? 0f : bias[r];
            var bv = new Vector<float>(b);
            int p = 0;
            for (; p + (4 * vc) <= hw; p += 4 * vc)
            {
                Vector<float> a0 = bv, a1 = bv, a2 = bv, a3 = bv;
                float* c = col + p;
                for (int q = 0; q < k; q++, c += hw)
                {
                    var wv = new Vector<float>(wr[q]);
                    a0 = Vector.FusedMultiplyAdd(wv, Vector.Load(c), a0);
                    a1 = Vector.FusedMultiplyAdd(wv, Vector.Load(c + vc), a1);
                    a2 = Vector.FusedMultiplyAdd(wv, Vector.Load(c + (2 * vc)), a2);
                    a3 = Vector.FusedMultiplyAdd(wv, Vector.Load(c + (3 * vc)), a3);
                }

                a0.Store(yr + p);
                a1.Store(yr + p + vc);
                a2.Store(yr + p + (2 * vc));
                a3.Store(yr + p + (3 * vc));
            }

            for (; p + vc <= hw; p += vc)
            {
                var a0 = bv;
                float* c = col + p;
                for (int q = 0; q < k; q++, c += hw)
                {
                    a0 = Vector.FusedMultiplyAdd(new Vector<float>(wr[q]), Vector.Load(c), a0);
                }

                a0.Store(yr + p);
            }

            for (; p < hw; p++)
            {
                float s = b;
                for (int q = 0; q < k; q++)
                {
                    s += wr[q] * col[((long)q * hw) + p];
                }

                yr[p] = s;
            }
        }
    }

    /// <summary>
    /// dw[r, q] += sum over p of dy[r, p] * col[q, p]: blocks of 4 rows x 4 taps in sixteen vector accumulators along
    /// p (each dy and col vector loaded once per block), reduced across lanes at the end of the block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightGrad(float* dy, int rows, int hw, float* col, int k, float* dw)
    {
        int r = 0;
        for (; r + 4 <= rows; r += 4)
        {
            int q = 0;
            for (; q + 4 <= k; q += 4)
            {
                WeightGradBlock(dy + ((long)r * hw), hw, col + ((long)q * hw), dw + ((long)r * k) + q, k);
            }

            for (; q < k; q++)
            {
                for (int i = r; i < r + 4; i++)
                {
                    dw[((long)i * k) + q] += Dot(dy + ((long)i * hw), col + ((long)q * hw), hw);
                }
            }
        }

        for (; r < rows; r++)
        {
            for (int q = 0; q < k; q++)
            {
                dw[((long)r * k) + q] += Dot(dy + ((long)r * hw), col + ((long)q * hw), hw);
            }
        }
    }

    private static float Dot(float* a, float* b, int n) => TensorPrimitives.Dot(new System.ReadOnlySpan<float>(a, n), new System.ReadOnlySpan<float>(b, n));

    /// <summary>dw[i, j] (pitch ldw) += sum over p of dy[i, p] * col[j, p] for i, j &lt; 4 (rows of both hw long).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightGradBlock(float* dy, int hw, float* col, float* dw, int ldw)
    {
        int vc = Vector<float>.Count;
        Vector<float> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default;
        Vector<float> a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
        float* d0 = dy, d1 = dy + hw, d2 = dy + (2 * hw), d3 = dy + (3 * hw);
        float* c0 = col, c1 = col + hw, c2 = col + (2 * hw), c3 = col + (3 * hw);
        int p = 0;
        for (; p + vc <= hw; p += vc)
        {
            var y0 = Vector.Load(d0 + p);
            var y1 = Vector.Load(d1 + p);
            var y2 = Vector.Load(d2 + p);
            var y3 = Vector.Load(d3 + p);
            var x = Vector.Load(c0 + p);
            a00 = Vector.FusedMultiplyAdd(y0, x, a00);
            a10 = Vector.FusedMultiplyAdd(y1, x, a10);
            a20 = Vector.FusedMultiplyAdd(y2, x, a20);
            a30 = Vector.FusedMultiplyAdd(y3, x, a30);
            x = Vector.Load(c1 + p);
            a01 = Vector.FusedMultiplyAdd(y0, x, a01);
            a11 = Vector.FusedMultiplyAdd(y1, x, a11);
            a21 = Vector.FusedMultiplyAdd(y2, x, a21);
            a31 = Vector.FusedMultiplyAdd(y3, x, a31);
            x = Vector.Load(c2 + p);
            a02 = Vector.FusedMultiplyAdd(y0, x, a02);
            a12 = Vector.FusedMultiplyAdd(y1, x, a12);
            a22 = Vector.FusedMultiplyAdd(y2, x, a22);
            a32 = Vector.FusedMultiplyAdd(y3, x, a32);
            x = Vector.Load(c3 + p);
            a03 = Vector.FusedMultiplyAdd(y0, x, a03);
            a13 = Vector.FusedMultiplyAdd(y1, x, a13);
            a23 = Vector.FusedMultiplyAdd(y2, x, a23);
            a33 = Vector.FusedMultiplyAdd(y3, x, a33);
        }

        Finish(dw, d0, c0, c1, c2, c3, p, hw, a00, a01, a02, a03);
        Finish(dw + ldw, d1, c0, c1, c2, c3, p, hw, a10, a11, a12, a13);
        Finish(dw + (2 * ldw), d2, c0, c1, c2, c3, p, hw, a20, a21, a22, a23);
        Finish(dw + (3 * ldw), d3, c0, c1, c2, c3, p, hw, a30, a31, a32, a33);
    }

    /// <summary>Adds the lane sums of one row's four accumulators and its scalar tail [p0, hw) to dw[0..4).</summary>
    private static void Finish(float* dw, float* d, float* c0, float* c1, float* c2, float* c3, int p0, int hw,
        Vector<float> s0, Vector<float> s1, Vector<float> s2, Vector<float> s3)
    {
        float t0 = Vector.Sum(s0), t1 = Vector.Sum(s1), t2 = Vector.Sum(s2), t3 = Vector.Sum(s3);
        for (int p = p0; p < hw; p++)
        {
            t0 += d[p] * c0[p];
            t1 += d[p] * c1[p];
            t2 += d[p] * c2[p];
            t3 += d[p] * c3[p];
        }

        dw[0] += t0;
        dw[1] += t1;
        dw[2] += t2;
        dw[3] += t3;
    }

    /// <summary>dcol[q, p] = beta * dcol[q, p] + sum over r of w[r, q] * dy[r, p] (beta 0: dcol is not read).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void InputGrad(float* w, int rows, int k, float* dy, int hw, float* dcol, float beta)
    {
        int vc = Vector<float>.Count;
        var be = new Vector<float>(beta);
        for (int q = 0; q < k; q++)
        {
            float* o = dcol + ((long)q * hw);
            int p = 0;
            for (; p + (4 * vc) <= hw; p += 4 * vc)
            {
                Vector<float> a0, a1, a2, a3;
                if (beta == 0f)
                {
                    a0 = a1 = a2 = a3 = Vector<float>.Zero;
                }
                else
                {
                    a0 = Vector.Load(o + p) * be;
                    a1 = Vector.Load(o + p + vc) * be;
                    a2 = Vector.Load(o + p + (2 * vc)) * be;
                    a3 = Vector.Load(o + p + (3 * vc)) * be;
                }

                float* g = dy + p;
                for (int r = 0; r < rows; r++, g += hw)
                {
                    var wv = new Vector<float>(w[((long)r * k) + q]);
                    a0 = Vector.FusedMultiplyAdd(wv, Vector.Load(g), a0);
                    a1 = Vector.FusedMultiplyAdd(wv, Vector.Load(g + vc), a1);
                    a2 = Vector.FusedMultiplyAdd(wv, Vector.Load(g + (2 * vc)), a2);
                    a3 = Vector.FusedMultiplyAdd(wv, Vector.Load(g + (3 * vc)), a3);
                }

                a0.Store(o + p);
                a1.Store(o + p + vc);
                a2.Store(o + p + (2 * vc));
                a3.Store(o + p + (3 * vc));
            }

            for (; p < hw; p++)
            {
                float s = beta == 0f ? 0f : beta * o[p];
                for (int r = 0; r < rows; r++)
                {
                    s += w[((long)r * k) + q] * dy[((long)r * hw) + p];
                }

                o[p] = s;
            }
        }
    }
}
