// The GotoBLAS/BLIS loop nest around the micro-kernels: cache blocking, packing, and the split over host threads.
using System;
using System.Runtime.CompilerServices;

namespace Engine.Backends.Cpu;

/// <summary>One single (non-batched) GEMM on raw pointers plus the state of the block being computed.</summary>
internal unsafe struct GemmJob
{
    public float* A;
    public float* B;
    public float* C;
    public nint Lda;
    public nint Ldb;
    public nint Ldc;
    public bool TransA;
    public bool TransB;
    public int M;
    public int N;
    public int K;
    public float Alpha;
    public float Beta;

    // The current (jc, pc) block and how its work is split.
    public float* PackedB;
    public int Jc;
    public int Nc;
    public int Pc;
    public int Kc;
    public float BetaNow;
    public int PanelsM;
    public int PanelsN;
    public int IcBlocks;
    public int NChunks;
}

/// <summary>
/// Loop nest: for each NC-column block of op(B) and each KC-deep slice of K, pack the kc x nc block of op(B) into
/// NR-wide micro-panels (shared by all threads, L3), then split the M x nc block into tasks (MC-row blocks of
/// op(A) times column chunks); each task packs its kc x mc block of op(A) (L2) into a rented per-task buffer and
/// runs the micro-kernel over every (NR-panel, MR-panel) pair, keeping one B micro-panel in L1 across the MR
/// panels. When M fits one MC block, tasks pack each B micro-panel themselves right before using it.
/// </summary>
internal static unsafe class GemmDriver
{
    /// <summary>Below this many flops (2 M N K) a GEMM runs on the calling thread only.</summary>
    internal static long ParallelMinFlops = 1L << 21;

    /// <summary>The fewest B micro-panels in one column chunk of a task.</summary>
    private const int MinChunkPanels = 4;

    /// <summary>Pack blocks of op(B) on all threads when the block holds at least this many elements.</summary>
    private const int ParallelPackMinElements = 1 << 15;

    // Largest A block plus one B micro-panel (packed per task when B is not shared), over every kernel.
    internal static readonly PackBufferPool APool = new((144L * 1024) + (1024L * 32));

    // Largest packed B block over every kernel.
    internal static readonly PackBufferPool BPool = new(1024L * 2048);

    /// <summary>Runs <paramref name="job"/> (M, N &gt; 0) with micro-kernel <typeparamref name="TK"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TK>(GemmJob* job, bool parallel)
        where TK : struct, IGemmMicroKernel
    {
        int m = job->M, n = job->N, k = job->K;
        if (k == 0)
        {
            ScaleC(job);
            return;
        }

        int mr = TK.MR, nr = TK.NR;
        parallel &= HostParallel.Degree > 1 && 2L * m * n * k >= ParallelMinFlops;
        job->PanelsM = (m + mr - 1) / mr;

        // When op(A) fits one MC block, every B micro-panel is used by one task only: that task packs it into
        // L1-sized scratch right before use, instead of a shared pass over the whole block through L3. Unless op(B) is
        // too narrow to give every thread its own column chunk: then the rows are split and every row task would
        // pack all of B again, so B is packed once, shared.
        int panelsN = (Math.Min(TK.NC, n) + nr - 1) / nr;
        bool shared = job->PanelsM > TK.MC / mr || (parallel && job->PanelsM > 1 && TooNarrowForChunks(panelsN));
        int slot = -1;
        float* packedB = shared ? BPool.Rent(out slot) : null;
        try
        {
            int kBlocks = (k + TK.KC - 1) / TK.KC;
            int kcEven = (k + kBlocks - 1) / kBlocks;
            for (int jc = 0; jc < n; jc += TK.NC)
            {
                int nc = Math.Min(TK.NC, n - jc);
                job->Jc = jc;
                job->Nc = nc;
                job->PanelsN = (nc + nr - 1) / nr;
                job->PackedB = packedB;
                Split<TK>(job, parallel);
                for (int pc = 0; pc < k; pc += kcEven)
                {
                    job->Pc = pc;
                    job->Kc = Math.Min(kcEven, k - pc);
                    job->BetaNow = pc == 0 ? job->Beta : 1f;
                    if (packedB != null)
                    {
                        var pack = new PackBBody<TK> { Job = job };
                        if (parallel && (long)job->Kc * nc >= ParallelPackMinElements)
                        {
                            HostParallel.For(job->PanelsN, ref pack);
                        }
                        else
                        {
                            pack.Run(0, job->PanelsN);
                        }
                    }

                    var compute = new ComputeBody<TK> { Job = job };
                    int tasks = job->IcBlocks * job->NChunks;
                    if (parallel && tasks > 1)
                    {
                        HostParallel.For(tasks, ref compute);
                    }
                    else
                    {
                        compute.Run(0, tasks);
                    }
                }
            }
        }
        finally
        {
            if (packedB != null)
            {
                BPool.Return(packedB, slot);
            }
        }
    }

    /// <summary>Splits the M x nc block into IcBlocks (balanced, at most MC rows) x NChunks tasks.</summary>
    private static void Split<TK>(GemmJob* job, bool parallel)
        where TK : struct, IGemmMicroKernel
    {
        int perBlock = TK.MC / TK.MR;
        int blocks = (job->PanelsM + perBlock - 1) / perBlock;
        int chunks = 1;
        if (parallel)
        {
            int degree = HostParallel.Degree;
            if (job->PackedB != null)
            {
                // Shared B: split rows, at least two blocks per thread (down to 8 MR panels each), in a multiple
                // of the thread count so that no thread gets one block more; every task packs one A block.
                int want = Math.Max(blocks, Math.Min(2 * degree, job->PanelsM / 8));
                if (TooNarrowForChunks(job->PanelsN))
                {
                    // op(B) too narrow for column chunks: rows are the only split, as fine as the non-shared one.
                    want = Math.Max(want, Math.Min(job->PanelsM, 4 * degree));
                }

                int rounded = (want + degree - 1) / degree * degree;
                blocks = rounded <= job->PanelsM ? rounded : want;
                if (blocks < 2 * degree)
                {
                    chunks = Math.Max(1, Math.Min((2 * degree + blocks - 1) / blocks, job->PanelsN / MinChunkPanels));
                }
            }
            else
            {
                // Tasks pack their own B micro-panels: split columns (chunks of at least MinChunkPanels micro-panels
                // so that repacking the small A block pays off), then rows when op(B) is too narrow.
                int target = degree * 4;
                chunks = Math.Max(1, Math.Min(target, job->PanelsN / MinChunkPanels));
                if (blocks * chunks < target)
                {
                    blocks = Math.Min(job->PanelsM, (target + chunks - 1) / chunks);
                }
            }
        }

        job->IcBlocks = blocks;
        job->NChunks = chunks;
    }

    /// <summary>Whether op(B)'s <paramref name="panelsN"/> micro-panels give fewer column chunks than threads.</summary>
    private static bool TooNarrowForChunks(int panelsN) => panelsN / MinChunkPanels < HostParallel.Degree;

    /// <summary>C = beta * C, for K = 0 (beta 0 writes zeros without reading C).</summary>
    private static void ScaleC(GemmJob* job)
    {
        for (int i = 0; i < job->M; i++)
        {
            var row = new Span<float>(job->C + (i * job->Ldc), job->N);
            if (job->Beta == 0f)
            {
                row.Clear();
            }
            else if (job->Beta != 1f)
            {
                System.Numerics.Tensors.TensorPrimitives.Multiply(row, job->Beta, row);
            }
        }
    }

    /// <summary>Packs B micro-panels [start, end) of the current block.</summary>
    private struct PackBBody<TK> : IRangeBody
        where TK : struct, IGemmMicroKernel
    {
        public GemmJob* Job;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int start, int end)
        {
            GemmJob* j = Job;
            int nr = TK.NR;
            for (int p = start; p < end; p++)
            {
                int col = j->Jc + (p * nr);
                int cols = Math.Min(nr, j->Jc + j->Nc - col);
                GemmPacking.PackBPanel<TK>(j->PackedB + ((long)p * j->Kc * nr), j->B, j->Ldb, j->TransB, j->Pc, j->Kc, col, cols);
            }
        }
    }

    /// <summary>Runs tasks [start, end): task t is A block t / NChunks times column chunk t % NChunks.</summary>
    private struct ComputeBody<TK> : IRangeBody
        where TK : struct, IGemmMicroKernel
    {
        public GemmJob* Job;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int start, int end)
        {
            GemmJob* j = Job;
            float* abuf = APool.Rent(out int slot);
            try
            {
                float* localB = abuf + (TK.MC * TK.KC);
                int lastBlock = -1;
                for (int t = start; t < end; t++)
                {
                    int block = t / j->NChunks;
                    int chunk = t - (block * j->NChunks);
                    int pm0 = (int)((long)block * j->PanelsM / j->IcBlocks);
                    int pm1 = (int)((long)(block + 1) * j->PanelsM / j->IcBlocks);
                    if (block != lastBlock)
                    {
                        int i0 = pm0 * TK.MR;
                        int rows = Math.Min(j->M, pm1 * TK.MR) - i0;
                        GemmPacking.PackA<TK>(abuf, j->A, j->Lda, j->TransA, i0, rows, j->Pc, j->Kc);
                        lastBlock = block;
                    }

                    int pn0 = (int)((long)chunk * j->PanelsN / j->NChunks);
                    int pn1 = (int)((long)(chunk + 1) * j->PanelsN / j->NChunks);
                    Tile(j, abuf, localB, pm0, pm1, pn0, pn1);
                }
            }
            finally
            {
                APool.Return(abuf, slot);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Tile(GemmJob* j, float* abuf, float* localB, int pm0, int pm1, int pn0, int pn1)
        {
            int mr = TK.MR, nr = TK.NR;
            nint kc = j->Kc, ldc = j->Ldc;
            float alpha = j->Alpha, beta = j->BetaNow;
            float* tmp = stackalloc float[TK.MR * TK.NR];
            for (int pn = pn0; pn < pn1; pn++)
            {
                int col = j->Jc + (pn * nr);
                int cols = Math.Min(nr, j->N - col);
                float* bp = j->PackedB + (pn * kc * nr);
                if (j->PackedB == null)
                {
                    GemmPacking.PackBPanel<TK>(localB, j->B, j->Ldb, j->TransB, j->Pc, j->Kc, col, cols);
                    bp = localB;
                    if (pn + 1 < pn1)
                    {
                        GemmPrefetch.BPanel(j->B, j->Ldb, j->TransB, j->Pc, j->Kc, col + nr, Math.Min(nr, j->N - col - nr));
                    }
                }

                for (int pm = pm0; pm < pm1; pm++)
                {
                    int row = pm * mr;
                    int rows = Math.Min(mr, j->M - row);
                    float* ap = abuf + ((pm - pm0) * kc * mr);
                    float* cp = j->C + (row * ldc) + col;
                    if (rows == mr && cols == nr)
                    {
                        TK.Run(kc, ap, bp, nr, cp, ldc, alpha, beta);
                        continue;
                    }

                    TK.Run(kc, ap, bp, nr, tmp, nr, 1f, 0f);
                    for (int r = 0; r < rows; r++)
                    {
                        float* cr = cp + (r * ldc);
                        float* tr = tmp + (r * nr);
                        for (int x = 0; x < cols; x++)
                        {
                            cr[x] = beta == 0f ? alpha * tr[x] : (alpha * tr[x]) + (beta * cr[x]);
                        }
                    }
                }
            }
        }
    }
}
