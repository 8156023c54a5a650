// Element-wise binary ops with NumPy/PyTorch broadcasting (add, subtract, multiply, divide) and their backward, which
// sums each operand's gradient over the dimensions it was broadcast along. The broadcast is checked and collapsed to at
// most four dimensions on the host (without allocating), then run by the row of BinaryTable.
using System;
using Engine.Kernels.Elementwise;

namespace Engine.Ops;

/// <summary>
/// y = f(a, b) element-wise with broadcasting as PyTorch: shapes are aligned at their last dimension and each pair of
/// sizes must be equal or one of them 1; y has the larger size of each pair. Variants: <c>kernel.elementwise</c> /
/// <c>kernel.reduce</c> (ILGPU) and <c>host.simd</c> (see <see cref="BinaryTable"/>). Every broadcast whose dimensions
/// collapse to at most four runs of one pattern (which operand varies) is supported: that is every broadcast of
/// tensors up to rank 4, and most beyond.
/// </summary>
public static class BinaryOps
{
    private const int MaxRank = 16;

    /// <summary>y = a + b.</summary>
    public static void Add(Tensor a, Tensor b, Tensor y) => Forward(BinaryOp.Add, a, b, y);

    /// <summary>y = a - b.</summary>
    public static void Subtract(Tensor a, Tensor b, Tensor y) => Forward(BinaryOp.Subtract, a, b, y);

    /// <summary>y = a * b.</summary>
    public static void Multiply(Tensor a, Tensor b, Tensor y) => Forward(BinaryOp.Multiply, a, b, y);

    /// <summary>y = a / b.</summary>
    public static void Divide(Tensor a, Tensor b, Tensor y) => Forward(BinaryOp.Divide, a, b, y);

    /// <summary>The broadcast shape of <paramref name="a"/> and <paramref name="b"/>.</summary>
    /// <exception cref="ArgumentException">The shapes do not broadcast (the message names both).</exception>
    public static Shape BroadcastShape(Shape a, Shape b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        int r = Math.Max(a.Rank, b.Rank);
        var dims = new int[r];
        for (int d = 0; d < r; d++)
        {
            dims[d] = Pair(a, b, r, d, "broadcast", out _, out _);
        }

        return new Shape(dims);
    }

    /// <summary>y = f(a, b) with broadcasting; y must have the broadcast shape (it may be a or b when that has it).</summary>
    /// <exception cref="ArgumentException">Shapes do not broadcast, y has the wrong shape, or devices differ.</exception>
    /// <exception cref="NotSupportedException">The broadcast needs more than four collapsed dimensions.</exception>
    public static void Forward(BinaryOp op, Tensor a, Tensor b, Tensor y, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(y);
        var row = BinaryTable.Get(op);
        var p = Describe(row.Name, a, b, y.Shape, "y");
        Check(row.Name, a, b, y, "y");
        if (y.Length == 0)
        {
            return;
        }

        row.ForwardRegistry.Select(a.Device, variant)(a.Device, a.View, b.View, y.View, p, (int)y.Length);
    }

    /// <summary>
    /// Backward of <see cref="Forward"/>: da = the sum of dy * df/da over a's broadcast dimensions (a's shape), likewise
    /// db; either may be null (not needed). With <paramref name="accumulateA"/> (<paramref name="accumulateB"/>) the
    /// gradient is added to da (db). a and b are read only by multiply and divide. da and db must not share memory
    /// with dy.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes do not fit, a gradient aliases dy, or devices differ.</exception>
    /// <exception cref="NotSupportedException">The broadcast needs more than four collapsed dimensions.</exception>
    public static void Backward(BinaryOp op, Tensor a, Tensor b, Tensor dy, Tensor? da, Tensor? db, bool accumulateA = false, bool accumulateB = false, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(dy);
        var row = BinaryTable.Get(op);
        string name = row.BackwardRegistry.Op;
        var p = Describe(name, a, b, dy.Shape, "dy");
        Check(name, a, b, dy, "dy");
        Gradient(row, name, a, b, dy, da, p, ofB: false, accumulateA, nameof(da), variant);
        Gradient(row, name, b, a, dy, db, p, ofB: true, accumulateB, nameof(db), variant);
    }

    private static void Gradient(BinaryDefinition row, string name, Tensor x, Tensor other, Tensor dy, Tensor? dx, in BroadcastParams p, bool ofB, bool accumulate, string dxName, string? variant)
    {
        if (dx is null)
        {
            return;
        }

        TensorChecks.SameShape(dx, x.Shape, name, dxName, ofB ? "the shape of b" : "the shape of a");
        TensorChecks.OnDevice(dx, x.Device, name, dxName);
        if (dx.Buffer == dy.Buffer && dx.Offset < dy.Offset + dy.Length && dy.Offset < dx.Offset + dx.Length)
        {
            throw new ArgumentException($"{name}: {dxName} shares memory with dy; the gradient of a broadcast operand is summed from dy, so it needs its own buffer.", dxName);
        }

        if (dx.Length == 0)
        {
            return;
        }

        if (dy.Length == 0)
        {
            // An empty output broadcast from a non-empty operand: its gradient is zero.
            if (!accumulate)
            {
                dx.Fill(0f);
            }

            return;
        }

        var q = GradParams(p, ofB, accumulate);
        row.BackwardRegistry.Select(x.Device, variant)(x.Device, x.View, other.View, dy.View, dx.View, q, (int)dx.Length);
    }

    /// <summary>The per-operand geometry of the backward from the collapsed broadcast.</summary>
    internal static BroadcastGradParams GradParams(in BroadcastParams p, bool ofB, bool accumulate)
    {
        int x0 = ofB ? p.B0 : p.A0, x1 = ofB ? p.B1 : p.A1, x2 = ofB ? p.B2 : p.A2, x3 = ofB ? p.B3 : p.A3;
        return new BroadcastGradParams
        {
            K0 = x0 != 0 ? p.D0 : 1, K1 = x1 != 0 ? p.D1 : 1, K2 = x2 != 0 ? p.D2 : 1, K3 = x3 != 0 ? p.D3 : 1,
            R0 = x0 != 0 ? 1 : p.D0, R1 = x1 != 0 ? 1 : p.D1, R2 = x2 != 0 ? 1 : p.D2, R3 = x3 != 0 ? 1 : p.D3,
            O0 = p.D1 * p.D2 * p.D3, O1 = p.D2 * p.D3, O2 = p.D3,
            T0 = ofB ? p.A0 : p.B0, T1 = ofB ? p.A1 : p.B1, T2 = ofB ? p.A2 : p.B2, T3 = ofB ? p.A3 : p.B3,
            OfB = ofB ? 1 : 0, Accumulate = accumulate ? 1 : 0,
        };
    }

    /// <summary>
    /// Checks that a and b broadcast to <paramref name="output"/> and collapses the broadcast: output dimensions of size
    /// 1 are dropped and neighbours in which the same operands vary are merged, leaving at most four runs.
    /// </summary>
    internal static BroadcastParams Describe(string op, Tensor a, Tensor b, Shape output, string outputName)
    {
        int r = Math.Max(a.Rank, b.Rank);
        if (r > MaxRank)
        {
            throw new NotSupportedException($"{op}: a {a.Shape} and b {b.Shape} have rank above {MaxRank}.");
        }

        Span<int> size = stackalloc int[5];
        Span<bool> keepA = stackalloc bool[5];
        Span<bool> keepB = stackalloc bool[5];
        int n = 0;
        bool outputOk = output.Rank == r;
        for (int d = 0; d < r; d++)
        {
            int od = Pair(a.Shape, b.Shape, r, d, op, out int ad, out int bd);
            outputOk = outputOk && output[d] == od;
            if (od == 1)
            {
                continue;
            }

            bool ka = ad == od, kb = bd == od;
            if (n > 0 && keepA[n - 1] == ka && keepB[n - 1] == kb)
            {
                size[n - 1] = checked(size[n - 1] * od);
                continue;
            }

            if (n == 4)
            {
                throw new NotSupportedException(
                    $"{op}: the broadcast of a {a.Shape} and b {b.Shape} alternates which operand varies more than four times; reshape the operands (at most four runs are supported).");
            }

            size[n] = od;
            keepA[n] = ka;
            keepB[n] = kb;
            n++;
        }

        if (!outputOk)
        {
            // Built only on failure: warm calls allocate nothing.
            throw new ArgumentException($"{op}: {outputName} is {output} but a {a.Shape} and b {b.Shape} broadcast to {BroadcastShape(a.Shape, b.Shape)}.", outputName);
        }

        // Right-align the runs in four dimensions; strides from the innermost run outwards.
        Span<int> dim = stackalloc int[4] { 1, 1, 1, 1 };
        Span<int> sa = stackalloc int[4];
        Span<int> sb = stackalloc int[4];
        int strideA = 1, strideB = 1;
        for (int k = n - 1, slot = 3; k >= 0; k--, slot--)
        {
            dim[slot] = size[k];
            sa[slot] = keepA[k] ? strideA : 0;
            sb[slot] = keepB[k] ? strideB : 0;
            strideA *= keepA[k] ? size[k] : 1;
            strideB *= keepB[k] ? size[k] : 1;
        }

        return new BroadcastParams
        {
            D0 = dim[0], D1 = dim[1], D2 = dim[2], D3 = dim[3],
            A0 = sa[0], A1 = sa[1], A2 = sa[2], A3 = sa[3],
            B0 = sb[0], B1 = sb[1], B2 = sb[2], B3 = sb[3],
        };
    }

    // The broadcast size of aligned dimension d (of r), with a's and b's sizes there (1 where they have no such dimension).
    private static int Pair(Shape a, Shape b, int r, int d, string op, out int ad, out int bd)
    {
        int ia = d - (r - a.Rank), ib = d - (r - b.Rank);
        ad = ia >= 0 ? a[ia] : 1;
        bd = ib >= 0 ? b[ib] : 1;
        if (ad != bd && ad != 1 && bd != 1)
        {
            throw new ArgumentException($"{op}: a {a} and b {b} do not broadcast: dimension {d - r} has sizes {ad} and {bd} (each pair must be equal or one of them 1).", nameof(b));
        }

        return ad == 1 ? bd : ad;
    }

    private static void Check(string op, Tensor a, Tensor b, Tensor output, string outputName)
    {
        TensorChecks.OnDevice(b, a.Device, op, nameof(b));
        TensorChecks.OnDevice(output, a.Device, op, outputName);
        TensorChecks.Indexable(output, op, outputName);
        TensorChecks.Indexable(a, op, nameof(a));
        TensorChecks.Indexable(b, op, nameof(b));
    }
}
