// Softmax / log-softmax along every axis and maxout, on every device and variant: double references at odd sizes,
// huge logits, finite-difference gradients, and bad shapes.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class SoftmaxTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    public static IEnumerable<TestCaseData> Shapes()
    {
        (int[] Shape, int Axis)[] cases = [([1], 0), ([37], -1), ([3, 1000], -1), ([2, 4099], 1), ([5, 37, 3], 1), ([4099, 2], 0), ([2, 3, 300], -1), ([300, 3], -2), ([7, 129], -1)];
        foreach (var (shape, axis) in cases)
        {
            foreach (bool log in new[] { false, true })
            {
                yield return new TestCaseData(shape, axis, log).SetArgDisplayNames(Shape.Format(shape), $"axis {axis}", log ? "log_softmax" : "softmax");
            }
        }
    }

    /// <summary>Double reference of (log-)softmax along an axis and of its backward from dy.</summary>
    public static (double[] Y, double[] Dx) Reference(float[] x, float[] dy, int[] shape, int axis, bool log)
    {
        int a = axis < 0 ? axis + shape.Length : axis;
        int outer = shape[..a].Aggregate(1, (p, d) => p * d), n = shape[a], inner = shape[(a + 1)..].Aggregate(1, (p, d) => p * d);
        var y = new double[x.Length];
        var dx = new double[x.Length];
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int At(int k) => (((o * n) + k) * inner) + i;
                double m = Enumerable.Range(0, n).Max(k => (double)x[At(k)]);
                double s = Enumerable.Range(0, n).Sum(k => Math.Exp(x[At(k)] - m));
                for (int k = 0; k < n; k++)
                {
                    y[At(k)] = log ? x[At(k)] - m - Math.Log(s) : Math.Exp(x[At(k)] - m) / s;
                }

                double dot = Enumerable.Range(0, n).Sum(k => log ? dy[At(k)] : dy[At(k)] * y[At(k)]);
                for (int k = 0; k < n; k++)
                {
                    dx[At(k)] = log ? dy[At(k)] - (Math.Exp(y[At(k)]) * dot) : y[At(k)] * (dy[At(k)] - dot);
                }
            }
        }

        return (y, dx);
    }

    [TestCaseSource(nameof(Shapes))]
    public void Every_variant_matches_double_reference(int[] shape, int axis, bool log)
    {
        int len = shape.Aggregate(1, (p, d) => p * d);
        var xh = HostMath.Random(len, len + axis, -8f, 8f);
        var gh = HostMath.Random(len, len + 3);
        var (wantY, wantDx) = Reference(xh, gh, shape, axis, log);
        using var x = Tensor.FromHost(Dev, xh, new Shape(shape));
        using var g = Tensor.FromHost(Dev, gh, x.Shape);
        using var y = Tensor.Empty(Dev, x.Shape);
        using var dx = Tensor.Empty(Dev, x.Shape);
        foreach (var v in SoftmaxOp.ForwardRegistry.Variants.Where(v => v.Path == Dev.Path).Select(v => v.Variant))
        {
            y.Fill(float.NaN);
            SoftmaxOp.Forward(x, y, axis, log, v);
            HostMath.AssertClose(y.ToArray(), wantY, 1e-6, 1e-5, $"y {v}");
            dx.Fill(float.NaN);
            SoftmaxOp.Backward(y, g, dx, axis, log, v);
            HostMath.AssertClose(dx.ToArray(), wantDx, 1e-6, 1e-4, $"dx {v}");
        }
    }

    [Test]
    public void Huge_logits_and_wide_spreads_stay_finite()
    {
        float[] xh = [1e4f, 1e4f - 1f, 0f, -1e4f, 1e4f, -3e4f, -1e4f, -1e4f, -1e4f, -1e4f, -1e4f, -1e4f, 88f, 89f, -1e30f, 3e38f, 0f, 0f];
        var gh = HostMath.Random(18, 4);
        foreach (bool log in new[] { false, true })
        {
            foreach (int axis in new[] { -1, 0 })
            {
                var (wantY, wantDx) = Reference(xh, gh, [3, 6], axis, log);
                using var x = Tensor.FromHost(Dev, xh, new Shape(3, 6));
                using var g = Tensor.FromHost(Dev, gh, x.Shape);
                using var y = Tensor.Empty(Dev, x.Shape);
                using var dx = Tensor.Empty(Dev, x.Shape);
                foreach (var v in SoftmaxOp.ForwardRegistry.Variants.Where(v => v.Path == Dev.Path).Select(v => v.Variant))
                {
                    SoftmaxOp.Forward(x, y, axis, log, v);
                    SoftmaxOp.Backward(y, g, dx, axis, log, v);
                    var got = y.ToArray();
                    Assert.That(got.All(float.IsFinite), Is.True, $"finite y ({v}, log {log}, axis {axis}): {string.Join(", ", got)}");
                    HostMath.AssertClose(got, wantY, 1e-5, 1e-5, $"y {v} log {log} axis {axis}");
                    HostMath.AssertClose(dx.ToArray(), wantDx, 1e-5, 1e-4, $"dx {v} log {log} axis {axis}");
                }
            }
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Backward_matches_finite_differences(bool log)
    {
        int[] shape = [3, 5, 4];
        var xh = HostMath.Random(60, 9, -3f, 3f);
        var gh = HostMath.Random(60, 10);
        foreach (int axis in new[] { 0, 1, -1 })
        {
            using var x = Tensor.FromHost(Dev, xh, new Shape(shape));
            using var g = Tensor.FromHost(Dev, gh, x.Shape);
            using var y = Tensor.Empty(Dev, x.Shape);
            using var dx = Tensor.Empty(Dev, x.Shape);
            var op = new SoftmaxSpec(axis, log);
            op.Forward(x, y);
            op.Backward(x, y, g, dx);
            GradCheck.AssertMatches(dx.ToArray(), v =>
            {
                var (yy, _) = Reference(v.Select(e => (float)e).ToArray(), gh, shape, axis, log);
                return yy.Select((e, i) => gh[i] * e).Sum();
            }, GradCheck.ToDouble(xh), $"{op.Op} axis {axis}", 1e-3, 1e-2, 1e-2);
        }
    }

    [Test]
    public void Bad_axis_and_shapes_are_rejected()
    {
        using var x = Tensor.Zeros(Dev, new Shape(2, 3));
        using var y = Tensor.Zeros(Dev, new Shape(2, 3));
        Assert.That(() => SoftmaxOp.Forward(x, y, 2), Throws.ArgumentException.With.Message.Contain("axis 2 is out of range for [2, 3]").And.Property("ParamName").EqualTo("axis"));
        Assert.That(() => SoftmaxOp.Forward(x, y, -3, log: true), Throws.ArgumentException.With.Message.Contain("log_softmax"));
        using var z = Tensor.Zeros(Dev, new Shape(3, 2));
        Assert.That(() => SoftmaxOp.Backward(x, z, y), Throws.ArgumentException.With.Message.Contain("[3, 2]").And.Property("ParamName").EqualTo("dy"));
        Assert.That(() => new SoftmaxSpec(5, false).OutputShape(new Shape(4)), Throws.ArgumentException);
    }

    [Test]
    public void Maxout_matches_reference_with_ties_going_to_the_first_maximum()
    {
        foreach (var (n, f, k) in new[] { (1, 1, 1), (3, 5, 2), (4, 7, 4), (37, 33, 3), (5, 1000, 2) })
        {
            var xh = HostMath.Random(n * f * k, n + f + k, -2f, 2f).Select(v => MathF.Round(v * 2f) / 2f).ToArray(); // many ties
            var gh = HostMath.Random(n * f, 3);
            var wantY = new double[n * f];
            var wantDx = new double[n * f * k];
            for (int o = 0; o < n * f; o++)
            {
                int arg = 0;
                for (int j = 1; j < k; j++)
                {
                    if (xh[(o * k) + j] > xh[(o * k) + arg])
                    {
                        arg = j;
                    }
                }

                wantY[o] = xh[(o * k) + arg];
                wantDx[(o * k) + arg] = gh[o];
            }

            using var x = Tensor.FromHost(Dev, xh, new Shape(n, f * k));
            using var g = Tensor.FromHost(Dev, gh, new Shape(n, f));
            using var y = Tensor.Empty(Dev, new Shape(n, f));
            using var dx = Tensor.Empty(Dev, x.Shape);
            foreach (var v in MaxoutOp.ForwardRegistry.Variants.Where(v => v.Path == Dev.Path).Select(v => v.Variant))
            {
                MaxoutOp.Forward(x, y, k, v);
                MaxoutOp.Backward(x, g, dx, k, v);
                HostMath.AssertClose(y.ToArray(), wantY, 0, 0, $"maxout y {n}x{f}x{k} {v}");
                HostMath.AssertClose(dx.ToArray(), wantDx, 0, 0, $"maxout dx {n}x{f}x{k} {v}");
            }
        }
    }

    [Test]
    public void Maxout_backward_matches_finite_differences_away_from_ties()
    {
        var xh = Enumerable.Range(0, 4 * 12).Select(i => (float)((i * 37 % 48) - 24) / 8f).ToArray(); // distinct values
        var gh = HostMath.Random(4 * 4, 8);
        var op = new MaxoutSpec(3);
        using var x = Tensor.FromHost(Dev, xh, new Shape(4, 12));
        using var g = Tensor.FromHost(Dev, gh, new Shape(4, 4));
        using var y = Tensor.Empty(Dev, op.OutputShape(x.Shape));
        using var dx = Tensor.Empty(Dev, x.Shape);
        op.Forward(x, y);
        op.Backward(x, y, g, dx);
        GradCheck.AssertMatches(dx.ToArray(), v => Enumerable.Range(0, 16).Sum(o => gh[o] * Math.Max(v[3 * o], Math.Max(v[(3 * o) + 1], v[(3 * o) + 2]))), GradCheck.ToDouble(xh), "maxout");
    }

    [Test]
    public void Maxout_bad_shapes_are_rejected()
    {
        using var x = Tensor.Zeros(Dev, new Shape(2, 7));
        using var y = Tensor.Zeros(Dev, new Shape(2, 3));
        Assert.That(() => MaxoutOp.Forward(x, y, 2), Throws.ArgumentException.With.Message.Contain("multiple of pieces (2)").And.Message.Contain("[2, 7]"));
        using var x6 = Tensor.Zeros(Dev, new Shape(2, 6));
        using var y2 = Tensor.Zeros(Dev, new Shape(2, 2));
        Assert.That(() => MaxoutOp.Forward(x6, y2, 2), Throws.ArgumentException.With.Message.Contain("gives [2, 3]").And.Property("ParamName").EqualTo("y"));
        Assert.That(() => MaxoutOp.Forward(x6, y2, 0), Throws.ArgumentException.With.Message.Contain("positive"));
        Assert.That(() => MaxoutOp.Backward(x6, y, y, 2), Throws.ArgumentException.With.Property("ParamName").EqualTo("dx"));
    }
}
