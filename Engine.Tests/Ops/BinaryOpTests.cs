// The broadcast binary ops on every device and variant against a double reference written from PyTorch's
// broadcasting rules (independent of the engine's collapsing), gradient accumulation, aliasing and bad input.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class BinaryOpTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    private static readonly (int[] A, int[] B)[] Shapes =
    [
        ([1], [1]), ([37], [37]), ([3, 1], [1, 4]), ([1], [5, 7]), ([5, 7], [1]), ([7], [3, 5, 7]), ([2, 3, 33, 17], [1, 3, 1, 1]),
        ([2, 1, 3, 1], [1, 4, 1, 5]), ([3, 1, 2, 1, 4], [5, 1, 1, 4]), ([4099], [4099]), ([3, 70001], [1]), ([2, 1037], [2, 1]),
        ([1, 1, 1], [6, 1, 5]),
    ];

    public static IEnumerable<TestCaseData> Cases() =>
        from op in Enum.GetValues<BinaryOp>()
        from s in Shapes
        select new TestCaseData(op, s.A, s.B).SetArgDisplayNames(op.ToString(), $"[{string.Join(",", s.A)}]", $"[{string.Join(",", s.B)}]");

    [TestCaseSource(nameof(Cases))]
    public void Forward_and_backward_match_the_reference(BinaryOp op, int[] sa, int[] sb)
    {
        var row = BinaryTable.Get(op);
        var ah = HostMath.Random(Length(sa), 11 + sa.Length, -2f, 2f);
        var bh = HostMath.Random(Length(sb), 12 + sb.Length, 0.5f, 2f); // positive: divisors away from 0
        var (ys, yRef, daRef, dbRef, gh) = Reference(op, sa, ah, sb, bh);
        using var a = Tensor.FromHost(Dev, ah, new Shape(sa));
        using var b = Tensor.FromHost(Dev, bh, new Shape(sb));
        using var g = Tensor.FromHost(Dev, gh, new Shape(ys));
        using var y = Tensor.Empty(Dev, new Shape(ys));
        using var da = Tensor.FromHost(Dev, Enumerable.Repeat(0.25f, ah.Length).ToArray(), a.Shape);
        using var db = Tensor.FromHost(Dev, Enumerable.Repeat(-0.5f, bh.Length).ToArray(), b.Shape);
        Assert.That(BinaryOps.BroadcastShape(a.Shape, b.Shape), Is.EqualTo(y.Shape));
        foreach (var (fwd, bwd) in row.ForwardRegistry.Variants.Where(v => v.Path == Dev.Path).Select(v => v.Variant)
            .Zip(row.BackwardRegistry.Variants.Where(v => v.Path == Dev.Path).Select(v => v.Variant)))
        {
            string what = $"{op} {a.Shape} {b.Shape}";
            BinaryOps.Forward(op, a, b, y, fwd);
            HostMath.AssertClose(y.ToArray(), yRef, 1e-6, 1e-6, $"{what} y {fwd}");
            BinaryOps.Backward(op, a, b, g, da, db, variant: bwd);
            double rtol = sa.Length == 2 && sa[1] == 70001 ? 1e-4 : 1e-5; // float sums over 210003 elements
            HostMath.AssertClose(da.ToArray(), daRef, 1e-5, rtol, $"{what} da {bwd}");
            HostMath.AssertClose(db.ToArray(), dbRef, 1e-5, rtol, $"{what} db {bwd}");

            // Accumulating adds the same gradients again.
            BinaryOps.Backward(op, a, b, g, da, db, accumulateA: true, accumulateB: true, variant: bwd);
            HostMath.AssertClose(da.ToArray(), daRef.Select(v => 2 * v).ToArray(), 2e-5, rtol, $"{what} da accumulated {bwd}");
            HostMath.AssertClose(db.ToArray(), dbRef.Select(v => 2 * v).ToArray(), 2e-5, rtol, $"{what} db accumulated {bwd}");
        }
    }

    [Test]
    public void Output_may_be_the_full_shaped_operand_and_gradients_are_optional()
    {
        var ah = HostMath.Random(12, 3);
        using var a = Tensor.FromHost(Dev, ah, new Shape(3, 4));
        using var b = Tensor.FromHost(Dev, [2f, -1f, 0.5f, 4f], new Shape(4));
        using var db = Tensor.Empty(Dev, b.Shape);
        using var g = Tensor.FromHost(Dev, Enumerable.Repeat(1f, 12).ToArray(), a.Shape);
        BinaryOps.Backward(BinaryOp.Multiply, a, b, g, null, db);
        var want = Enumerable.Range(0, 4).Select(j => (double)ah[j] + ah[4 + j] + ah[8 + j]).ToArray();
        HostMath.AssertClose(db.ToArray(), want, 1e-6, 1e-6, "db = column sums of a");
        BinaryOps.Multiply(a, b, a);
        HostMath.AssertClose(a.ToArray(), ah.Select((v, i) => (double)v * new[] { 2f, -1f, 0.5f, 4f }[i % 4]).ToArray(), 1e-6, 1e-6, "in place");
    }

    [Test]
    public void Bad_shapes_and_aliasing_are_rejected_naming_the_argument()
    {
        using var a = Tensor.Zeros(Dev, new Shape(2, 3));
        using var b = Tensor.Zeros(Dev, new Shape(4));
        using var c = Tensor.Zeros(Dev, new Shape(3));
        using var y = Tensor.Zeros(Dev, new Shape(2, 3));
        using var wrong = Tensor.Zeros(Dev, new Shape(3, 2));
        Assert.That(() => BinaryOps.Multiply(a, b, y), Throws.ArgumentException.With.Message.Contain("[2, 3]").And.Message.Contain("[4]").And.Message.Contain("do not broadcast"));
        Assert.That(() => BinaryOps.Multiply(a, c, wrong), Throws.ArgumentException.With.Property("ParamName").EqualTo("y").And.Message.Contain("broadcast to [2, 3]"));
        Assert.That(() => BinaryOps.Backward(BinaryOp.Multiply, a, c, y, y, null), Throws.ArgumentException.With.Property("ParamName").EqualTo("da").And.Message.Contain("shares memory with dy"));
        Assert.That(() => BinaryOps.Backward(BinaryOp.Multiply, a, c, y, null, a), Throws.ArgumentException.With.Property("ParamName").EqualTo("db").And.Message.Contain("[3]"));
        using var p = Tensor.Zeros(Dev, new Shape(2, 1, 2, 1, 2));
        using var q = Tensor.Zeros(Dev, new Shape(2, 1, 2, 1, 2, 1));
        using var pq = Tensor.Zeros(Dev, new Shape(2, 2, 2, 2, 2, 2)); // six runs: q, p, q, p, q, p vary in turn
        Assert.That(() => BinaryOps.Multiply(p, q, pq), Throws.TypeOf<NotSupportedException>().With.Message.Contain("four"));
    }

    [Test]
    public void Division_by_zero_gives_ieee_values_as_pytorch()
    {
        using var a = Tensor.FromHost(Dev, [1f, -1f, 0f], new Shape(3));
        using var b = Tensor.Zeros(Dev, new Shape(1));
        using var y = Tensor.Empty(Dev, new Shape(3));
        BinaryOps.Divide(a, b, y);
        var v = y.ToArray();
        Assert.That(v[0], Is.EqualTo(float.PositiveInfinity));
        Assert.That(v[1], Is.EqualTo(float.NegativeInfinity));
        Assert.That(v[2], Is.NaN);
    }

    private static int Length(int[] s) => s.Aggregate(1, (x, y) => x * y);

    // y = f(a, b) with PyTorch's broadcasting by explicit multi-indices, the upstream gradient g, and da, db summed in double.
    private static (int[] Ys, double[] Y, double[] Da, double[] Db, float[] G) Reference(BinaryOp op, int[] sa, float[] a, int[] sb, float[] b)
    {
        int r = Math.Max(sa.Length, sb.Length);
        int[] pa = [.. Enumerable.Repeat(1, r - sa.Length), .. sa], pb = [.. Enumerable.Repeat(1, r - sb.Length), .. sb];
        int[] ys = pa.Zip(pb, Math.Max).ToArray();
        int n = Length(ys);
        var g = HostMath.Random(n, 13 + r, -1f, 1f);
        var y = new double[n];
        var da = new double[a.Length];
        var db = new double[b.Length];
        var idx = new int[r];
        for (int i = 0; i < n; i++)
        {
            int rem = i;
            for (int d = r - 1; d >= 0; d--)
            {
                idx[d] = rem % ys[d];
                rem /= ys[d];
            }

            int ia = 0, ib = 0;
            for (int d = 0; d < r; d++)
            {
                ia = (ia * pa[d]) + (pa[d] == 1 ? 0 : idx[d]);
                ib = (ib * pb[d]) + (pb[d] == 1 ? 0 : idx[d]);
            }

            double x = a[ia], z = b[ib], gi = g[i];
            (y[i], double ga, double gb) = op switch
            {
                BinaryOp.Add => (x + z, gi, gi),
                BinaryOp.Subtract => (x - z, gi, -gi),
                BinaryOp.Multiply => (x * z, gi * z, gi * x),
                BinaryOp.Divide => (x / z, gi / z, -gi * x / (z * z)),
                _ => throw new ArgumentOutOfRangeException(nameof(op)),
            };
            da[ia] += ga;
            db[ib] += gb;
        }

        return (ys, y, da, db, g);
    }
}
