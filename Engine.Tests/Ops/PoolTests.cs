// Pooling on every device and variant: forward against double definitions, gradients against central differences,
// PyTorch's tie and NaN rules for max pooling, lp's zero-window rule, accumulation and bad inputs.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;
using static Engine.Tests.Ops.ConvReference;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class PoolTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    public static IEnumerable<TestCaseData> Windows()
    {
        yield return new TestCaseData(new[] { 1, 2, 6, 8 }, (2, 2), (2, 2), (0, 0)).SetArgDisplayNames("2x2 s2");
        yield return new TestCaseData(new[] { 2, 3, 7, 37 }, (2, 2), (2, 2), (0, 0)).SetArgDisplayNames("2x2 s2 7x37 (vector rows, odd sizes)");
        yield return new TestCaseData(new[] { 2, 3, 10, 14 }, (2, 2), (2, 2), (0, 0)).SetArgDisplayNames("2x2 s2 10x14 (short rows spill into the next)");
        yield return new TestCaseData(new[] { 1, 2, 9, 6 }, (2, 2), (2, 2), (0, 0)).SetArgDisplayNames("2x2 s2 9x6 (short rows, odd height)");
        yield return new TestCaseData(new[] { 1, 2, 4, 26 }, (2, 2), (2, 2), (0, 0)).SetArgDisplayNames("2x2 s2 4x26 (overlapping last step)");
        yield return new TestCaseData(new[] { 3, 2, 7, 9 }, (3, 3), (2, 2), (1, 1)).SetArgDisplayNames("3x3 s2 p1 7x9");
        yield return new TestCaseData(new[] { 2, 1, 5, 7 }, (2, 3), (1, 2), (1, 1)).SetArgDisplayNames("2x3 s[1,2] p1");
    }

    private IEnumerable<string> Variants(IEnumerable<Dispatch.OpVariantInfo> v) => v.Where(i => i.Path == Dev.Path).Select(i => i.Variant);

    [TestCaseSource(nameof(Windows))]
    public void Max_pool_values_indices_and_gradient(int[] shape, (int, int) k, (int, int) s, (int, int) p)
    {
        var o = new Pool2dOptions(k) { Stride = s, Padding = p };
        int planes = shape[0] * shape[1], n = planes * shape[2] * shape[3];
        var xh = HostMath.Random(n, 3);
        var want = Pool(PoolKind.Max, GradCheck.ToDouble(xh), planes, shape[2], shape[3], k, s, p, 0, out int oh, out int ow, out var argmax);
        var gh = HostMath.Random(want.Length, 4);
        using var x = Tensor.FromHost(Dev, xh, shape);
        using var g = Tensor.FromHost(Dev, gh, new Shape(shape[0], shape[1], oh, ow));
        Assert.That(MaxPool2dOp.OutputShape(x.Shape, o), Is.EqualTo(g.Shape));
        foreach (var (fwd, bwd) in Variants(MaxPool2dOp.ForwardRegistry.Variants).Zip(Variants(MaxPool2dOp.BackwardRegistry.Variants)))
        {
            using var y = Tensor.Empty(Dev, g.Shape);
            using var idx = Tensor.Empty(Dev, g.Shape);
            using var dx = Tensor.Empty(Dev, x.Shape);
            MaxPool2dOp.Forward(x, y, idx, o, fwd);
            MaxPool2dOp.Backward(g, idx, dx, o, variant: bwd);
            HostMath.AssertClose(y.ToArray(), want, 0, 0, $"max {fwd}");
            Assert.That(idx.ToArray(), Is.EqualTo(argmax.Select(a => (float)a).ToArray()), $"indices {fwd}");
            var gd = GradCheck.ToDouble(gh);
            GradCheck.AssertMatches(dx.ToArray(), v => Dot(gd, Pool(PoolKind.Max, v, planes, shape[2], shape[3], k, s, p, 0, out _, out _, out _)),
                GradCheck.ToDouble(xh), $"max dx {bwd}");
        }
    }

    [TestCaseSource(nameof(Windows))]
    public void Avg_pool_value_and_gradient(int[] shape, (int, int) k, (int, int) s, (int, int) p)
    {
        var o = new Pool2dOptions(k) { Stride = s, Padding = p };
        int planes = shape[0] * shape[1], n = planes * shape[2] * shape[3];
        var xh = HostMath.Random(n, 5);
        var xd = GradCheck.ToDouble(xh);
        var want = Pool(PoolKind.Avg, xd, planes, shape[2], shape[3], k, s, p, 0, out int oh, out int ow, out _);
        var gh = HostMath.Random(want.Length, 6);
        using var x = Tensor.FromHost(Dev, xh, shape);
        using var g = Tensor.FromHost(Dev, gh, new Shape(shape[0], shape[1], oh, ow));
        foreach (var (fwd, bwd) in Variants(AvgPool2dOp.ForwardRegistry.Variants).Zip(Variants(AvgPool2dOp.BackwardRegistry.Variants)))
        {
            using var y = Tensor.Empty(Dev, g.Shape);
            using var dx = Tensor.Empty(Dev, x.Shape);
            AvgPool2dOp.Forward(x, y, o, fwd);
            AvgPool2dOp.Backward(g, dx, o, variant: bwd);
            HostMath.AssertClose(y.ToArray(), want, 1e-6, 1e-5, $"avg {fwd}");
            var gd = GradCheck.ToDouble(gh);
            GradCheck.AssertMatches(dx.ToArray(), v => Dot(gd, Pool(PoolKind.Avg, v, planes, shape[2], shape[3], k, s, p, 0, out _, out _, out _)), xd, $"avg dx {bwd}");
        }
    }

    [TestCase(2.0, 3, 3, 1, 1)]
    [TestCase(3.0, 2, 3, 2, 1)]
    [TestCase(1.5, 2, 2, 2, 2)]
    [TestCase(1.0, 3, 2, 1, 2)]
    public void Lp_pool_value_and_gradient(double norm, int kh, int kw, int sh, int sw)
    {
        var o = new Pool2dOptions((kh, kw)) { Stride = (sh, sw) };
        int[] shape = [2, 2, 6, 7];
        var xh = HostMath.Random(2 * 2 * 6 * 7, 7, 0.2f, 1.5f); // positive: non-integer powers of negatives are NaN
        var xd = GradCheck.ToDouble(xh);
        var want = Pool(PoolKind.Lp, xd, 4, 6, 7, (kh, kw), (sh, sw), (0, 0), norm, out int oh, out int ow, out _);
        var gh = HostMath.Random(want.Length, 8);
        using var x = Tensor.FromHost(Dev, xh, shape);
        using var g = Tensor.FromHost(Dev, gh, new Shape(2, 2, oh, ow));
        foreach (var (fwd, bwd) in Variants(LPPool2dOp.ForwardRegistry.Variants).Zip(Variants(LPPool2dOp.BackwardRegistry.Variants)))
        {
            using var y = Tensor.Empty(Dev, g.Shape);
            using var dx = Tensor.Empty(Dev, x.Shape);
            LPPool2dOp.Forward(x, y, norm, o, fwd);
            LPPool2dOp.Backward(x, g, dx, norm, o, variant: bwd);
            HostMath.AssertClose(y.ToArray(), want, 1e-5, 1e-4, $"lp{norm} {fwd}");
            var gd = GradCheck.ToDouble(gh);
            GradCheck.AssertMatches(dx.ToArray(), v => Dot(gd, Pool(PoolKind.Lp, v, 4, 6, 7, (kh, kw), (sh, sw), (0, 0), norm, out _, out _, out _)), xd, $"lp{norm} dx {bwd}");
        }
    }

    [Test]
    public void Lp_pool_odd_integer_power_keeps_signs_and_zero_windows_get_zero_gradient()
    {
        // p = 3 with x = [[-1, 2], [0, 0]] in one window: s = 7, y = 7^(1/3); second window all zero: y = 0, dx = 0.
        using var x = Tensor.FromHost(Dev, [-1f, 2f, 0f, 0f, 0f, 0f, 0f, 0f], new Shape(1, 1, 2, 4));
        using var y = Tensor.Empty(Dev, new Shape(1, 1, 1, 2));
        using var g = Tensor.FromHost(Dev, [1f, 1f], new Shape(1, 1, 1, 2));
        using var dx = Tensor.Empty(Dev, x.Shape);
        var o = new Pool2dOptions(2);
        LPPool2dOp.Forward(x, y, 3, o);
        LPPool2dOp.Backward(x, g, dx, 3, o);
        double c = Math.Pow(7, (1.0 / 3) - 1);
        HostMath.AssertClose(y.ToArray(), [Math.Cbrt(7), 0], 1e-6, 1e-5, "y");
        HostMath.AssertClose(dx.ToArray(), [c, c * 4, 0, 0, 0, 0, 0, 0], 1e-6, 1e-5, "dx");
    }

    [Test]
    public void Global_avg_pool_value_gradient_and_accumulate()
    {
        var xh = HostMath.Random(3 * 4 * 5 * 7, 9);
        var gh = HostMath.Random(12, 10);
        using var x = Tensor.FromHost(Dev, xh, new Shape(3, 4, 5, 7));
        using var y = Tensor.Empty(Dev, new Shape(3, 4));
        using var g = Tensor.FromHost(Dev, gh, new Shape(3, 4));
        using var dx = Tensor.Empty(Dev, x.Shape);
        foreach (var (fwd, bwd) in Variants(GlobalAvgPool2dOp.ForwardRegistry.Variants).Zip(Variants(GlobalAvgPool2dOp.BackwardRegistry.Variants)))
        {
            GlobalAvgPool2dOp.Forward(x, y, fwd);
            var want = Enumerable.Range(0, 12).Select(q => xh.Skip(q * 35).Take(35).Sum(v => (double)v) / 35).ToArray();
            HostMath.AssertClose(y.ToArray(), want, 1e-6, 1e-5, $"gap {fwd}");
            GlobalAvgPool2dOp.Backward(g, dx, variant: bwd);
            GlobalAvgPool2dOp.Backward(g, dx, accumulate: true, variant: bwd);
            HostMath.AssertClose(dx.ToArray(), Enumerable.Range(0, xh.Length).Select(i => 2.0 * gh[i / 35] / 35).ToArray(), 1e-6, 1e-5, $"gap dx {bwd}");
        }
    }

    [Test]
    public void Max_pool_ties_go_to_the_first_maximum_and_nan_propagates()
    {
        using var x = Tensor.FromHost(Dev, [1f, 3f, 3f, 0f, 3f, 3f, float.NaN, 2f, 5f, 5f, 5f, 5f], new Shape(1, 1, 3, 4));
        using var y = Tensor.Empty(Dev, new Shape(1, 1, 2, 3));
        using var idx = Tensor.Empty(Dev, y.Shape);
        using var g = Tensor.FromHost(Dev, [1f, 10f, 100f, 1000f, 10000f, 100000f], y.Shape);
        using var dx = Tensor.FromHost(Dev, Enumerable.Repeat(0.5f, 12).ToArray(), x.Shape);
        var o = new Pool2dOptions(2) { Stride = (1, 1) };
        MaxPool2dOp.Forward(x, y, idx, o);
        MaxPool2dOp.Backward(g, idx, dx, o, accumulate: true);
        Assert.That(y.ToArray(), Is.EqualTo(new[] { 3f, float.NaN, float.NaN, 5f, float.NaN, float.NaN })); // as PyTorch 1.13
        Assert.That(idx.ToArray(), Is.EqualTo(new[] { 1f, 6f, 6f, 8f, 6f, 6f }));
        Assert.That(dx.ToArray(), Is.EqualTo(new[] { 0.5f, 1.5f, 0.5f, 0.5f, 0.5f, 0.5f, 110110.5f, 0.5f, 1000.5f, 0.5f, 0.5f, 0.5f }));
    }

    [Test]
    public void Max_pool_2x2_vector_rows_keep_the_tie_and_nan_rules()
    {
        // One 2 x 32 plane: 16 windows (two vector steps of eight). Window w holds a pattern of ties and NaNs.
        var xs = new float[64];
        for (int w = 0; w < 16; w++)
        {
            float[] win = (w % 4) switch
            {
                0 => [2f, 2f, 2f, 2f],                     // all equal: the first
                1 => [1f, float.NaN, 3f, float.NaN],       // NaNs: the last NaN
                2 => [-1f, -3f, 4f, 4f],                   // tie in the second row: its first
                _ => [float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity],
            };
            xs[2 * w] = win[0];
            xs[(2 * w) + 1] = win[1];
            xs[32 + (2 * w)] = win[2];
            xs[32 + (2 * w) + 1] = win[3];
        }

        using var x = Tensor.FromHost(Dev, xs, new Shape(1, 1, 2, 32));
        using var y = Tensor.Empty(Dev, new Shape(1, 1, 1, 16));
        using var idx = Tensor.Empty(Dev, y.Shape);
        using var g = Tensor.FromHost(Dev, Enumerable.Range(1, 16).Select(v => (float)v).ToArray(), y.Shape);
        using var dx = Tensor.FromHost(Dev, Enumerable.Repeat(0.25f, 64).ToArray(), x.Shape);
        var o = new Pool2dOptions(2);
        MaxPool2dOp.Forward(x, y, idx, o);
        MaxPool2dOp.Backward(g, idx, dx, o, accumulate: true);
        var wantIdx = Enumerable.Range(0, 16).Select(w => (float)((2 * w) + (w % 4) switch { 0 => 0, 1 => 33, 2 => 32, _ => 0 })).ToArray();
        var wantY = Enumerable.Range(0, 16).Select(w => (w % 4) switch { 0 => 2f, 1 => float.NaN, 2 => 4f, _ => float.NegativeInfinity }).ToArray();
        Assert.That(y.ToArray(), Is.EqualTo(wantY));
        Assert.That(idx.ToArray(), Is.EqualTo(wantIdx));
        var wantDx = Enumerable.Repeat(0.25f, 64).ToArray();
        for (int w = 0; w < 16; w++)
        {
            wantDx[(int)wantIdx[w]] += w + 1;
        }

        Assert.That(dx.ToArray(), Is.EqualTo(wantDx));
    }

    [Test]
    public void Bad_pooling_arguments_are_rejected_before_launch()
    {
        using var x = Tensor.Zeros(Dev, new Shape(1, 2, 4, 5));
        using var y = Tensor.Zeros(Dev, new Shape(1, 2, 2, 2));
        using var yBad = Tensor.Zeros(Dev, new Shape(1, 2, 3, 2));
        Assert.That(() => MaxPool2dOp.Forward(x, yBad, y, new Pool2dOptions(2)), Throws.ArgumentException
            .With.Property("ParamName").EqualTo("y").And.Message.Contain("[1, 2, 3, 2]").And.Message.Contain("[1, 2, 2, 2]"));
        Assert.That(() => MaxPool2dOp.Forward(x, y, yBad, new Pool2dOptions(2)), Throws.ArgumentException.With.Property("ParamName").EqualTo("indices"));
        Assert.That(() => AvgPool2dOp.Forward(x, y, new Pool2dOptions(5)), Throws.ArgumentException.With.Message.Contain("larger than the padded input 4x5"));
        Assert.That(() => AvgPool2dOp.Forward(x, y, new Pool2dOptions(2) { Padding = (2, 0) }), Throws.ArgumentException.With.Message.Contain("half the kernel"));
        Assert.That(() => AvgPool2dOp.Forward(x, y, new Pool2dOptions(0)), Throws.ArgumentException.With.Message.Contain("must be positive"));
        Assert.That(() => AvgPool2dOp.Forward(x, y, new Pool2dOptions(2) { Stride = (-1, 1) }), Throws.ArgumentException.With.Message.Contain("stride (-1, 1)"));
        Assert.That(() => LPPool2dOp.Forward(x, y, 2, new Pool2dOptions(2) { Padding = (1, 1) }), Throws.ArgumentException.With.Message.Contain("no padding"));
        Assert.That(() => LPPool2dOp.Forward(x, y, 0, new Pool2dOptions(2)), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("norm_type"));
        using var x3 = Tensor.Zeros(Dev, new Shape(2, 4, 5));
        Assert.That(() => GlobalAvgPool2dOp.Forward(x3, y), Throws.ArgumentException.With.Message.Contain("4-D").And.Message.Contain("[2, 4, 5]"));
        Assert.That(() => GlobalAvgPool2dOp.Backward(yBad, x), Throws.ArgumentException.With.Property("ParamName").EqualTo("dy").And.Message.Contain("[1, 2]"));
        Assert.That(() => MaxPool2dOp.Backward(y, y, x3, new Pool2dOptions(2)), Throws.ArgumentException.With.Property("ParamName").EqualTo("dx").And.Message.Contain("4-D"));
    }
}
