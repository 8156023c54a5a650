// Layer norm on every device against a double reference (D = 1 up to several groups, many rows, several normalized
// dims), finite differences for dx, dgamma, dbeta, accumulation, and bad inputs.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class LayerNormTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    private static double[] D(float[] a) => GradCheck.ToDouble(a);

    public static IEnumerable<TestCaseData> Shapes()
    {
        yield return new TestCaseData(new[] { 3, 1 }, 1, true).SetArgDisplayNames("(3,1) D=1");
        yield return new TestCaseData(new[] { 5, 37 }, 1, true).SetArgDisplayNames("(5,37)");
        yield return new TestCaseData(new[] { 2, 300 }, 1, true).SetArgDisplayNames("(2,300) D above a group");
        yield return new TestCaseData(new[] { 300, 8 }, 1, true).SetArgDisplayNames("(300,8) many rows");
        yield return new TestCaseData(new[] { 2, 1000 }, 1, false).SetArgDisplayNames("(2,1000) no affine");
        yield return new TestCaseData(new[] { 2, 3, 4, 5 }, 2, true).SetArgDisplayNames("(2,3,4,5) over [4,5]");
    }

    [TestCaseSource(nameof(Shapes))]
    public void Forward_and_backward_match_double_reference(int[] dims, int normalizedDims, bool affine) =>
        Check(Dev, config.Name, dims, normalizedDims, affine);

    /// <summary>One shape against the double reference (values shifted by 5 to exercise the two-pass variance).</summary>
    public static void Check(Device dev, string device, int[] dims, int normalizedDims, bool affine)
    {
        var shape = new Shape(dims);
        var normalized = new Shape(dims[^normalizedDims..]);
        int d = (int)normalized.Length, rows = (int)(shape.Length / d);
        var xh = HostMath.Random((int)shape.Length, 51 + d, -2f, 2f).Select(v => v + 5f).ToArray();
        var gh = HostMath.Random(d, 52, 0.5f, 1.5f);
        var bh = HostMath.Random(d, 53);
        var dyh = HostMath.Random((int)shape.Length, 54);
        const float eps = 1e-5f;
        var want = NormReference.LayerNorm(D(xh), rows, d, affine ? D(gh) : null, affine ? D(bh) : null, eps);
        var wantG = NormReference.LayerNormBackward(D(xh), D(dyh), rows, d, affine ? D(gh) : null, want.Mean, want.InvStd);

        using var x = Tensor.FromHost(dev, xh, shape);
        using var gamma = affine ? Tensor.FromHost(dev, gh, normalized) : null;
        using var beta = affine ? Tensor.FromHost(dev, bh, normalized) : null;
        using var y = Tensor.Empty(dev, shape);
        using var mean = Tensor.Empty(dev, new Shape(rows));
        using var rstd = Tensor.Empty(dev, new Shape(rows));
        LayerNormOp.Forward(x, y, gamma, beta, mean, rstd, normalized, eps);
        string what = $"layer_norm {shape} over {normalized} on {device}";
        HostMath.AssertClose(y.ToArray(), want.Y, 1e-4, 1e-3, what + " y");
        HostMath.AssertClose(mean.ToArray(), want.Mean, 1e-5, 1e-5, what + " mean");
        HostMath.AssertClose(rstd.ToArray(), want.InvStd, 1e-5, 1e-3, what + " rstd");

        using var dy = Tensor.FromHost(dev, dyh, shape);
        using var dx = Tensor.Empty(dev, shape);
        using var dgamma = Tensor.Empty(dev, normalized);
        using var dbeta = Tensor.Empty(dev, normalized);
        LayerNormOp.Backward(x, dy, gamma, mean, rstd, dx, dgamma, dbeta, normalized);
        HostMath.AssertClose(dx.ToArray(), wantG.Dx, 2e-4, 1e-3, what + " dx");
        HostMath.AssertClose(dgamma.ToArray(), wantG.DGamma, 1e-3, 1e-3, what + " dgamma");
        HostMath.AssertClose(dbeta.ToArray(), wantG.DBeta, 1e-3, 1e-3, what + " dbeta");
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Every_gradient_matches_finite_differences(bool affine)
    {
        int rows = 3, d = 7;
        var shape = new Shape(rows, d);
        var xh = HostMath.Random(rows * d, 61, -2f, 2f);
        var gh = HostMath.Random(d, 62, 0.5f, 1.5f);
        var bh = HostMath.Random(d, 63);
        var gy = D(HostMath.Random(rows * d, 64));
        const double eps = 1e-3;
        using var x = Tensor.FromHost(Dev, xh, shape);
        using var gamma = affine ? Tensor.FromHost(Dev, gh, new Shape(d)) : null;
        using var beta = affine ? Tensor.FromHost(Dev, bh, new Shape(d)) : null;
        using var y = Tensor.Empty(Dev, shape);
        using var mean = Tensor.Empty(Dev, new Shape(rows));
        using var rstd = Tensor.Empty(Dev, new Shape(rows));
        LayerNormOp.Forward(x, y, gamma, beta, mean, rstd, new Shape(d), (float)eps);
        using var dy = Tensor.FromHost(Dev, gy.Select(v => (float)v).ToArray(), shape);
        using var dx = Tensor.Empty(Dev, shape);
        using var dgamma = Tensor.Empty(Dev, new Shape(d));
        using var dbeta = Tensor.Empty(Dev, new Shape(d));
        LayerNormOp.Backward(x, dy, gamma, mean, rstd, dx, affine ? dgamma : null, affine ? dbeta : null, new Shape(d));

        double Loss(double[] xv, double[] gv, double[] bv) =>
            NormReference.Dot(gy, NormReference.LayerNorm(xv, rows, d, affine ? gv : null, affine ? bv : null, eps).Y);
        string what = $"layer_norm affine={affine} on {config}";
        GradCheck.AssertMatches(dx.ToArray(), xv => Loss(xv, D(gh), D(bh)), D(xh), what + " dx");
        if (affine)
        {
            GradCheck.AssertMatches(dgamma.ToArray(), gv => Loss(D(xh), gv, D(bh)), D(gh), what + " dgamma");
            GradCheck.AssertMatches(dbeta.ToArray(), bv => Loss(D(xh), D(gh), bv), D(bh), what + " dbeta");
        }
    }

    [Test]
    public void Parameter_gradients_accumulate_and_dx_may_overwrite_dy()
    {
        var shape = new Shape(4, 6);
        using var x = Tensor.FromHost(Dev, HostMath.Random(24, 71), shape);
        using var gamma = Tensor.FromHost(Dev, HostMath.Random(6, 72, 0.5f, 1.5f), new Shape(6));
        using var y = Tensor.Empty(Dev, shape);
        using var mean = Tensor.Empty(Dev, new Shape(4));
        using var rstd = Tensor.Empty(Dev, new Shape(4));
        LayerNormOp.Forward(x, y, gamma, null, mean, rstd, new Shape(6));
        using var dy = Tensor.FromHost(Dev, HostMath.Random(24, 73), shape);
        using var dx = Tensor.Empty(Dev, shape);
        using var dg = Tensor.Empty(Dev, new Shape(6));
        using var db = Tensor.Empty(Dev, new Shape(6));
        LayerNormOp.Backward(x, dy, gamma, mean, rstd, dx, dg, db, new Shape(6));
        using var dgAcc = Tensor.FromHost(Dev, [1f, 1f, 1f, 1f, 1f, 1f], new Shape(6));
        using var dbAcc = Tensor.FromHost(Dev, [2f, 2f, 2f, 2f, 2f, 2f], new Shape(6));
        LayerNormOp.Backward(x, dy, gamma, mean, rstd, null, dgAcc, dbAcc, new Shape(6), accumulate: true);
        Assert.That(dgAcc.ToArray(), Is.EqualTo(dg.ToArray().Select(v => v + 1f)).Within(1e-5f));
        Assert.That(dbAcc.ToArray(), Is.EqualTo(db.ToArray().Select(v => v + 2f)).Within(1e-5f));
        var want = dx.ToArray();
        LayerNormOp.Backward(x, dy, gamma, mean, rstd, dy, null, null, new Shape(6));
        Assert.That(dy.ToArray(), Is.EqualTo(want).Within(1e-6f));
    }

    [Test]
    public void Bad_arguments_are_rejected_with_their_names_and_shapes()
    {
        using var x = Tensor.Zeros(Dev, new Shape(4, 3, 5));
        using var y = Tensor.Zeros(Dev, new Shape(4, 3, 5));
        using var saved = Tensor.Zeros(Dev, new Shape(12));
        using var saved2 = Tensor.Zeros(Dev, new Shape(12));
        using var g5 = Tensor.Zeros(Dev, new Shape(5));
        using var g3 = Tensor.Zeros(Dev, new Shape(3));
        using var s4 = Tensor.Zeros(Dev, new Shape(4));
        Assert.That(() => LayerNormOp.Forward(x, y, null, null, saved, saved2, new Shape(4)),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("normalizedShape").And.Message.Contain("[4, 3, 5]"));
        Assert.That(() => LayerNormOp.Forward(x, y, null, null, saved, saved2, new Shape(2, 3, 4, 5)),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("normalizedShape"));
        Assert.That(() => LayerNormOp.Forward(x, y, g3, null, saved, saved2, new Shape(5)),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("gamma").And.Message.Contain("[3]").And.Message.Contain("[5]"));
        Assert.That(() => LayerNormOp.Forward(x, y, g5, null, s4, saved2, new Shape(5)),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("saveMean").And.Message.Contain("12 elements"));
        Assert.That(() => LayerNormOp.Forward(x, y, g5, null, saved, saved2, new Shape(5), eps: -1f),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("eps"));
        Assert.That(() => LayerNormOp.Forward(x, s4, g5, null, saved, saved2, new Shape(5)),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("y"));
        Assert.That(() => LayerNormOp.Backward(x, y, g5, saved, saved2, y, g3, null, new Shape(5)),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("dgamma"));
        Assert.That(() => LayerNormOp.Backward(x, s4, g5, saved, saved2, y, null, null, new Shape(5)),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("dy"));
    }
}
