// Median and global max pooling on every device and variant: values and saved indices against a reference written
// from the stable-sort definition of torch.median (independent of both implementations' counting and insertion sort),
// the gradient routed to the selected element, accumulation, layers in a compiled model, and bad arguments.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Nn;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class SelectPoolTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    public static IEnumerable<TestCaseData> MedianWindows()
    {
        yield return new TestCaseData(new[] { 1, 2, 6, 6 }, (3, 3), (1, 1), false).SetArgDisplayNames("3x3 s1");
        yield return new TestCaseData(new[] { 2, 3, 7, 9 }, (3, 3), (1, 1), true).SetArgDisplayNames("3x3 s1 ties");
        yield return new TestCaseData(new[] { 3, 2, 11, 9 }, (5, 5), (2, 2), true).SetArgDisplayNames("5x5 s2 ties");
        yield return new TestCaseData(new[] { 1, 1, 13, 10 }, (7, 7), (3, 3), false).SetArgDisplayNames("7x7 s3");
        yield return new TestCaseData(new[] { 2, 2, 7, 8 }, (3, 1), (1, 2), true).SetArgDisplayNames("3x1 s[1,2]");
        yield return new TestCaseData(new[] { 1, 2, 5, 7 }, (5, 7), (1, 1), false).SetArgDisplayNames("whole image");
        yield return new TestCaseData(new[] { 1, 1, 40, 40 }, (33, 33), (7, 7), true).SetArgDisplayNames("33x33 (host counts ranks above 1024)");
    }

    private IEnumerable<string> Variants(IEnumerable<Dispatch.OpVariantInfo> v) => v.Where(i => i.Path == Dev.Path).Select(i => i.Variant);

    [TestCaseSource(nameof(MedianWindows))]
    public void Median_pool_values_indices_and_gradient(int[] shape, (int H, int W) k, (int H, int W) s, bool ties)
    {
        var o = new Pool2dOptions(k) { Stride = s };
        int planes = shape[0] * shape[1], height = shape[2], width = shape[3], n = planes * height * width;
        var xh = ties ? HostMath.Random(n, 5, -2f, 3f).Select(MathF.Floor).ToArray() : HostMath.Random(n, 5);
        var (want, wantIdx, oh, ow) = MedianReference(xh, planes, height, width, k, s);
        var gh = HostMath.Random(want.Length, 6);
        var dxWant = new double[n];
        for (int i = 0; i < want.Length; i++)
        {
            dxWant[(i / (oh * ow) * height * width) + wantIdx[i]] += gh[i];
        }

        using var x = Tensor.FromHost(Dev, xh, shape);
        using var g = Tensor.FromHost(Dev, gh, new Shape(shape[0], shape[1], oh, ow));
        Assert.That(Engine.Ops.MedianPool2dOp.OutputShape(x.Shape, o), Is.EqualTo(g.Shape));
        foreach (var (fwd, bwd) in Variants(Engine.Ops.MedianPool2dOp.ForwardRegistry.Variants).Zip(Variants(Engine.Ops.MedianPool2dOp.BackwardRegistry.Variants)))
        {
            using var y = Tensor.Empty(Dev, g.Shape);
            using var idx = Tensor.Empty(Dev, g.Shape);
            using var dx = Tensor.FromHost(Dev, Enumerable.Repeat(1f, n).ToArray(), x.Shape);
            Engine.Ops.MedianPool2dOp.Forward(x, y, idx, o, fwd);
            Assert.That(y.ToArray(), Is.EqualTo(want), $"median {fwd}");
            Assert.That(idx.ToArray(), Is.EqualTo(wantIdx.Select(a => (float)a).ToArray()), $"indices {fwd}");
            Engine.Ops.MedianPool2dOp.Backward(g, idx, dx, o, variant: bwd);
            HostMath.AssertClose(dx.ToArray(), dxWant, 1e-6, 1e-6, $"median dx {bwd}");
            Engine.Ops.MedianPool2dOp.Backward(g, idx, dx, o, accumulate: true, variant: bwd);
            HostMath.AssertClose(dx.ToArray(), dxWant.Select(v => 2 * v).ToArray(), 1e-6, 1e-6, $"median dx accumulated {bwd}");
        }
    }

    [Test]
    public void Median_pool_nan_and_infinities_follow_torch()
    {
        // Window 0 (columns 0..2) holds NaNs at columns 1 and 2: y is NaN, index the first. Window 1 (columns 3..5): -inf,
        // 2, +inf: the median is 2. Window 2 (columns 6..8): +inf, +inf, 1: +inf at column 6 (the earlier of the tie).
        using var x = Tensor.FromHost(Dev, [0f, float.NaN, float.NaN, float.NegativeInfinity, 2f, float.PositiveInfinity, float.PositiveInfinity, float.PositiveInfinity, 1f], new Shape(1, 1, 1, 9));
        using var y = Tensor.Empty(Dev, new Shape(1, 1, 1, 3));
        using var idx = Tensor.Empty(Dev, y.Shape);
        Engine.Ops.MedianPool2dOp.Forward(x, y, idx, new Pool2dOptions((1, 3)));
        var v = y.ToArray();
        Assert.That(v[0], Is.NaN);
        Assert.That(v[1..], Is.EqualTo(new[] { 2f, float.PositiveInfinity }));
        Assert.That(idx.ToArray(), Is.EqualTo(new[] { 1f, 4f, 6f }));
    }

    [Test]
    public void Median_pool_worked_example_removes_salt_noise()
    {
        // A median filter's classic use: a 3x3 median removes an isolated outlier that a 3x3 mean smears.
        var img = Enumerable.Repeat(1f, 25).ToArray();
        img[12] = 100f; // salt at the centre of a 5x5 image of ones
        using var x = Tensor.FromHost(Dev, img, new Shape(1, 1, 5, 5));
        using var y = Tensor.Empty(Dev, new Shape(1, 1, 3, 3));
        using var idx = Tensor.Empty(Dev, y.Shape);
        Engine.Ops.MedianPool2dOp.Forward(x, y, idx, new Pool2dOptions(3) { Stride = (1, 1) });
        Assert.That(y.ToArray(), Is.All.EqualTo(1f));
        Assert.That(idx.ToArray().Contains(12f), Is.False, "the outlier is never the median");
    }

    [Test]
    public void Global_max_pool_first_maximum_gradient_and_accumulate()
    {
        var xh = HostMath.Random(2 * 3 * 4 * 5, 7, -2f, 3f).Select(MathF.Floor).ToArray(); // ties
        using var x = Tensor.FromHost(Dev, xh, new Shape(2, 3, 4, 5));
        using var y = Tensor.Empty(Dev, new Shape(2, 3, 1, 1));
        using var idx = Tensor.Empty(Dev, y.Shape);
        using var g = Tensor.FromHost(Dev, HostMath.Random(6, 8), new Shape(2, 3));
        using var dx = Tensor.FromHost(Dev, Enumerable.Repeat(0.5f, xh.Length).ToArray(), x.Shape);
        var gh = g.ToArray();
        var want = new float[6];
        var wantIdx = new float[6];
        var dxWant = new double[xh.Length];
        for (int p = 0; p < 6; p++)
        {
            var plane = xh.AsSpan(p * 20, 20);
            int first = plane.IndexOf(plane.ToArray().Max());
            want[p] = plane[first];
            wantIdx[p] = first;
            dxWant[(p * 20) + first] = gh[p];
        }

        foreach (var (fwd, bwd) in Variants(GlobalMaxPool2dOp.ForwardRegistry.Variants).Zip(Variants(GlobalMaxPool2dOp.BackwardRegistry.Variants)))
        {
            GlobalMaxPool2dOp.Forward(x, y, idx, fwd);
            Assert.That(y.ToArray(), Is.EqualTo(want), fwd);
            Assert.That(idx.ToArray(), Is.EqualTo(wantIdx), fwd);
            GlobalMaxPool2dOp.Backward(g, idx.Reshape(new Shape(2, 3)), dx, variant: bwd);
            HostMath.AssertClose(dx.ToArray(), dxWant, 0, 0, bwd);
            GlobalMaxPool2dOp.Backward(g, idx.Reshape(new Shape(2, 3)), dx, accumulate: true, variant: bwd);
            HostMath.AssertClose(dx.ToArray(), dxWant.Select(v => 2 * v).ToArray(), 0, 0, bwd);
        }
    }

    [Test]
    public void Layers_in_a_compiled_model_route_the_gradient_to_the_selected_elements()
    {
        using var model = new Sequential(new Engine.Nn.MedianPool2d(3, 1), new GlobalMaxPool(), new Linear(2, 3));
        using var net = model.Compile(Dev, [2, 2, 6, 7], Loss.CrossEntropy(), new CompileOptions { InputGradients = true });
        Assert.That(net.Summary().ToString(), Does.Contain("MedianPool2d(3x3, stride 1x1)").And.Contain("GlobalMaxPool"));
        Graph.GraphTestUtil.Randomize(net.Parameters, 150, 0.8f);
        net.Input.CopyFrom(HostMath.Random(2 * 2 * 6 * 7, 151));
        net.Target!.CopyFrom([0f, 2f]);
        net.Forward();
        net.Backward();
        var dx = net.InputGrad(0)!.ToArray();

        // Every input gradient is zero except at most one element per plane: the median that was the plane's maximum.
        for (int p = 0; p < 4; p++)
        {
            Assert.That(dx.AsSpan(p * 42, 42).ToArray().Count(v => v != 0f), Is.LessThanOrEqualTo(1), $"plane {p}");
        }

        Assert.That(dx.Any(v => v != 0f), Is.True);
        Graph.GraphTestUtil.AssertGradients(net);
    }

    [Test]
    public void Bad_arguments_are_rejected_before_launch()
    {
        using var x = Tensor.Zeros(Dev, new Shape(1, 1, 6, 6));
        using var y = Tensor.Zeros(Dev, new Shape(1, 1, 4, 4));
        Assert.That(() => Engine.Ops.MedianPool2dOp.Forward(x, y, y, new Pool2dOptions((2, 3))), Throws.ArgumentException.With.Message.Contain("odd sizes"));
        Assert.That(() => Engine.Ops.MedianPool2dOp.Forward(x, y, y, new Pool2dOptions(3) { Padding = (1, 1) }), Throws.ArgumentException.With.Message.Contain("no padding"));
        Assert.That(() => Engine.Ops.MedianPool2dOp.Forward(x, y, y, new Pool2dOptions(3)), Throws.ArgumentException.With.Property("ParamName").EqualTo("y").And.Message.Contain("[1, 1, 2, 2]"));
        Assert.That(() => new Engine.Nn.MedianPool2d(4), Throws.ArgumentException.With.Message.Contain("odd"));
        using var flat = Tensor.Zeros(Dev, new Shape(6, 6));
        Assert.That(() => GlobalMaxPool2dOp.Forward(flat, y, y), Throws.ArgumentException.With.Message.Contain("4-D"));
        Assert.That(() => GlobalMaxPool2dOp.Forward(x, y, y), Throws.ArgumentException.With.Property("ParamName").EqualTo("y"));
    }

    // torch.median's choice written as its definition: sort each window stably by value (positions in scan order) and
    // take rank (k - 1) / 2. Values are finite here; NaN has its own test.
    private static (float[] Y, int[] Idx, int OutH, int OutW) MedianReference(float[] x, int planes, int height, int width, (int H, int W) k, (int H, int W) s)
    {
        int oh = ((height - k.H) / s.H) + 1, ow = ((width - k.W) / s.W) + 1;
        var y = new float[planes * oh * ow];
        var idx = new int[y.Length];
        for (int p = 0, o = 0; p < planes; p++)
        {
            for (int r = 0; r < oh; r++)
            {
                for (int c = 0; c < ow; c++, o++)
                {
                    var window = (from dh in Enumerable.Range(0, k.H)
                                  from dw in Enumerable.Range(0, k.W)
                                  let at = ((r * s.H) + dh) * width + (c * s.W) + dw
                                  select (Value: x[(p * height * width) + at], At: at)).ToList();
                    var chosen = window.OrderBy(e => e.Value).ToList()[(window.Count - 1) / 2]; // OrderBy is stable
                    y[o] = chosen.Value;
                    idx[o] = chosen.At;
                }
            }
        }

        return (y, idx, oh, ow);
    }
}
