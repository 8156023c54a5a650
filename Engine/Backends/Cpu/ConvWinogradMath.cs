// The transforms of Winograd F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2015)
// that ConvWinograd.cs runs around its products, with the matrices written out as adds:
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   (input tile d, 4x4:   V = B^T d B)
//   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1] (kernel g, 3x3:       U = G g G^T)
//   A^T = [1 1 1 0; 0 1 -1 -1]                      (product M = U .* V:  Y = A^T M A, the 2x2 outputs)
// which compute the cross-correlation y[i][j] = sum over k, l < 3 of d[i + k][j + l] g[k][l]. Vectors run over
// consecutive tiles (256-bit; the transforms are a small part of the work).
using System.Runtime.CompilerServices;
using System;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Engine.Backends.Cpu;

/// <summary>Weight, input and output transforms of Winograd F(2x2, 3x3) and the store of the output tiles.</summary>
internal static unsafe class ConvWinogradMath
{
    /// <summary>
    /// u[xi] (outPad x cin, packed in panels of <paramref name="mr"/> rows as ShiftPlanes.PackRows does, zero past cout) =
    /// (G g G^T)[xi] for g = w[co, ci] (w: cout x cin x 3 x 3) or, <paramref name="flip"/>, g = the kernel of the input
    /// gradient: w[ci, co] rotated by 180 degrees (w: cin x cout x 3 x 3).
    /// </summary>
    public static void TransformWeights(float* w, int cin, int cout, bool flip, int mr, int outPad, float* u)
    {
        new Span<float>(u, checked(16 * outPad * cin)).Clear();
        float* g = stackalloc float[9];
        float* t = stackalloc float[12];
        for (int co = 0; co < cout; co++)
        {
            for (int ci = 0; ci < cin; ci++)
            {
                float* k = w + ((flip ? ((long)ci * cout) + co : ((long)co * cin) + ci) * 9);
                for (int i = 0; i < 9; i++)
                {
                    g[i] = flip ? k[8 - i] : k[i];
                }

                // t = G g (4 x 3), then U = t G^T (4 x 4).
                for (int c = 0; c < 3; c++)
                {
                    float g0 = g[c], g1 = g[3 + c], g2 = g[6 + c];
                    t[c] = g0;
                    t[3 + c] = 0.5f * (g0 + g1 + g2);
                    t[6 + c] = 0.5f * (g0 - g1 + g2);
                    t[9 + c] = g2;
                }

                float* dst = u + ((long)(co / mr) * cin * mr) + ((long)ci * mr) + (co % mr);
                long xiStride = (long)outPad * cin;
                for (int r = 0; r < 4; r++)
                {
                    float t0 = t[3 * r], t1 = t[(3 * r) + 1], t2 = t[(3 * r) + 2];
                    dst[((4 * r) + 0) * xiStride] = t0;
                    dst[((4 * r) + 1) * xiStride] = 0.5f * (t0 + t1 + t2);
                    dst[((4 * r) + 2) * xiStride] = 0.5f * (t0 - t1 + t2);
                    dst[((4 * r) + 3) * xiStride] = t2;
                }
            }
        }
    }

    /// <summary>
    /// The runs of a block of tiles: tiles t = p0 + j (j &lt; count) of a unit, numbered image by image, row by row
    /// ((g * tileH + ty) * tileW + tx), cut where a tile row ends; each run's first tile in the phase planes (rows of
    /// <paramref name="wp"/>, <paramref name="rows"/> per image). Returns how many (at most count).
    /// </summary>
    public static int Runs(int p0, int count, int tileH, int tileW, int rows, int wp, TileRun* runs)
    {
        int n = 0, perImage = tileH * tileW;
        for (int j = 0; j < count;)
        {
            int t = p0 + j, g = t / perImage, rem = t - (g * perImage), ty = rem / tileW, tx = rem - (ty * tileW);
            int len = Math.Min(tileW - tx, count - j);
            runs[n++] = new TileRun { J = j, Len = len, Image = g, Ty = ty, Tx = tx, Src = (((g * rows) + ty) * wp) + tx };
            j += len;
        }

        return n;
    }

    /// <summary>
    /// v[xi][ci][j] (16 x cin x nr, xi Stride(cin, nr) apart) = (B^T d B)[xi] of the block's tiles (runs), whose 4x4
    /// patches d lie in the phase planes at <paramref name="pad"/> (channel ci's phase (a, b) plane at (4 ci + 2 a + b) *
    /// plane; patch row k, column l of a run's i-th tile at phase (k % 2, l % 2), Src + i + (k / 2) * wp + l / 2). Runs
    /// are taken 8 tiles at a time: lanes past a run's end are written and then overwritten by the next run or channel
    /// (or land in the stride's slack), so the columns past the block's tiles hold garbage.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void InputTransform(float* pad, int cin, long plane, int wp, TileRun* runs, int nRuns, int nr, float* v)
    {
        long xs = Stride(cin, nr);
        for (int ci = 0; ci < cin; ci++)
        {
            float* dst = v + ((long)ci * nr);
            for (int r = 0; r < nRuns; r++)
            {
                var run = runs[r];
                float* p00 = pad + (4 * ci * plane) + run.Src, p01 = p00 + plane, p10 = p01 + plane, p11 = p10 + plane;
                for (int j = 0; j < run.Len; j += 8)
                {
                    // Rows of the patch: k = 0, 2 from phase row 0 (k = 2 one phase row down), k = 1, 3 from phase row 1.
                    var d00 = Vector256.Load(p00 + j); var d01 = Vector256.Load(p01 + j); var d02 = Vector256.Load(p00 + j + 1); var d03 = Vector256.Load(p01 + j + 1);
                    var d10 = Vector256.Load(p10 + j); var d11 = Vector256.Load(p11 + j); var d12 = Vector256.Load(p10 + j + 1); var d13 = Vector256.Load(p11 + j + 1);
                    var d20 = Vector256.Load(p00 + wp + j); var d21 = Vector256.Load(p01 + wp + j); var d22 = Vector256.Load(p00 + wp + j + 1); var d23 = Vector256.Load(p01 + wp + j + 1);
                    var d30 = Vector256.Load(p10 + wp + j); var d31 = Vector256.Load(p11 + wp + j); var d32 = Vector256.Load(p10 + wp + j + 1); var d33 = Vector256.Load(p11 + wp + j + 1);

                    // t = B^T d, row by row of the result.
                    var t00 = d00 - d20; var t01 = d01 - d21; var t02 = d02 - d22; var t03 = d03 - d23;
                    var t10 = d10 + d20; var t11 = d11 + d21; var t12 = d12 + d22; var t13 = d13 + d23;
                    var t20 = d20 - d10; var t21 = d21 - d11; var t22 = d22 - d12; var t23 = d23 - d13;
                    var t30 = d10 - d30; var t31 = d11 - d31; var t32 = d12 - d32; var t33 = d13 - d33;

                    // V = t B.
                    float* o = dst + run.J + j;
                    Row(t00, t01, t02, t03, o, xs);
                    Row(t10, t11, t12, t13, o + (4 * xs), xs);
                    Row(t20, t21, t22, t23, o + (8 * xs), xs);
                    Row(t30, t31, t32, t33, o + (12 * xs), xs);
                }
            }
        }
    }

    /// <summary>
    /// o[ab][co][j] (4 x cout x nr, ab = 2 a + b) = (A^T m A)[a][b] of m[xi][co][j] (16 x outPad x nr).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void OutputTransform(float* m, int cout, int outPad, int nr, float* o)
    {
        long xs = Stride(outPad, nr), os = Stride(cout, nr);
        for (int co = 0; co < cout; co++)
        {
            float* src = m + ((long)co * nr);
            float* dst = o + ((long)co * nr);
            for (int j = 0; j < nr; j += 8)
            {
                float* s = src + j;
                // s = A^T m: row 0 = m0 + m1 + m2, row 1 = m1 - m2 - m3 (rows of the 4 x 4 m).
                var m1 = Load4(s + (4 * xs), xs, out var m1b, out var m1c, out var m1d);
                var m2 = Load4(s + (8 * xs), xs, out var m2b, out var m2c, out var m2d);
                var m0 = Load4(s, xs, out var m0b, out var m0c, out var m0d);
                var m3 = Load4(s + (12 * xs), xs, out var m3b, out var m3c, out var m3d);
                var s00 = m0 + m1 + m2; var s01 = m0b + m1b + m2b; var s02 = m0c + m1c + m2c; var s03 = m0d + m1d + m2d;
                var s10 = m1 - m2 - m3; var s11 = m1b - m2b - m3b; var s12 = m1c - m2c - m3c; var s13 = m1d - m2d - m3d;

                // Y = s A.
                (s00 + s01 + s02).Store(dst + j);
                (s01 - s02 - s03).Store(dst + os + j);
                (s10 + s11 + s12).Store(dst + (2 * os) + j);
                (s11 - s12 - s13).Store(dst + (3 * os) + j);
            }
        }
    }

    /// <summary>
    /// y = o[ab][co][j] + bias[co] (0 when null) + beta * y at image g, channel co, row 2 ty + a, column 2 tx + b for
    /// the block's tiles (runs; images h x w, <paramref name="image"/> floats apart; outputs past the planes are
    /// dropped). Runs of 8 tiles inside the planes interleave their columns in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scatter(float* o, int cout, int nr, TileRun* runs, int nRuns, int h, int w, float* bias, float* y, long image, float beta)
    {
        long os = Stride(cout, nr), planeSize = (long)h * w;
        int fullW = w / 2; // tiles whose two columns are both inside the plane
        for (int co = 0; co < cout; co++)
        {
            float bc = bias == null ? 0f : bias[co];
            for (int ri = 0; ri < nRuns; ri++)
            {
                var run = runs[ri];
                float* src = o + ((long)co * nr) + run.J;
                int r = 2 * run.Ty, tx = run.Tx;
                bool below = r + 1 < h;
                float* row = y + (run.Image * image) + (co * planeSize) + ((long)r * w);
                int i = 0;
                if (Avx.IsSupported)
                {
                    for (; i + 8 <= run.Len && tx + i + 8 <= fullW; i += 8)
                    {
                        float* s = src + i;
                        Interleave(Vector256.Load(s), Vector256.Load(s + os), row + (2 * (tx + i)), bc, beta);
                        if (below)
                        {
                            Interleave(Vector256.Load(s + (2 * os)), Vector256.Load(s + (3 * os)), row + w + (2 * (tx + i)), bc, beta);
                        }
                    }
                }

                for (; i < run.Len; i++)
                {
                    int c = 2 * (tx + i);
                    float* at = row + c;
                    float* s = src + i;
                    bool right = c + 1 < w;
                    Put(at, s[0] + bc, beta);
                    if (right)
                    {
                        Put(at + 1, s[os] + bc, beta);
                    }

                    if (below)
                    {
                        Put(at + w, s[2 * os] + bc, beta);
                        if (right)
                        {
                            Put(at + w + 1, s[3 * os] + bc, beta);
                        }
                    }
                }
            }
        }
    }

    // dst[0..16) = (a0, b0, a1, b1, ..., a7, b7) + bias + beta * dst.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Interleave(Vector256<float> a, Vector256<float> b, float* dst, float bias, float beta)
    {
        var lo = Avx.UnpackLow(a, b);
        var hi = Avx.UnpackHigh(a, b);
        var first = Avx.Permute2x128(lo, hi, 0x20) + Vector256.Create(bias);
        var second = Avx.Permute2x128(lo, hi, 0x31) + Vector256.Create(bias);
        if (beta != 0f)
        {
            first += Vector256.Create(beta) * Vector256.Load(dst);
            second += Vector256.Create(beta) * Vector256.Load(dst + 8);
        }

        first.Store(dst);
        second.Store(dst + 8);
    }

    // y = v + beta * y, where beta = 0 overwrites whatever y held (NaN included).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* y, float v, float beta) => *y = beta == 0f ? v : v + (beta * *y);

    /// <summary>
    /// Floats between consecutive transform positions (or output phases) of a block of <paramref name="rows"/> x
    /// <paramref name="nr"/>: 64 bytes more than the block, so the 16 (or 4) streams a transform reads or writes do not
    /// fall on the same cache sets (rows x nr floats is a multiple of 2 KB for the usual channel counts).
    /// </summary>
    public static long Stride(int rows, int nr) => ((long)rows * nr) + 16;

    // One row of V = t B: (t0 - t2, t1 + t2, t2 - t1, t1 - t3) into four transform positions xs apart.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row(Vector256<float> t0, Vector256<float> t1, Vector256<float> t2, Vector256<float> t3, float* o, long xs)
    {
        (t0 - t2).Store(o);
        (t1 + t2).Store(o + xs);
        (t2 - t1).Store(o + (2 * xs));
        (t1 - t3).Store(o + (3 * xs));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Load4(float* s, long xs, out Vector256<float> b, out Vector256<float> c, out Vector256<float> d)
    {
        b = Vector256.Load(s + xs);
        c = Vector256.Load(s + (2 * xs));
        d = Vector256.Load(s + (3 * xs));
        return Vector256.Load(s);
    }
}

/// <summary>Consecutive tiles of one tile row in a block (ConvWinogradMath.Runs).</summary>
internal struct TileRun
{
    /// <summary>First tile's place in the block.</summary>
    public int J;

    /// <summary>Tiles in the run.</summary>
    public int Len;

    /// <summary>The first tile's image in the unit, tile row and column.</summary>
    public int Image, Ty, Tx;

    /// <summary>The first tile's shift in the unit's phase planes.</summary>
    public int Src;
}
