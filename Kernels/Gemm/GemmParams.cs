// Arguments of a (strided-batched) GEMM, passed to kernels by value.
namespace Engine.Kernels.Gemm;

/// <summary>
/// Describes <c>C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b]</c> for b in [0, Batch): row-major matrices with
/// leading dimensions (row pitches) <see cref="Lda"/>, <see cref="Ldb"/>, <see cref="Ldc"/> and batch strides.
/// op(A) is M x K, op(B) is K x N, C is M x N.
/// </summary>
public struct GemmParams
{
    /// <summary>Rows of op(A) and C.</summary>
    public int M;

    /// <summary>Columns of op(B) and C.</summary>
    public int N;

    /// <summary>Columns of op(A), rows of op(B).</summary>
    public int K;

    /// <summary>Row pitch of A as stored (K when not transposed, M when transposed, for dense A).</summary>
    public int Lda;

    /// <summary>Row pitch of B as stored.</summary>
    public int Ldb;

    /// <summary>Row pitch of C.</summary>
    public int Ldc;

    /// <summary>1 when A is stored K x M and used transposed.</summary>
    public int TransA;

    /// <summary>1 when B is stored N x K and used transposed.</summary>
    public int TransB;

    /// <summary>Scale of the product.</summary>
    public float Alpha;

    /// <summary>Scale of the existing C; 0 overwrites C without reading it.</summary>
    public float Beta;

    /// <summary>Elements between consecutive A matrices of the batch.</summary>
    public long StrideA;

    /// <summary>Elements between consecutive B matrices of the batch.</summary>
    public long StrideB;

    /// <summary>Elements between consecutive C matrices of the batch.</summary>
    public long StrideC;

    /// <summary>Number of matrices in the batch (at least 1).</summary>
    public int Batch;
}
