// Host GEMM for the CPU device: row-panel axpy form over SIMD (TensorPrimitives), parallel over rows.
using System;
using System.Buffers;
using System.Numerics.Tensors;
using System.Threading.Tasks;
using Engine.Kernels.Gemm;
using ILGPU;

namespace Engine.Backends.Cpu;

/// <summary>Managed GEMM over CPU-accelerator buffers.</summary>
public static class CpuGemm
{
    /// <summary>Computes the GEMM described by <paramref name="p"/> on host memory.</summary>
    public static void Run(Device device, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (p.M == 0 || p.N == 0)
        {
            return;
        }

        device.Synchronize();
        for (int batch = 0; batch < p.Batch; batch++)
        {
            var av = a.SubView(batch * p.StrideA, RequiredLength(p.TransA != 0 ? p.K : p.M, p.Lda, p.TransA != 0 ? p.M : p.K));
            var bv = b.SubView(batch * p.StrideB, RequiredLength(p.TransB != 0 ? p.N : p.K, p.Ldb, p.TransB != 0 ? p.K : p.N));
            var cv = c.SubView(batch * p.StrideC, RequiredLength(p.M, p.Ldc, p.N));
            Single(HostViews.Span(av), HostViews.Span(bv), HostViews.Span(cv), p);
        }
    }

    private static long RequiredLength(int rows, int ld, int cols) => ((long)(rows - 1) * ld) + cols;

    /// <summary>One GEMM on spans with the strides and flags of <paramref name="p"/> (batch ignored).</summary>
    public static void Single(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, GemmParams p)
    {
        int m = p.M, n = p.N, k = p.K;
        float[]? packedB = null;
        float[]? packedA = null;
        try
        {
            // Bring op(B) to row-major K x N and op(A) to row-major M x K when they are stored transposed.
            ReadOnlySpan<float> bk;
            int ldb;
            if (p.TransB != 0)
            {
                packedB = ArrayPool<float>.Shared.Rent(k * n);
                for (int j = 0; j < n; j++)
                {
                    for (int q = 0; q < k; q++)
                    {
                        packedB[(q * n) + j] = b[(j * p.Ldb) + q];
                    }
                }

                bk = packedB;
                ldb = n;
            }
            else
            {
                bk = b;
                ldb = p.Ldb;
            }

            ReadOnlySpan<float> am;
            int lda;
            if (p.TransA != 0)
            {
                packedA = ArrayPool<float>.Shared.Rent(m * k);
                for (int q = 0; q < k; q++)
                {
                    for (int i = 0; i < m; i++)
                    {
                        packedA[(i * k) + q] = a[(q * p.Lda) + i];
                    }
                }

                am = packedA;
                lda = k;
            }
            else
            {
                am = a;
                lda = p.Lda;
            }

            RowPanels(am, lda, bk, ldb, c, p.Ldc, m, n, k, p.Alpha, p.Beta);
        }
        finally
        {
            if (packedA is not null)
            {
                ArrayPool<float>.Shared.Return(packedA);
            }

            if (packedB is not null)
            {
                ArrayPool<float>.Shared.Return(packedB);
            }
        }
    }

    private static unsafe void RowPanels(ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, int m, int n, int k, float alpha, float beta)
    {
        fixed (float* pa = a, pb = b, pc = c)
        {
            var ctx = (A: (IntPtr)pa, B: (IntPtr)pb, C: (IntPtr)pc, ALen: a.Length, BLen: b.Length, CLen: c.Length);
            long work = (long)m * n * k;
            int chunks = work < 32 * 1024 ? 1 : Math.Min(m, Environment.ProcessorCount * 4);
            Parallel.For(0, chunks, chunk =>
            {
                int r0 = (int)((long)m * chunk / chunks);
                int r1 = (int)((long)m * (chunk + 1) / chunks);
                var la = new ReadOnlySpan<float>((float*)ctx.A, ctx.ALen);
                var lb = new ReadOnlySpan<float>((float*)ctx.B, ctx.BLen);
                var lc = new Span<float>((float*)ctx.C, ctx.CLen);
                for (int i = r0; i < r1; i++)
                {
                    var crow = lc.Slice(i * ldc, n);
                    if (beta == 0f)
                    {
                        crow.Clear();
                    }
                    else if (beta != 1f)
                    {
                        TensorPrimitives.Multiply(crow, beta, crow);
                    }

                    var arow = la.Slice(i * lda, k);
                    for (int q = 0; q < k; q++)
                    {
                        TensorPrimitives.MultiplyAdd(lb.Slice(q * ldb, n), alpha * arow[q], crow, crow);
                    }
                }
            });
        }
    }
}
