// Tiled, register-blocked GEMM for GPUs: 64x64 output tiles per group of 16x16 threads, each thread keeping
// a 4x4 block of C in named scalar accumulators (arrays in kernels spill to local memory). The K loop over a staged
// slice is unrolled by hand (ILGPU does not unroll): 8 shared loads at constant offsets from two 32-bit addresses and
// 16 FMAs per step (check artifacts/ptx after ./build.sh ptx).
using System.Runtime.CompilerServices;
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

        var acc = default(Block4x4);

        // This thread's first A column entry and B row entry in the staged tiles; step k reads 4 values of each at
        // k * Pitch + {0, 16, 32, 48}.
        ref float aFirst = ref sa[ty];
        ref float bFirst = ref sb[tx];
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
                    av = KernelMath.LoadReadOnly(ref a[transA ? aBase + ((long)gk * lda) + gm : aBase + ((long)gm * lda) + gk]);
                }

                sa[(ak * Pitch) + am] = av;

                int bn = transB ? e >> 4 : e & (Tile - 1);
                int bk = transB ? e & (TileK - 1) : e >> 6;
                int gn = colBase + bn;
                int gkb = k0 + bk;
                float bv = 0f;
                if (gn < n && gkb < kTotal)
                {
                    bv = KernelMath.LoadReadOnly(ref b[transB ? bBase + ((long)gn * ldb) + gkb : bBase + ((long)gkb * ldb) + gn]);
                }

                sb[(bk * Pitch) + bn] = bv;
            }

            Group.Barrier();

            // k = 0 .. TileK - 1, in order (each accumulator is a sequential FMA chain over K, as on the host).
            Step(ref acc, ref aFirst, ref bFirst, 0); Step(ref acc, ref aFirst, ref bFirst, 1);
            Step(ref acc, ref aFirst, ref bFirst, 2); Step(ref acc, ref aFirst, ref bFirst, 3);
            Step(ref acc, ref aFirst, ref bFirst, 4); Step(ref acc, ref aFirst, ref bFirst, 5);
            Step(ref acc, ref aFirst, ref bFirst, 6); Step(ref acc, ref aFirst, ref bFirst, 7);
            Step(ref acc, ref aFirst, ref bFirst, 8); Step(ref acc, ref aFirst, ref bFirst, 9);
            Step(ref acc, ref aFirst, ref bFirst, 10); Step(ref acc, ref aFirst, ref bFirst, 11);
            Step(ref acc, ref aFirst, ref bFirst, 12); Step(ref acc, ref aFirst, ref bFirst, 13);
            Step(ref acc, ref aFirst, ref bFirst, 14); Step(ref acc, ref aFirst, ref bFirst, 15);

            Group.Barrier();
        }

        long cBase = batch * p.StrideC;
        int r0 = rowBase + ty;
        int q0 = colBase + tx;
        Store(c, p, cBase, r0, q0, acc.C00); Store(c, p, cBase, r0, q0 + 16, acc.C01); Store(c, p, cBase, r0, q0 + 32, acc.C02); Store(c, p, cBase, r0, q0 + 48, acc.C03);
        Store(c, p, cBase, r0 + 16, q0, acc.C10); Store(c, p, cBase, r0 + 16, q0 + 16, acc.C11); Store(c, p, cBase, r0 + 16, q0 + 32, acc.C12); Store(c, p, cBase, r0 + 16, q0 + 48, acc.C13);
        Store(c, p, cBase, r0 + 32, q0, acc.C20); Store(c, p, cBase, r0 + 32, q0 + 16, acc.C21); Store(c, p, cBase, r0 + 32, q0 + 32, acc.C22); Store(c, p, cBase, r0 + 32, q0 + 48, acc.C23);
        Store(c, p, cBase, r0 + 48, q0, acc.C30); Store(c, p, cBase, r0 + 48, q0 + 16, acc.C31); Store(c, p, cBase, r0 + 48, q0 + 32, acc.C32); Store(c, p, cBase, r0 + 48, q0 + 48, acc.C33);
    }

    // One k of the staged slice: C(r, c) += A(ty + 16r, k) * B(k, tx + 16c) for the thread's 4x4 block.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(ref Block4x4 t, ref float aFirst, ref float bFirst, int k)
    {
        int o = k * Pitch;
        float a0 = KernelMath.LoadShared(ref aFirst, o);
        float a1 = KernelMath.LoadShared(ref aFirst, o + 16);
        float a2 = KernelMath.LoadShared(ref aFirst, o + 32);
        float a3 = KernelMath.LoadShared(ref aFirst, o + 48);
        float b0 = KernelMath.LoadShared(ref bFirst, o);
        float b1 = KernelMath.LoadShared(ref bFirst, o + 16);
        float b2 = KernelMath.LoadShared(ref bFirst, o + 32);
        float b3 = KernelMath.LoadShared(ref bFirst, o + 48);
        t.C00 = KernelMath.Fma(a0, b0, t.C00); t.C01 = KernelMath.Fma(a0, b1, t.C01); t.C02 = KernelMath.Fma(a0, b2, t.C02); t.C03 = KernelMath.Fma(a0, b3, t.C03);
        t.C10 = KernelMath.Fma(a1, b0, t.C10); t.C11 = KernelMath.Fma(a1, b1, t.C11); t.C12 = KernelMath.Fma(a1, b2, t.C12); t.C13 = KernelMath.Fma(a1, b3, t.C13);
        t.C20 = KernelMath.Fma(a2, b0, t.C20); t.C21 = KernelMath.Fma(a2, b1, t.C21); t.C22 = KernelMath.Fma(a2, b2, t.C22); t.C23 = KernelMath.Fma(a2, b3, t.C23);
        t.C30 = KernelMath.Fma(a3, b0, t.C30); t.C31 = KernelMath.Fma(a3, b1, t.C31); t.C32 = KernelMath.Fma(a3, b2, t.C32); t.C33 = KernelMath.Fma(a3, b3, t.C33);
    }

    private static void Store(ArrayView<float> c, GemmParams p, long cBase, int row, int col, float acc)
    {
        if (row < p.M && col < p.N)
        {
            long ci = cBase + ((long)row * p.Ldc) + col;
            c[ci] = p.Beta == 0f ? p.Alpha * acc : KernelMath.Fma(p.Alpha, acc, p.Beta * c[ci]); // as the host micro-kernels
        }
    }

    // The thread's 4x4 block of C: row r = ty + 16r, column c = tx + 16c of the tile (scalars, so no local memory).
    private struct Block4x4
    {
        public float C00, C01, C02, C03, C10, C11, C12, C13, C20, C21, C22, C23, C30, C31, C32, C33;
    }
}
