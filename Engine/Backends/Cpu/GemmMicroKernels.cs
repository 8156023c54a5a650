// Register-blocked SGEMM micro-kernels (MR x NR tiles of C held in SIMD registers) for 128, 256 and 512-bit vectors.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Engine.Backends.Cpu;

/// <summary>
/// A micro-kernel and its cache blocking. <c>Run</c> computes one MR x NR tile
/// <c>C = alpha * Ap * Bp + beta * C</c> (beta 0: C is not read) over <c>kc</c> steps, where Ap is a packed
/// MR-row panel (step q holds MR floats) and row q of B starts at <c>b + q * ldb</c> with NR contiguous floats.
/// </summary>
internal interface IGemmMicroKernel
{
    /// <summary>Rows of the register tile.</summary>
    static abstract int MR { get; }

    /// <summary>Columns of the register tile (a multiple of the vector width).</summary>
    static abstract int NR { get; }

    /// <summary>Rows of op(A) per packed block (a multiple of MR; the block should stay in L2).</summary>
    static abstract int MC { get; }

    /// <summary>
    /// Depth of one packed block. Deep blocks load and store each C tile fewer times; the KC x NR micro-panel of B
    /// then streams from L2 (measured on Zen 4: 512 deep runs 5-8% faster than 192-256, both ISAs; 1024 for the AVX-512
    /// kernel another 1-2% on two threads).
    /// </summary>
    static abstract int KC { get; }

    /// <summary>Columns of op(B) per packed block (a multiple of NR; the block should stay in L3).</summary>
    static abstract int NC { get; }

    /// <summary>Computes one full MR x NR tile of C.</summary>
    static abstract unsafe void Run(nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float alpha, float beta);
}

/// <summary>6 x 16 tile in twelve 256-bit accumulators (AVX2 + FMA: 12 + 2 B vectors + 1 broadcast = 15 of 16 registers).</summary>
internal struct MicroKernel256 : IGemmMicroKernel
{
    public static int MR => 6;

    public static int NR => 16;

    public static int MC => 144;

    public static int KC => 512;

    public static int NC => 2048;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float alpha, float beta)
    {
        nint prefetchAt = kc > 64 ? kc - 64 : 0;
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (nint q = 0; q < kc; q++)
        {
            if (q == prefetchAt)
            {
                GemmPrefetch.Tile(c, ldc, 6, 16);
            }

            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var av = Vector256.Create(a[0]);
            c00 = Vector256.FusedMultiplyAdd(av, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(av, b1, c01);
            av = Vector256.Create(a[1]);
            c10 = Vector256.FusedMultiplyAdd(av, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(av, b1, c11);
            av = Vector256.Create(a[2]);
            c20 = Vector256.FusedMultiplyAdd(av, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(av, b1, c21);
            av = Vector256.Create(a[3]);
            c30 = Vector256.FusedMultiplyAdd(av, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(av, b1, c31);
            av = Vector256.Create(a[4]);
            c40 = Vector256.FusedMultiplyAdd(av, b0, c40);
            c41 = Vector256.FusedMultiplyAdd(av, b1, c41);
            av = Vector256.Create(a[5]);
            c50 = Vector256.FusedMultiplyAdd(av, b0, c50);
            c51 = Vector256.FusedMultiplyAdd(av, b1, c51);
            a += 6;
            b += ldb;
        }

        var al = Vector256.Create(alpha);
        Store(c, c00, c01, al, beta);
        Store(c + ldc, c10, c11, al, beta);
        Store(c + (2 * ldc), c20, c21, al, beta);
        Store(c + (3 * ldc), c30, c31, al, beta);
        Store(c + (4 * ldc), c40, c41, al, beta);
        Store(c + (5 * ldc), c50, c51, al, beta);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store(float* c, Vector256<float> v0, Vector256<float> v1, Vector256<float> alpha, float beta)
    {
        if (beta == 0f)
        {
            (v0 * alpha).Store(c);
            (v1 * alpha).Store(c + 8);
        }
        else if (beta == 1f)
        {
            Vector256.FusedMultiplyAdd(v0, alpha, Vector256.Load(c)).Store(c);
            Vector256.FusedMultiplyAdd(v1, alpha, Vector256.Load(c + 8)).Store(c + 8);
        }
        else
        {
            var be = Vector256.Create(beta);
            Vector256.FusedMultiplyAdd(v0, alpha, Vector256.Load(c) * be).Store(c);
            Vector256.FusedMultiplyAdd(v1, alpha, Vector256.Load(c + 8) * be).Store(c + 8);
        }
    }
}

/// <summary>12 x 32 tile in twenty-four 512-bit accumulators (AVX-512F: 24 + 2 B vectors + 1 broadcast of 32 registers).</summary>
internal struct MicroKernel512 : IGemmMicroKernel
{
    public static int MR => 12;

    public static int NR => 32;

    public static int MC => 144;

    public static int KC => 1024;

    public static int NC => 2048;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float alpha, float beta)
    {
        nint prefetchAt = kc > 64 ? kc - 64 : 0;
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default;
        Vector512<float> c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        for (nint q = 0; q < kc; q++)
        {
            if (q == prefetchAt)
            {
                GemmPrefetch.Tile(c, ldc, 12, 32);
            }

            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var av = Vector512.Create(a[0]);
            c00 = Vector512.FusedMultiplyAdd(av, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(av, b1, c01);
            av = Vector512.Create(a[1]);
            c10 = Vector512.FusedMultiplyAdd(av, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(av, b1, c11);
            av = Vector512.Create(a[2]);
            c20 = Vector512.FusedMultiplyAdd(av, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(av, b1, c21);
            av = Vector512.Create(a[3]);
            c30 = Vector512.FusedMultiplyAdd(av, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(av, b1, c31);
            av = Vector512.Create(a[4]);
            c40 = Vector512.FusedMultiplyAdd(av, b0, c40);
            c41 = Vector512.FusedMultiplyAdd(av, b1, c41);
            av = Vector512.Create(a[5]);
            c50 = Vector512.FusedMultiplyAdd(av, b0, c50);
            c51 = Vector512.FusedMultiplyAdd(av, b1, c51);
            av = Vector512.Create(a[6]);
            c60 = Vector512.FusedMultiplyAdd(av, b0, c60);
            c61 = Vector512.FusedMultiplyAdd(av, b1, c61);
            av = Vector512.Create(a[7]);
            c70 = Vector512.FusedMultiplyAdd(av, b0, c70);
            c71 = Vector512.FusedMultiplyAdd(av, b1, c71);
            av = Vector512.Create(a[8]);
            c80 = Vector512.FusedMultiplyAdd(av, b0, c80);
            c81 = Vector512.FusedMultiplyAdd(av, b1, c81);
            av = Vector512.Create(a[9]);
            c90 = Vector512.FusedMultiplyAdd(av, b0, c90);
            c91 = Vector512.FusedMultiplyAdd(av, b1, c91);
            av = Vector512.Create(a[10]);
            ca0 = Vector512.FusedMultiplyAdd(av, b0, ca0);
            ca1 = Vector512.FusedMultiplyAdd(av, b1, ca1);
            av = Vector512.Create(a[11]);
            cb0 = Vector512.FusedMultiplyAdd(av, b0, cb0);
            cb1 = Vector512.FusedMultiplyAdd(av, b1, cb1);
            a += 12;
            b += ldb;
        }

        var al = Vector512.Create(alpha);
        Store(c, c00, c01, al, beta);
        Store(c + ldc, c10, c11, al, beta);
        Store(c + (2 * ldc), c20, c21, al, beta);
        Store(c + (3 * ldc), c30, c31, al, beta);
        Store(c + (4 * ldc), c40, c41, al, beta);
        Store(c + (5 * ldc), c50, c51, al, beta);
        Store(c + (6 * ldc), c60, c61, al, beta);
        Store(c + (7 * ldc), c70, c71, al, beta);
        Store(c + (8 * ldc), c80, c81, al, beta);
        Store(c + (9 * ldc), c90, c91, al, beta);
        Store(c + (10 * ldc), ca0, ca1, al, beta);
        Store(c + (11 * ldc), cb0, cb1, al, beta);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store(float* c, Vector512<float> v0, Vector512<float> v1, Vector512<float> alpha, float beta)
    {
        if (beta == 0f)
        {
            (v0 * alpha).Store(c);
            (v1 * alpha).Store(c + 16);
        }
        else if (beta == 1f)
        {
            Vector512.FusedMultiplyAdd(v0, alpha, Vector512.Load(c)).Store(c);
            Vector512.FusedMultiplyAdd(v1, alpha, Vector512.Load(c + 16)).Store(c + 16);
        }
        else
        {
            var be = Vector512.Create(beta);
            Vector512.FusedMultiplyAdd(v0, alpha, Vector512.Load(c) * be).Store(c);
            Vector512.FusedMultiplyAdd(v1, alpha, Vector512.Load(c + 16) * be).Store(c + 16);
        }
    }
}

/// <summary>
/// 6 x 8 tile in twelve 128-bit accumulators: the portable fallback (SSE, Arm64 AdvSimd), fused where the
/// hardware has FMA (MultiplyAddEstimate), multiply-then-add otherwise.
/// </summary>
internal struct MicroKernel128 : IGemmMicroKernel
{
    public static int MR => 6;

    public static int NR => 8;

    public static int MC => 144;

    public static int KC => 256;

    public static int NC => 4080;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float alpha, float beta)
    {
        GemmPrefetch.Tile(c, ldc, 6, 8);
        Vector128<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector128<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (nint q = 0; q < kc; q++)
        {
            var b0 = Vector128.Load(b);
            var b1 = Vector128.Load(b + 4);
            var av = Vector128.Create(a[0]);
            c00 = Vector128.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector128.MultiplyAddEstimate(av, b1, c01);
            av = Vector128.Create(a[1]);
            c10 = Vector128.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector128.MultiplyAddEstimate(av, b1, c11);
            av = Vector128.Create(a[2]);
            c20 = Vector128.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector128.MultiplyAddEstimate(av, b1, c21);
            av = Vector128.Create(a[3]);
            c30 = Vector128.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector128.MultiplyAddEstimate(av, b1, c31);
            av = Vector128.Create(a[4]);
            c40 = Vector128.MultiplyAddEstimate(av, b0, c40);
            c41 = Vector128.MultiplyAddEstimate(av, b1, c41);
            av = Vector128.Create(a[5]);
            c50 = Vector128.MultiplyAddEstimate(av, b0, c50);
            c51 = Vector128.MultiplyAddEstimate(av, b1, c51);
            a += 6;
            b += ldb;
        }

        var al = Vector128.Create(alpha);
        Store(c, c00, c01, al, beta);
        Store(c + ldc, c10, c11, al, beta);
        Store(c + (2 * ldc), c20, c21, al, beta);
        Store(c + (3 * ldc), c30, c31, al, beta);
        Store(c + (4 * ldc), c40, c41, al, beta);
        Store(c + (5 * ldc), c50, c51, al, beta);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store(float* c, Vector128<float> v0, Vector128<float> v1, Vector128<float> alpha, float beta)
    {
        if (beta == 0f)
        {
            (v0 * alpha).Store(c);
            (v1 * alpha).Store(c + 4);
        }
        else if (beta == 1f)
        {
            Vector128.MultiplyAddEstimate(v0, alpha, Vector128.Load(c)).Store(c);
            Vector128.MultiplyAddEstimate(v1, alpha, Vector128.Load(c + 4)).Store(c + 4);
        }
        else
        {
            var be = Vector128.Create(beta);
            Vector128.MultiplyAddEstimate(v0, alpha, Vector128.Load(c) * be).Store(c);
            Vector128.MultiplyAddEstimate(v1, alpha, Vector128.Load(c + 4) * be).Store(c + 4);
        }
    }
}

/// <summary>
/// Prefetches a C tile into L1; the wide kernels call it 64 steps before the end of the K loop (earlier, the streamed
/// panels would evict it again), so the tile's loads and stores at the end do not stall on memory.
/// </summary>
internal static class GemmPrefetch
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Tile(float* c, nint ldc, int rows, int cols)
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        for (int r = 0; r < rows; r++)
        {
            float* row = c + (r * ldc);
            Sse.Prefetch0(row);
            Sse.Prefetch0(row + cols - 1);
        }
    }

    /// <summary>Prefetches the op(B) elements of the next micro-panel (rows p0.., columns j0..) that a task packs itself.</summary>
    public static unsafe void BPanel(float* b, nint ldb, bool transB, int p0, int kc, int j0, int cols)
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        if (!transB)
        {
            float* src = b + (p0 * ldb) + j0;
            for (int q = 0; q < kc; q++)
            {
                Sse.Prefetch0(src + (q * ldb));
                Sse.Prefetch0(src + (q * ldb) + cols - 1);
            }

            return;
        }

        for (int x = 0; x < cols; x++)
        {
            float* src = b + ((j0 + x) * ldb) + p0;
            for (int q = 0; q < kc; q += 16)
            {
                Sse.Prefetch0(src + q);
            }
        }
    }
}

