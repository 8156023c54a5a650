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

    /// <summary>The first NR / 2 positions of a tile (the last tile of a row of outputs that ends early), same layout.</summary>
    static abstract unsafe void RunHalf(int k, float* a, float* x, int* off, float* c);
}

/// <summary>
/// Weight-gradient tile: <c>c[r, j] += sum over t of x[off[r] + (t / cols) * wp + t % cols] * d[t * ldd + j]</c>, t &lt;
/// rows * cols (the output positions, row by row, skipping the wide columns), for MQ taps (broadcast from the padded
/// image) and NC output channels (vector lanes of the transposed output gradient); c has pitch ldc.
/// </summary>
internal interface IConvShiftGradTile
{
    /// <summary>Taps (rows of the transposed weight gradient) per tile.</summary>
    static abstract int MQ { get; }

    /// <summary>Output channels per tile (a multiple of the vector width).</summary>
    static abstract int NC { get; }

    /// <summary>Adds one tile's sums over <paramref name="rows"/> x <paramref name="cols"/> positions into <paramref name="c"/>.</summary>
    static abstract unsafe void Run(int rows, int cols, int wp, float* x, int* off, float* d, nint ldd, float* c, nint ldc);
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void RunHalf(int k, float* a, float* x, int* off, float* c)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        for (int q = 0; q < k; q++)
        {
            var b0 = Vector512.Load(x + off[q]);
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a[0]), b0, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(a[1]), b0, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(a[2]), b0, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(a[3]), b0, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(a[4]), b0, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(a[5]), b0, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(a[6]), b0, c6);
            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(a[7]), b0, c7);
            a += 8;
        }

        c0.Store(c + 0);
        c1.Store(c + 32);
        c2.Store(c + 64);
        c3.Store(c + 96);
        c4.Store(c + 128);
        c5.Store(c + 160);
        c6.Store(c + 192);
        c7.Store(c + 224);
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void RunHalf(int k, float* a, float* x, int* off, float* c)
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        for (int q = 0; q < k; q++)
        {
            var b0 = Vector256.Load(x + off[q]);
            c0 = Vector256.FusedMultiplyAdd(Vector256.Create(a[0]), b0, c0);
            c1 = Vector256.FusedMultiplyAdd(Vector256.Create(a[1]), b0, c1);
            c2 = Vector256.FusedMultiplyAdd(Vector256.Create(a[2]), b0, c2);
            c3 = Vector256.FusedMultiplyAdd(Vector256.Create(a[3]), b0, c3);
            c4 = Vector256.FusedMultiplyAdd(Vector256.Create(a[4]), b0, c4);
            c5 = Vector256.FusedMultiplyAdd(Vector256.Create(a[5]), b0, c5);
            a += 6;
        }

        c0.Store(c + 0);
        c1.Store(c + 16);
        c2.Store(c + 32);
        c3.Store(c + 48);
        c4.Store(c + 64);
        c5.Store(c + 80);
    }
}

/// <summary>8 taps x 32 channels weight-gradient tile in sixteen 512-bit accumulators.</summary>
internal struct ConvShiftGradTile512 : IConvShiftGradTile
{
    public static int MQ => 8;

    public static int NC => 32;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(int rows, int cols, int wp, float* x, int* off, float* d, nint ldd, float* c, nint ldc)
    {
        float* x0 = x + off[0], x1 = x + off[1], x2 = x + off[2], x3 = x + off[3];
        float* x4 = x + off[4], x5 = x + off[5], x6 = x + off[6], x7 = x + off[7];
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (nint t0 = 0, end = (nint)rows * wp; t0 < end; t0 += wp)
        {
            for (nint t = t0; t < t0 + cols; t++)
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
    public static unsafe void Run(int rows, int cols, int wp, float* x, int* off, float* d, nint ldd, float* c, nint ldc)
    {
        float* x0 = x + off[0], x1 = x + off[1], x2 = x + off[2], x3 = x + off[3], x4 = x + off[4], x5 = x + off[5];
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (nint t0 = 0, end = (nint)rows * wp; t0 < end; t0 += wp)
        {
            for (nint t = t0; t < t0 + cols; t++)
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

/// <summary>16 taps x 16 channels weight-gradient tile in sixteen 512-bit accumulators (layers with 16 channels per group).</summary>
internal struct ConvShiftGradTile512Narrow : IConvShiftGradTile
{
    public static int MQ => 16;

    public static int NC => 16;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(int rows, int cols, int wp, float* x, int* off, float* d, nint ldd, float* c, nint ldc)
    {
        float* x0 = x + off[0], x1 = x + off[1], x2 = x + off[2], x3 = x + off[3];
        float* x4 = x + off[4], x5 = x + off[5], x6 = x + off[6], x7 = x + off[7];
        float* x8 = x + off[8], x9 = x + off[9], x10 = x + off[10], x11 = x + off[11];
        float* x12 = x + off[12], x13 = x + off[13], x14 = x + off[14], x15 = x + off[15];
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        Vector512<float> c8 = default, c9 = default, c10 = default, c11 = default, c12 = default, c13 = default, c14 = default, c15 = default;
        for (nint t0 = 0, end = (nint)rows * wp; t0 < end; t0 += wp)
        {
            for (nint t = t0; t < t0 + cols; t++)
            {
                var dv = Vector512.Load(d);
                c0 = Vector512.FusedMultiplyAdd(Vector512.Create(x0[t]), dv, c0);
                c1 = Vector512.FusedMultiplyAdd(Vector512.Create(x1[t]), dv, c1);
                c2 = Vector512.FusedMultiplyAdd(Vector512.Create(x2[t]), dv, c2);
                c3 = Vector512.FusedMultiplyAdd(Vector512.Create(x3[t]), dv, c3);
                c4 = Vector512.FusedMultiplyAdd(Vector512.Create(x4[t]), dv, c4);
                c5 = Vector512.FusedMultiplyAdd(Vector512.Create(x5[t]), dv, c5);
                c6 = Vector512.FusedMultiplyAdd(Vector512.Create(x6[t]), dv, c6);
                c7 = Vector512.FusedMultiplyAdd(Vector512.Create(x7[t]), dv, c7);
                c8 = Vector512.FusedMultiplyAdd(Vector512.Create(x8[t]), dv, c8);
                c9 = Vector512.FusedMultiplyAdd(Vector512.Create(x9[t]), dv, c9);
                c10 = Vector512.FusedMultiplyAdd(Vector512.Create(x10[t]), dv, c10);
                c11 = Vector512.FusedMultiplyAdd(Vector512.Create(x11[t]), dv, c11);
                c12 = Vector512.FusedMultiplyAdd(Vector512.Create(x12[t]), dv, c12);
                c13 = Vector512.FusedMultiplyAdd(Vector512.Create(x13[t]), dv, c13);
                c14 = Vector512.FusedMultiplyAdd(Vector512.Create(x14[t]), dv, c14);
                c15 = Vector512.FusedMultiplyAdd(Vector512.Create(x15[t]), dv, c15);
                d += ldd;
            }
        }

        (Vector512.Load(c + (0 * ldc)) + c0).Store(c + (0 * ldc));
        (Vector512.Load(c + (1 * ldc)) + c1).Store(c + (1 * ldc));
        (Vector512.Load(c + (2 * ldc)) + c2).Store(c + (2 * ldc));
        (Vector512.Load(c + (3 * ldc)) + c3).Store(c + (3 * ldc));
        (Vector512.Load(c + (4 * ldc)) + c4).Store(c + (4 * ldc));
        (Vector512.Load(c + (5 * ldc)) + c5).Store(c + (5 * ldc));
        (Vector512.Load(c + (6 * ldc)) + c6).Store(c + (6 * ldc));
        (Vector512.Load(c + (7 * ldc)) + c7).Store(c + (7 * ldc));
        (Vector512.Load(c + (8 * ldc)) + c8).Store(c + (8 * ldc));
        (Vector512.Load(c + (9 * ldc)) + c9).Store(c + (9 * ldc));
        (Vector512.Load(c + (10 * ldc)) + c10).Store(c + (10 * ldc));
        (Vector512.Load(c + (11 * ldc)) + c11).Store(c + (11 * ldc));
        (Vector512.Load(c + (12 * ldc)) + c12).Store(c + (12 * ldc));
        (Vector512.Load(c + (13 * ldc)) + c13).Store(c + (13 * ldc));
        (Vector512.Load(c + (14 * ldc)) + c14).Store(c + (14 * ldc));
        (Vector512.Load(c + (15 * ldc)) + c15).Store(c + (15 * ldc));
    }
}
