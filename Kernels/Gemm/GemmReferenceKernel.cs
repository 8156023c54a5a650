// The plain GEMM kernel: one thread per output element. It is the oracle the tiled kernel is checked against.
using ILGPU;

namespace Engine.Kernels.Gemm;

/// <summary>Reference GEMM: thread (j, i, b) computes C[b][i, j] with a straight K loop.</summary>
public static class GemmReferenceKernel
{
    /// <summary>Kernel entry; launch over (N, M, Batch).</summary>
    public static void Run(Index3D idx, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmParams p)
    {
        int j = idx.X;
        int i = idx.Y;
        long batch = idx.Z;
        long aBase = batch * p.StrideA;
        long bBase = batch * p.StrideB;
        float acc = 0f;
        int kTotal = p.K;
        for (int k = 0; k < kTotal; k++)
        {
            float av = p.TransA != 0 ? a[aBase + ((long)k * p.Lda) + i] : a[aBase + ((long)i * p.Lda) + k];
            float bv = p.TransB != 0 ? b[bBase + ((long)j * p.Ldb) + k] : b[bBase + ((long)k * p.Ldb) + j];
            acc = KernelMath.Fma(av, bv, acc); // one rounding per step, as the tiled kernel and the host's FMA micro-kernels
        }

        long ci = (batch * p.StrideC) + ((long)i * p.Ldc) + j;
        c[ci] = p.Beta == 0f ? p.Alpha * acc : KernelMath.Fma(p.Alpha, acc, p.Beta * c[ci]); // as the host micro-kernels
    }
}
