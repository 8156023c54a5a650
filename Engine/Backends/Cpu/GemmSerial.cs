// Single-threaded GEMM entry points for host ops that already split their work over the cores (one image per
// thread): the packed driver on the calling thread, and a variant that streams op(B) unpacked.
using System;
using System.Runtime.CompilerServices;

namespace Engine.Backends.Cpu;

/// <summary>
/// GEMMs that run entirely on the calling thread. <see cref="Packed"/> is the blocked driver of
/// <see cref="CpuGemm"/>; <see cref="Direct"/> packs only op(A) and lets the micro-kernel read row-major B in place
/// (row q of a tile at <c>b + q * ldb</c>), which saves the copy of B when each B element is used by few rows
/// panels, as in a convolution's column matrix. Both allocate nothing once warm.
/// </summary>
internal static unsafe class GemmSerial
{
    /// <summary>C (m x n) = op(A) op(B) + beta C on the calling thread, through the packed driver.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Packed(float* a, float* b, float* c, int m, int n, int k, nint lda, nint ldb, nint ldc, bool transA, bool transB, float beta)
    {
        if (m <= 0 || n <= 0)
        {
            return;
        }

        var job = new GemmJob
        {
            A = a, B = b, C = c, Lda = lda, Ldb = ldb, Ldc = ldc, TransA = transA, TransB = transB,
            M = m, N = n, K = k, Alpha = 1f, Beta = beta,
        };
        switch (CpuGemm.BestKernel)
        {
            case GemmKernel.Vector512:
                GemmDriver.Run<MicroKernel512>(&job, parallel: false);
                break;
            case GemmKernel.Vector256:
                GemmDriver.Run<MicroKernel256>(&job, parallel: false);
                break;
            default:
                GemmDriver.Run<MicroKernel128>(&job, parallel: false);
                break;
        }
    }

    /// <summary>
    /// C (m x n, pitch ldc) = op(A) (m x k) * B (k x n, row-major, pitch ldb) + beta C, on the calling thread, B
    /// not packed. A is row-major with pitch lda, stored m x k, or k x m when <paramref name="transA"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Direct(float* a, nint lda, bool transA, float* b, nint ldb, float* c, nint ldc, int m, int n, int k, float beta)
    {
        if (m <= 0 || n <= 0)
        {
            return;
        }

        switch (CpuGemm.BestKernel)
        {
            case GemmKernel.Vector512:
                Direct<MicroKernel512>(a, lda, transA, b, ldb, c, ldc, m, n, k, beta);
                break;
            case GemmKernel.Vector256:
                Direct<MicroKernel256>(a, lda, transA, b, ldb, c, ldc, m, n, k, beta);
                break;
            default:
                Direct<MicroKernel128>(a, lda, transA, b, ldb, c, ldc, m, n, k, beta);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Direct<TK>(float* a, nint lda, bool transA, float* b, nint ldb, float* c, nint ldc, int m, int n, int k, float beta)
        where TK : struct, IGemmMicroKernel
    {
        if (k == 0)
        {
            Scale(c, ldc, m, n, beta);
            return;
        }

        int mr = TK.MR, nr = TK.NR;
        int kBlocks = (k + TK.KC - 1) / TK.KC;
        int kcEven = (k + kBlocks - 1) / kBlocks;
        float* tmp = stackalloc float[TK.MR * TK.NR];
        float* abuf = GemmDriver.APool.Rent(out int slot);
        try
        {
            // The A block (MC x KC) and, after it, one packed B micro-panel for the ragged last column tile.
            float* btail = abuf + (TK.MC * TK.KC);
            for (int i0 = 0; i0 < m; i0 += TK.MC)
            {
                int mc = Math.Min(TK.MC, m - i0);
                int panels = (mc + mr - 1) / mr;
                for (int pc = 0; pc < k; pc += kcEven)
                {
                    int kc = Math.Min(kcEven, k - pc);
                    float betaNow = pc == 0 ? beta : 1f;
                    GemmPacking.PackA<TK>(abuf, a, lda, transA, i0, mc, pc, kc);
                    for (int j = 0; j < n; j += nr)
                    {
                        int cols = Math.Min(nr, n - j);
                        float* bp = b + (pc * ldb) + j;
                        nint ldbNow = ldb;
                        if (cols < nr)
                        {
                            GemmPacking.PackBPanel<TK>(btail, b, ldb, false, pc, kc, j, cols);
                            bp = btail;
                            ldbNow = nr;
                        }

                        for (int pm = 0; pm < panels; pm++)
                        {
                            int rows = Math.Min(mr, mc - (pm * mr));
                            float* ap = abuf + (pm * kc * mr);
                            float* cp = c + ((i0 + (pm * mr)) * ldc) + j;
                            if (rows == mr && cols == nr)
                            {
                                TK.Run(kc, ap, bp, ldbNow, cp, ldc, 1f, betaNow);
                                continue;
                            }

                            TK.Run(kc, ap, bp, ldbNow, tmp, nr, 1f, 0f);
                            for (int r = 0; r < rows; r++)
                            {
                                float* cr = cp + (r * ldc);
                                float* tr = tmp + (r * nr);
                                if (betaNow == 0f)
                                {
                                    for (int x = 0; x < cols; x++)
                                    {
                                        cr[x] = tr[x];
                                    }
                                }
                                else
                                {
                                    for (int x = 0; x < cols; x++)
                                    {
                                        cr[x] = tr[x] + (betaNow * cr[x]);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        finally
        {
            GemmDriver.APool.Return(abuf, slot);
        }
    }

    private static void Scale(float* c, nint ldc, int m, int n, float beta)
    {
        for (int i = 0; i < m; i++)
        {
            var row = new Span<float>(c + (i * ldc), n);
            if (beta == 0f)
            {
                row.Clear();
            }
            else if (beta != 1f)
            {
                System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
            }
        }
    }
}
