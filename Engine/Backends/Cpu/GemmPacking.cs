// Packs blocks of op(A) and op(B) into the contiguous, zero-padded micro-panels the SGEMM micro-kernels stream.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Engine.Backends.Cpu;

/// <summary>Packing of GEMM operands for <see cref="IGemmMicroKernel"/>s (every transpose combination).</summary>
internal static unsafe class GemmPacking
{
    /// <summary>
    /// Packs rows [i0, i0 + mc) and columns [p0, p0 + kc) of op(A) into ceil(mc / MR) panels; panel r holds step q
    /// at <c>dst[r * kc * MR + q * MR + i]</c>, rows past mc are zero. A is row-major with pitch lda, stored
    /// M x K, or K x M when <paramref name="transA"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA<TK>(float* dst, float* a, nint lda, bool transA, int i0, int mc, int p0, int kc)
        where TK : struct, IGemmMicroKernel
    {
        int mr = TK.MR;
        for (int r0 = 0; r0 < mc; r0 += mr)
        {
            int rows = mc - r0 < mr ? mc - r0 : mr;
            if (!transA)
            {
                float* src = a + ((i0 + r0) * lda) + p0;
                if (rows == mr)
                {
                    PackRowsFull<TK>(dst, src, lda, kc);
                }
                else
                {
                    for (int q = 0; q < kc; q++)
                    {
                        float* d = dst + (q * mr);
                        int i = 0;
                        for (; i < rows; i++)
                        {
                            d[i] = src[(i * lda) + q];
                        }

                        for (; i < mr; i++)
                        {
                            d[i] = 0f;
                        }
                    }
                }
            }
            else
            {
                CopyRows(dst, mr, a + (p0 * lda) + i0 + r0, lda, kc, rows);
            }

            dst += kc * mr;
        }
    }

    /// <summary>
    /// Packs rows [p0, p0 + kc) and columns [j0, j0 + cols) (cols &lt;= NR) of op(B) into one kc x NR micro-panel,
    /// columns past cols zero. B is row-major with pitch ldb, stored K x N, or N x K when <paramref name="transB"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackBPanel<TK>(float* dst, float* b, nint ldb, bool transB, int p0, int kc, int j0, int cols)
        where TK : struct, IGemmMicroKernel
    {
        int nr = TK.NR;
        if (!transB)
        {
            CopyRows(dst, nr, b + (p0 * ldb) + j0, ldb, kc, cols);
            return;
        }

        // Stored N x K: column j of op(B) is the contiguous row j of B; write it down the panel's column.
        float* col0 = b + (j0 * ldb) + p0;
        int x0 = 0;
        if (Avx.IsSupported && nr >= 8)
        {
            for (; x0 + 8 <= cols; x0 += 8)
            {
                Transpose8Columns(dst + x0, nr, col0 + (x0 * ldb), ldb, kc);
            }
        }

        for (int x = x0; x < cols; x++)
        {
            float* s = col0 + (x * ldb);
            for (int q = 0; q < kc; q++)
            {
                dst[(q * nr) + x] = s[q];
            }
        }

        for (int x = cols; x < nr; x++)
        {
            for (int q = 0; q < kc; q++)
            {
                dst[(q * nr) + x] = 0f;
            }
        }
    }

    /// <summary>Rows of full MR-row panels of row-major A: gathers MR rows step by step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PackRowsFull<TK>(float* dst, float* src, nint lda, int kc)
        where TK : struct, IGemmMicroKernel
    {
        int mr = TK.MR;
        if (mr == 6)
        {
            float* r0 = src, r1 = src + lda, r2 = src + (2 * lda), r3 = src + (3 * lda), r4 = src + (4 * lda), r5 = src + (5 * lda);
            int q = 0;
            if (Avx.IsSupported)
            {
                // Eight steps at a time: transpose a 6 x 8 block (two zero rows) and store its eight 8-wide columns
                // 6 floats apart, in order, so each store's two zero lanes are overwritten by the next; the last
                // store's spill stays inside the panel because one more step follows the block.
                var zero = Vector256<float>.Zero;
                for (; q + 9 <= kc; q += 8)
                {
                    var v0 = Vector256.Load(r0 + q);
                    var v1 = Vector256.Load(r1 + q);
                    var v2 = Vector256.Load(r2 + q);
                    var v3 = Vector256.Load(r3 + q);
                    var v4 = Vector256.Load(r4 + q);
                    var v5 = Vector256.Load(r5 + q);
                    var v6 = zero;
                    var v7 = zero;
                    Transpose8x8(ref v0, ref v1, ref v2, ref v3, ref v4, ref v5, ref v6, ref v7);
                    float* d = dst + (q * 6);
                    v0.Store(d);
                    v1.Store(d + 6);
                    v2.Store(d + 12);
                    v3.Store(d + 18);
                    v4.Store(d + 24);
                    v5.Store(d + 30);
                    v6.Store(d + 36);
                    v7.Store(d + 42);
                }
            }

            for (; q < kc; q++)
            {
                float* d = dst + (q * 6);
                d[0] = r0[q];
                d[1] = r1[q];
                d[2] = r2[q];
                d[3] = r3[q];
                d[4] = r4[q];
                d[5] = r5[q];
            }

            return;
        }

        int q12 = 0;
        if (mr == 12 && Avx.IsSupported)
        {
            // Eight steps at a time: rows 0-7 and rows 8-11 (with four zero rows) as two 8 x 8 transposes; column j
            // of the first fills d[0..8) of step j, the low half of column j of the second fills d[8..12).
            var zero = Vector256<float>.Zero;
            float* r0 = src, r4 = src + (4 * lda), r8 = src + (8 * lda);
            for (; q12 + 8 <= kc; q12 += 8)
            {
                var v0 = Vector256.Load(r0 + q12);
                var v1 = Vector256.Load(r0 + lda + q12);
                var v2 = Vector256.Load(r0 + (2 * lda) + q12);
                var v3 = Vector256.Load(r0 + (3 * lda) + q12);
                var v4 = Vector256.Load(r4 + q12);
                var v5 = Vector256.Load(r4 + lda + q12);
                var v6 = Vector256.Load(r4 + (2 * lda) + q12);
                var v7 = Vector256.Load(r4 + (3 * lda) + q12);
                Transpose8x8(ref v0, ref v1, ref v2, ref v3, ref v4, ref v5, ref v6, ref v7);
                var w0 = Vector256.Load(r8 + q12);
                var w1 = Vector256.Load(r8 + lda + q12);
                var w2 = Vector256.Load(r8 + (2 * lda) + q12);
                var w3 = Vector256.Load(r8 + (3 * lda) + q12);
                var w4 = zero;
                var w5 = zero;
                var w6 = zero;
                var w7 = zero;
                Transpose8x8(ref w0, ref w1, ref w2, ref w3, ref w4, ref w5, ref w6, ref w7);
                float* d = dst + (q12 * 12);
                v0.Store(d);
                w0.GetLower().Store(d + 8);
                v1.Store(d + 12);
                w1.GetLower().Store(d + 20);
                v2.Store(d + 24);
                w2.GetLower().Store(d + 32);
                v3.Store(d + 36);
                w3.GetLower().Store(d + 44);
                v4.Store(d + 48);
                w4.GetLower().Store(d + 56);
                v5.Store(d + 60);
                w5.GetLower().Store(d + 68);
                v6.Store(d + 72);
                w6.GetLower().Store(d + 80);
                v7.Store(d + 84);
                w7.GetLower().Store(d + 92);
            }
        }

        for (int q = q12; q < kc; q++)
        {
            float* d = dst + (q * mr);
            for (int i = 0; i < mr; i++)
            {
                d[i] = src[(i * lda) + q];
            }
        }
    }

    /// <summary>Transposes 8 source rows (length kc, pitch ld) into 8 adjacent columns of a panel with pitch nr.</summary>
    private static void Transpose8Columns(float* dst, int nr, float* src, nint ld, int kc)
    {
        int q = 0;
        for (; q + 8 <= kc; q += 8)
        {
            var r0 = Vector256.Load(src + q);
            var r1 = Vector256.Load(src + ld + q);
            var r2 = Vector256.Load(src + (2 * ld) + q);
            var r3 = Vector256.Load(src + (3 * ld) + q);
            var r4 = Vector256.Load(src + (4 * ld) + q);
            var r5 = Vector256.Load(src + (5 * ld) + q);
            var r6 = Vector256.Load(src + (6 * ld) + q);
            var r7 = Vector256.Load(src + (7 * ld) + q);
            Transpose8x8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
            float* d = dst + (q * nr);
            r0.Store(d);
            r1.Store(d + nr);
            r2.Store(d + (2 * nr));
            r3.Store(d + (3 * nr));
            r4.Store(d + (4 * nr));
            r5.Store(d + (5 * nr));
            r6.Store(d + (6 * nr));
            r7.Store(d + (7 * nr));
        }

        for (; q < kc; q++)
        {
            float* d = dst + (q * nr);
            for (int x = 0; x < 8; x++)
            {
                d[x] = src[(x * ld) + q];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(
        ref Vector256<float> r0, ref Vector256<float> r1, ref Vector256<float> r2, ref Vector256<float> r3,
        ref Vector256<float> r4, ref Vector256<float> r5, ref Vector256<float> r6, ref Vector256<float> r7)
    {
        // Rows a..h: interleave pairs (a0 b0 a1 b1 | a4 b4 a5 b5), then quads (a0 b0 c0 d0 | a4 b4 c4 d4),
        // then join 128-bit halves of the a-d and e-h quads: row i of the result is column i of the input.
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var s0 = Avx.Shuffle(t0, t2, 0x44);
        var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44);
        var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44);
        var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44);
        var s7 = Avx.Shuffle(t5, t7, 0xEE);
        r0 = Avx.Permute2x128(s0, s4, 0x20);
        r1 = Avx.Permute2x128(s1, s5, 0x20);
        r2 = Avx.Permute2x128(s2, s6, 0x20);
        r3 = Avx.Permute2x128(s3, s7, 0x20);
        r4 = Avx.Permute2x128(s0, s4, 0x31);
        r5 = Avx.Permute2x128(s1, s5, 0x31);
        r6 = Avx.Permute2x128(s2, s6, 0x31);
        r7 = Avx.Permute2x128(s3, s7, 0x31);
    }

    /// <summary>
    /// Copies <paramref name="kc"/> rows of <paramref name="count"/> floats (pitch <paramref name="ld"/>) into rows of
    /// <paramref name="width"/> (the panel's pitch), zero-filling past count: the packing of row-major op(B) and of
    /// transposed A, whose panel rows are contiguous in the source.
    /// </summary>
    private static void CopyRows(float* dst, int width, float* src, nint ld, int kc, int count)
    {
        if (count == width && width % 4 == 0)
        {
            for (int q = 0; q < kc; q++)
            {
                float* s = src + (q * ld);
                float* d = dst + (q * width);
                for (int x = 0; x < width; x += 4)
                {
                    Vector128.Store(Vector128.Load(s + x), d + x);
                }
            }

            return;
        }

        for (int q = 0; q < kc; q++)
        {
            CopyPadded(dst + (q * width), src + (q * ld), count, width);
        }
    }

    /// <summary>Copies <paramref name="count"/> floats and zero-fills the rest up to <paramref name="width"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyPadded(float* dst, float* src, int count, int width)
    {
        int i = 0;
        for (; i < count; i++)
        {
            dst[i] = src[i];
        }

        for (; i < width; i++)
        {
            dst[i] = 0f;
        }
    }
}
