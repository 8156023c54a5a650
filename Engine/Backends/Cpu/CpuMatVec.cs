// Host GEMM with one output row (M = 1): a linear layer at batch 1 (inference latency) or its input gradient. The
// packed GEMM would pack the whole weight matrix for one row of output; here each weight is read once, straight from
// memory: dot products along B's rows (B transposed: y = x W^T) or scaled B rows summed (y = x B), split across cores
// by output columns when the matrix is large. CpuGemm sends such products here; every other shape stays packed.
using System;
using System.Numerics.Tensors;
using Engine.Kernels.Gemm;

namespace Engine.Backends.Cpu;

/// <summary>Matrix-vector products for the GEMMs with M = 1 that <see cref="CpuGemm"/> hands over.</summary>
internal static unsafe class CpuMatVec
{
    /// <summary>Multiply-adds per parallel chunk (below it, one thread does the whole product).</summary>
    private const int ChunkMacs = 1 << 17;

    /// <summary>Columns of C per chunk of the untransposed-B form (rows of B are summed in blocks this wide).</summary>
    private const int ColumnBlock = 512;

    /// <summary>Whether <paramref name="p"/> is a product this class computes: one row of C, A's row contiguous.</summary>
    public static bool Applies(in GemmParams p) => p.M == 1 && (p.TransA == 0 || p.Lda == 1);

    /// <summary>Every matrix of the batch of <paramref name="p"/> (validated by the caller, <see cref="Applies"/> true).</summary>
    public static void Run(float* a, float* b, float* c, in GemmParams p)
    {
        for (int i = 0; i < p.Batch; i++)
        {
            Compute(a + (i * p.StrideA), b + (i * p.StrideB), c + (i * p.StrideC), p);
        }
    }

    /// <summary>One product with M = 1: c[0..N) = alpha * a op(B) + beta * c (beta 0 does not read c).</summary>
    private static void Compute(float* a, float* b, float* c, in GemmParams p)
    {
        // With M = 1 (and pitch 1 when A is stored transposed, K x 1), A's K elements are contiguous.
        if (p.TransB != 0)
        {
            var body = new DotBody { A = a, B = b, C = c, K = p.K, Ldb = p.Ldb, Alpha = p.Alpha, Beta = p.Beta };
            HostParallel.For(p.N, ref body, Math.Max(1, ChunkMacs / Math.Max(1, p.K)));
        }
        else
        {
            var body = new AxpyBody { A = a, B = b, C = c, N = p.N, K = p.K, Ldb = p.Ldb, Alpha = p.Alpha, Beta = p.Beta };
            int blocks = (p.N + ColumnBlock - 1) / ColumnBlock;
            HostParallel.For(blocks, ref body, Math.Max(1, ChunkMacs / Math.Max(1, p.K * ColumnBlock)));
        }
    }

    /// <summary>c[j] = alpha * dot(a, B row j) + beta * c[j] (B is N x K: the transposed form).</summary>
    private struct DotBody : IRangeBody
    {
        public float* A, B, C;
        public int K, Ldb;
        public float Alpha, Beta;

        public readonly void Run(int start, int end)
        {
            var x = new ReadOnlySpan<float>(A, K);
            for (int j = start; j < end; j++)
            {
                float d = Alpha * TensorPrimitives.Dot(x, new ReadOnlySpan<float>(B + ((long)j * Ldb), K));
                C[j] = Beta == 0f ? d : d + (Beta * C[j]);
            }
        }
    }

    /// <summary>c[cols] = alpha * sum_k a[k] * B[k, cols] + beta * c[cols] over one block of columns (B is K x N).</summary>
    private struct AxpyBody : IRangeBody
    {
        public float* A, B, C;
        public int N, K, Ldb;
        public float Alpha, Beta;

        public readonly void Run(int start, int end)
        {
            int j0 = start * ColumnBlock, j1 = Math.Min(N, end * ColumnBlock);
            float* acc = stackalloc float[ColumnBlock];
            for (int j = j0; j < j1; j += ColumnBlock)
            {
                int w = Math.Min(ColumnBlock, j1 - j);
                var sum = new Span<float>(acc, w);
                sum.Clear();
                for (int k = 0; k < K; k++)
                {
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(B + ((long)k * Ldb) + j, w), A[k], sum, sum);
                }

                var dst = new Span<float>(C + j, w);
                if (Beta == 0f)
                {
                    TensorPrimitives.Multiply(sum, Alpha, dst);
                }
                else
                {
                    // dst = alpha * sum + beta * dst.
                    TensorPrimitives.Multiply(dst, Beta, dst);
                    TensorPrimitives.MultiplyAdd(sum, Alpha, dst, dst);
                }
            }
        }
    }
}
