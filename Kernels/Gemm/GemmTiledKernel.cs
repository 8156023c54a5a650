// Tiled, register-blocked GEMM for GPUs: 64x64 output tiles per group of 16x16 threads, each thread keeping
// a 4x4 block of C in named scalar accumulators (arrays in kernels spill to local memory).
using ILGPU;

namespace Engine.Kernels.Gemm;

/// <summary>
/// Shared-memory tiled GEMM. Launch with groups of <see cref="GroupSize"/> x <see cref="GroupSize"/> threads over a
/// grid of (ceil(N / <see cref="Tile"/>), ceil(M / <see cref="Tile"/>), Batch) groups. Thread (tx, ty) owns rows
/// ty + 16r and columns tx + 16c (r, c in 0..3) of its tile, so warp reads of the B tile are consecutive and reads of
/// the A tile are broadcasts.
/// </summary>
public static class GemmTiledKernel
{
    /// <summary>Output tile edge (rows and columns per group).</summary>
    public const int Tile = 64;

    /// <summary>Depth of the K slice staged in shared memory per iteration.</summary>
    public const int TileK = 16;

    /// <summary>Threads per group edge.</summary>
    public const int GroupSize = 16;

    // Row pitch of the shared tiles, padded by one to spread stores across banks.
    private const int Pitch = Tile + 1;

    /// <summary>Kernel entry (explicitly grouped).</summary>
    public static void Run(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmParams p)
    {
        var sa = SharedMemory.Allocate<float>(TileK * Pitch); // sa[k * Pitch + m] = A(rowBase + m, k0 + k)
        var sb = SharedMemory.Allocate<float>(TileK * Pitch); // sb[k * Pitch + n] = B(k0 + k, colBase + n)
        int tx = Group.IdxX;
        int ty = Group.IdxY;
        int tid = (ty * GroupSize) + tx;
        int rowBase = Grid.IdxY * Tile;
        int colBase = Grid.IdxX * Tile;
        long batch = Grid.IdxZ;
        int m = p.M;
        int n = p.N;
        int kTotal = p.K;
        int lda = p.Lda;
        int ldb = p.Ldb;
        bool transA = p.TransA != 0;
        bool transB = p.TransB != 0;
        long aBase = batch * p.StrideA;
        long bBase = batch * p.StrideB;

        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f;
        float c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f;
        float c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f;
        float c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f;

        for (int k0 = 0; k0 < kTotal; k0 += TileK)
        {
            // Stage A and B: 1024 elements each, four per thread, read along each operand's contiguous axis.
            for (int l = 0; l < 4; l++)
            {
                int e = tid + (l * GroupSize * GroupSize);
                int am = transA ? e & (Tile - 1) : e >> 4;
                int ak = transA ? e >> 6 : e & (TileK - 1);
                int gm = rowBase + am;
                int gk = k0 + ak;
                float av = 0f;
                if (gm < m && gk < kTotal)
                {
                    av = transA ? a[aBase + ((long)gk * lda) + gm] : a[aBase + ((long)gm * lda) + gk];
                }

                sa[(ak * Pitch) + am] = av;

                int bn = transB ? e >> 4 : e & (Tile - 1);
                int bk = transB ? e & (TileK - 1) : e >> 6;
                int gn = colBase + bn;
                int gkb = k0 + bk;
                float bv = 0f;
                if (gn < n && gkb < kTotal)
                {
                    bv = transB ? b[bBase + ((long)gn * ldb) + gkb] : b[bBase + ((long)gkb * ldb) + gn];
                }

                sb[(bk * Pitch) + bn] = bv;
            }

            Group.Barrier();

            for (int k = 0; k < TileK; k++)
            {
                int ka = (k * Pitch) + ty;
                int kb = (k * Pitch) + tx;
                float a0 = sa[ka];
                float a1 = sa[ka + 16];
                float a2 = sa[ka + 32];
                float a3 = sa[ka + 48];
                float b0 = sb[kb];
                float b1 = sb[kb + 16];
                float b2 = sb[kb + 32];
                float b3 = sb[kb + 48];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }

            Group.Barrier();
        }

        long cBase = batch * p.StrideC;
        int r0 = rowBase + ty;
        int q0 = colBase + tx;
        Store(c, p, cBase, r0, q0, c00); Store(c, p, cBase, r0, q0 + 16, c01); Store(c, p, cBase, r0, q0 + 32, c02); Store(c, p, cBase, r0, q0 + 48, c03);
        Store(c, p, cBase, r0 + 16, q0, c10); Store(c, p, cBase, r0 + 16, q0 + 16, c11); Store(c, p, cBase, r0 + 16, q0 + 32, c12); Store(c, p, cBase, r0 + 16, q0 + 48, c13);
        Store(c, p, cBase, r0 + 32, q0, c20); Store(c, p, cBase, r0 + 32, q0 + 16, c21); Store(c, p, cBase, r0 + 32, q0 + 32, c22); Store(c, p, cBase, r0 + 32, q0 + 48, c23);
        Store(c, p, cBase, r0 + 48, q0, c30); Store(c, p, cBase, r0 + 48, q0 + 16, c31); Store(c, p, cBase, r0 + 48, q0 + 32, c32); Store(c, p, cBase, r0 + 48, q0 + 48, c33);
    }

    private static void Store(ArrayView<float> c, GemmParams p, long cBase, int row, int col, float acc)
    {
        if (row < p.M && col < p.N)
        {
            long ci = cBase + ((long)row * p.Ldc) + col;
            c[ci] = p.Beta == 0f ? p.Alpha * acc : (p.Alpha * acc) + (p.Beta * c[ci]);
        }
    }
}
