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

    /// <summary>dw[r, q] += sum over p of dy[r, p] * col[q, p].</summary>
    public static void WeightGrad(float* dy, int rows, int hw, float* col, int k, float* dw)
    {
        for (int r = 0; r < rows; r++)
        {
            var g = new System.ReadOnlySpan<float>(dy + ((long)r * hw), hw);
            float* d = dw + ((long)r * k);
            for (int q = 0; q < k; q++)
            {
                d[q] += TensorPrimitives.Dot(g, new System.ReadOnlySpan<float>(col + ((long)q * hw), hw));
            }
        }
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
