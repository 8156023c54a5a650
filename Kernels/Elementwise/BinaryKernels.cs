// Element-wise binary ops with broadcasting, generic over the operator struct: the forward maps each output element
// to its operands through collapsed strides; the backward gives one thread per element of an operand, which sums the
// output gradient over the dimensions that operand was broadcast along (no atomics, no scratch).
using ILGPU;

namespace Engine.Kernels.Elementwise;

/// <summary>
/// The broadcast of y = f(a, b) collapsed to four dimensions (leading ones padded with size 1): output sizes D and
/// the element strides of a and b per dimension (0 where that operand is broadcast).
/// </summary>
public struct BroadcastParams
{
    /// <summary>Output size of dimension 0.</summary>
    public int D0;

    /// <summary>Output size of dimension 1.</summary>
    public int D1;

    /// <summary>Output size of dimension 2.</summary>
    public int D2;

    /// <summary>Output size of dimension 3 (the innermost).</summary>
    public int D3;

    /// <summary>a's stride in dimension 0 (0: broadcast).</summary>
    public int A0;

    /// <summary>a's stride in dimension 1.</summary>
    public int A1;

    /// <summary>a's stride in dimension 2.</summary>
    public int A2;

    /// <summary>a's stride in dimension 3 (1 or 0).</summary>
    public int A3;

    /// <summary>b's stride in dimension 0 (0: broadcast).</summary>
    public int B0;

    /// <summary>b's stride in dimension 1.</summary>
    public int B1;

    /// <summary>b's stride in dimension 2.</summary>
    public int B2;

    /// <summary>b's stride in dimension 3 (1 or 0).</summary>
    public int B3;
}

/// <summary>
/// The gradient of one operand X of a broadcast binary op: per dimension, X's own size K (the output's where X varies,
/// else 1) and the size R it is summed over (the output's where X is broadcast, else 1; one of K, R is 1), the output's
/// strides and the other operand's strides.
/// </summary>
public struct BroadcastGradParams
{
    /// <summary>X's size in dimension 0.</summary>
    public int K0;

    /// <summary>X's size in dimension 1.</summary>
    public int K1;

    /// <summary>X's size in dimension 2.</summary>
    public int K2;

    /// <summary>X's size in dimension 3.</summary>
    public int K3;

    /// <summary>Size summed over in dimension 0.</summary>
    public int R0;

    /// <summary>Size summed over in dimension 1.</summary>
    public int R1;

    /// <summary>Size summed over in dimension 2.</summary>
    public int R2;

    /// <summary>Size summed over in dimension 3.</summary>
    public int R3;

    /// <summary>Output stride of dimension 0 (dimension 3's is 1).</summary>
    public int O0;

    /// <summary>Output stride of dimension 1.</summary>
    public int O1;

    /// <summary>Output stride of dimension 2.</summary>
    public int O2;

    /// <summary>The other operand's stride in dimension 0.</summary>
    public int T0;

    /// <summary>The other operand's stride in dimension 1.</summary>
    public int T1;

    /// <summary>The other operand's stride in dimension 2.</summary>
    public int T2;

    /// <summary>The other operand's stride in dimension 3.</summary>
    public int T3;

    /// <summary>1 when X is b (the gradient is GradB), 0 when X is a.</summary>
    public int OfB;

    /// <summary>1: dx += the gradient; 0: dx = the gradient.</summary>
    public int Accumulate;
}

/// <summary>Kernels of the broadcast binary ops; <c>TOp</c> is any <see cref="IBinaryOperator"/> struct of this assembly.</summary>
public static class BinaryKernels
{
    /// <summary>y[i] = f(a[ia], b[ib]) with ia, ib from i through the collapsed strides. Launch over y's length.</summary>
    public static void Forward<TOp>(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, BroadcastParams p)
        where TOp : struct, IBinaryOperator
    {
        int r = i;
        int c3 = r % p.D3;
        r /= p.D3;
        int c2 = r % p.D2;
        r /= p.D2;
        int c1 = r % p.D1;
        int c0 = r / p.D1;
        y[i] = default(TOp).Apply(a[(c0 * p.A0) + (c1 * p.A1) + (c2 * p.A2) + (c3 * p.A3)], b[(c0 * p.B0) + (c1 * p.B1) + (c2 * p.B2) + (c3 * p.B3)]);
    }

    /// <summary>
    /// dx[j] (=|+=) sum over the broadcast positions of element j of X of GradA or GradB(dy, a, b). x is X, other the
    /// other operand (neither read by add and subtract). Launch over X's length.
    /// </summary>
    public static void Backward<TOp>(Index1D j, ArrayView<float> x, ArrayView<float> other, ArrayView<float> dy, ArrayView<float> dx, BroadcastGradParams p)
        where TOp : struct, IBinaryOperator
    {
        var op = default(TOp);
        bool reads = op.DerivativeReadsOperands;
        bool ofB = p.OfB != 0;
        int r0 = p.R0, r1 = p.R1, r2 = p.R2, r3 = p.R3;
        int o0 = p.O0, o1 = p.O1, o2 = p.O2;
        int t0 = p.T0, t1 = p.T1, t2 = p.T2, t3 = p.T3;
        int r = j;
        int k3 = r % p.K3;
        r /= p.K3;
        int k2 = r % p.K2;
        r /= p.K2;
        int k1 = r % p.K1;
        int k0 = r / p.K1;
        int ob = (k0 * o0) + (k1 * o1) + (k2 * o2) + k3;
        int tb = (k0 * t0) + (k1 * t1) + (k2 * t2) + (k3 * t3);
        float xv = reads ? x[j] : 0f;
        float acc = 0f;
        for (int i0 = 0; i0 < r0; i0++)
        {
            for (int i1 = 0; i1 < r1; i1++)
            {
                for (int i2 = 0; i2 < r2; i2++)
                {
                    int ou = ob + (i0 * o0) + (i1 * o1) + (i2 * o2);
                    int tu = tb + (i0 * t0) + (i1 * t1) + (i2 * t2);
                    for (int i3 = 0; i3 < r3; i3++)
                    {
                        float g = dy[ou + i3];
                        float ov = reads ? other[tu + (i3 * t3)] : 0f;
                        acc += ofB ? op.GradB(g, ov, xv) : op.GradA(g, xv, ov);
                    }
                }
            }
        }

        dx[j] = p.Accumulate != 0 ? dx[j] + acc : acc;
    }
}
