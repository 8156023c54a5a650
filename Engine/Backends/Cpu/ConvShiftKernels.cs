// Register-blocked micro-kernels of the shift (implicit-GEMM) convolution in ConvShift.cs: they read the zero-padded
// image in place through a table of tap offsets, so no column matrix is ever written. Two products, each for 512-bit
// (AVX-512) and 256-bit (AVX2 + FMA) vectors; every width runs everywhere (software fallback), so tests check both.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Engine.Backends.Cpu;

/// <summary>
/// Output tile: <c>c[r, j] = sum over q &lt; k of a[q * MR + r] * x[off[q] + j]</c> for MR rows (output channels,
/// broadcast from packed weights) and NR positions (vector lanes, contiguous in the padded image); c is MR x NR, pitch NR.
/// </summary>
internal interface IConvShiftTile
{
    /// <summary>Output channels per tile.</summary>
    static abstract int MR { get; }

    /// <summary>Positions per tile (a multiple of the vector width).</summary>
    static abstract int NR { get; }

    /// <summary>Computes one tile into <paramref name="c"/> (overwritten).</summary>
    static abstract unsafe void Run(int k, float* a, float* x, int* off, float* c);
}

/// <summary>
/// Weight-gradient tile: <c>c[r, j] += sum over t &lt; p of x[off[r] + t] * d[t * ldd + j]</c> for MQ taps (broadcast
/// from the padded image) and NC output channels (vector lanes of the transposed output gradient); c has pitch ldc.
/// </summary>
internal interface IConvShiftGradTile
{
    /// <summary>Taps (rows of the transposed weight gradient) per tile.</summary>
    static abstract int MQ { get; }

    /// <summary>Output channels per tile (a multiple of the vector width).</summary>
    static abstract int NC { get; }

    /// <summary>Adds one tile's sums over <paramref name="p"/> positions into <paramref name="c"/>.</summary>
    static abstract unsafe void Run(int p, float* x, int* off, float* d, nint ldd, float* c, nint ldc);
}

/// <summary>8 x 32 output tile in sixteen 512-bit accumulators.</summary>
internal struct ConvShiftTile512 : IConvShiftTile
{
    public static int MR => 8;

    public static int NR => 32;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(int k, float* a, float* x, int* off, float* c)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int q = 0; q < k; q++)
        {
            float* xb = x + off[q];
            var b0 = Vector512.Load(xb);
            var b1 = Vector512.Load(xb + 16);
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
            a += 8;
        }

        c00.Store(c); c01.Store(c + 16); c10.Store(c + 32); c11.Store(c + 48);
        c20.Store(c + 64); c21.Store(c + 80); c30.Store(c + 96); c31.Store(c + 112);
        c40.Store(c + 128); c41.Store(c + 144); c50.Store(c + 160); c51.Store(c + 176);
        c60.Store(c + 192); c61.Store(c + 208); c70.Store(c + 224); c71.Store(c + 240);
    }
}

/// <summary>6 x 16 output tile in twelve 256-bit accumulators.</summary>
internal struct ConvShiftTile256 : IConvShiftTile
{
    public static int MR => 6;

    public static int NR => 16;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(int k, float* a, float* x, int* off, float* c)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int q = 0; q < k; q++)
        {
            float* xb = x + off[q];
            var b0 = Vector256.Load(xb);
            var b1 = Vector256.Load(xb + 8);
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
        }

        c00.Store(c); c01.Store(c + 8); c10.Store(c + 16); c11.Store(c + 24);
        c20.Store(c + 32); c21.Store(c + 40); c30.Store(c + 48); c31.Store(c + 56);
        c40.Store(c + 64); c41.Store(c + 72); c50.Store(c + 80); c51.Store(c + 88);
    }
}

/// <summary>8 taps x 32 channels weight-gradient tile in sixteen 512-bit accumulators.</summary>
internal struct ConvShiftGradTile512 : IConvShiftGradTile
{
    public static int MQ => 8;

    public static int NC => 32;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(int p, float* x, int* off, float* d, nint ldd, float* c, nint ldc)
    {
        float* x0 = x + off[0], x1 = x + off[1], x2 = x + off[2], x3 = x + off[3];
        float* x4 = x + off[4], x5 = x + off[5], x6 = x + off[6], x7 = x + off[7];
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (nint t = 0; t < p; t++)
        {
            var d0 = Vector512.Load(d);
            var d1 = Vector512.Load(d + 16);
            var xv = Vector512.Create(x0[t]);
            c00 = Vector512.FusedMultiplyAdd(xv, d0, c00);
            c01 = Vector512.FusedMultiplyAdd(xv, d1, c01);
            xv = Vector512.Create(x1[t]);
            c10 = Vector512.FusedMultiplyAdd(xv, d0, c10);
            c11 = Vector512.FusedMultiplyAdd(xv, d1, c11);
            xv = Vector512.Create(x2[t]);
            c20 = Vector512.FusedMultiplyAdd(xv, d0, c20);
            c21 = Vector512.FusedMultiplyAdd(xv, d1, c21);
            xv = Vector512.Create(x3[t]);
            c30 = Vector512.FusedMultiplyAdd(xv, d0, c30);
            c31 = Vector512.FusedMultiplyAdd(xv, d1, c31);
            xv = Vector512.Create(x4[t]);
            c40 = Vector512.FusedMultiplyAdd(xv, d0, c40);
            c41 = Vector512.FusedMultiplyAdd(xv, d1, c41);
            xv = Vector512.Create(x5[t]);
            c50 = Vector512.FusedMultiplyAdd(xv, d0, c50);
            c51 = Vector512.FusedMultiplyAdd(xv, d1, c51);
            xv = Vector512.Create(x6[t]);
            c60 = Vector512.FusedMultiplyAdd(xv, d0, c60);
            c61 = Vector512.FusedMultiplyAdd(xv, d1, c61);
            xv = Vector512.Create(x7[t]);
            c70 = Vector512.FusedMultiplyAdd(xv, d0, c70);
            c71 = Vector512.FusedMultiplyAdd(xv, d1, c71);
            d += ldd;
        }

        Add(c, c00, c01);
        Add(c + ldc, c10, c11);
        Add(c + (2 * ldc), c20, c21);
        Add(c + (3 * ldc), c30, c31);
        Add(c + (4 * ldc), c40, c41);
        Add(c + (5 * ldc), c50, c51);
        Add(c + (6 * ldc), c60, c61);
        Add(c + (7 * ldc), c70, c71);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Add(float* c, Vector512<float> v0, Vector512<float> v1)
    {
        (Vector512.Load(c) + v0).Store(c);
        (Vector512.Load(c + 16) + v1).Store(c + 16);
    }
}

/// <summary>6 taps x 16 channels weight-gradient tile in twelve 256-bit accumulators.</summary>
internal struct ConvShiftGradTile256 : IConvShiftGradTile
{
    public static int MQ => 6;

    public static int NC => 16;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(int p, float* x, int* off, float* d, nint ldd, float* c, nint ldc)
    {
        float* x0 = x + off[0], x1 = x + off[1], x2 = x + off[2], x3 = x + off[3], x4 = x + off[4], x5 = x + off[5];
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (nint t = 0; t < p; t++)
        {
            var d0 = Vector256.Load(d);
            var d1 = Vector256.Load(d + 8);
            var xv = Vector256.Create(x0[t]);
            c00 = Vector256.FusedMultiplyAdd(xv, d0, c00);
            c01 = Vector256.FusedMultiplyAdd(xv, d1, c01);
            xv = Vector256.Create(x1[t]);
            c10 = Vector256.FusedMultiplyAdd(xv, d0, c10);
            c11 = Vector256.FusedMultiplyAdd(xv, d1, c11);
            xv = Vector256.Create(x2[t]);
            c20 = Vector256.FusedMultiplyAdd(xv, d0, c20);
            c21 = Vector256.FusedMultiplyAdd(xv, d1, c21);
            xv = Vector256.Create(x3[t]);
            c30 = Vector256.FusedMultiplyAdd(xv, d0, c30);
            c31 = Vector256.FusedMultiplyAdd(xv, d1, c31);
            xv = Vector256.Create(x4[t]);
            c40 = Vector256.FusedMultiplyAdd(xv, d0, c40);
            c41 = Vector256.FusedMultiplyAdd(xv, d1, c41);
            xv = Vector256.Create(x5[t]);
            c50 = Vector256.FusedMultiplyAdd(xv, d0, c50);
            c51 = Vector256.FusedMultiplyAdd(xv, d1, c51);
            d += ldd;
        }

        Add(c, c00, c01);
        Add(c + ldc, c10, c11);
        Add(c + (2 * ldc), c20, c21);
        Add(c + (3 * ldc), c30, c31);
        Add(c + (4 * ldc), c40, c41);
        Add(c + (5 * ldc), c50, c51);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Add(float* c, Vector256<float> v0, Vector256<float> v1)
    {
        (Vector256.Load(c) + v0).Store(c);
        (Vector256.Load(c + 8) + v1).Store(c + 8);
    }
}
