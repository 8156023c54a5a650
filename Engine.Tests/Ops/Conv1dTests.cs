// conv1d on every device and variant (conv2d's implementations on (N, C, 1, L) memory): forward against a 1-D double
// loop nest, every gradient against central differences, "same" padding, accumulation, a worked moving-average
// example, the layer in a compiled model, and 1-D error messages.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Nn;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class Conv1dTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    public sealed record Spec(string Name, int N, int Cin, int L, int Cout, int K, Conv1dOptions Options, bool Bias)
    {
        public override string ToString() => Name;
    }

    public static IEnumerable<Spec> Specs() =>
    [
        new("k3 pad 1 bias", 2, 3, 10, 4, 3, new Conv1dOptions { Padding = 1 }, true),
        new("k5 stride 2 pad 2", 3, 4, 17, 5, 5, new Conv1dOptions { Stride = 2, Padding = 2 }, false),
        new("dilation 3 stride 2 groups 3", 2, 6, 23, 9, 4, new Conv1dOptions { Stride = 2, Padding = 3, Dilation = 3, Groups = 3 }, true),
        new("depthwise x2", 2, 4, 13, 8, 5, new Conv1dOptions { Padding = 2, Groups = 4 }, true),
        new("pointwise k1, batch 5", 5, 5, 7, 3, 1, Conv1dOptions.Default, true),
        new("same, even k4, dilation 2", 2, 3, 12, 2, 4, new Conv1dOptions { SamePadding = true, Dilation = 2 }, false),
        new("long sequence L 301, batch 1", 1, 2, 301, 3, 7, new Conv1dOptions { Padding = 3 }, true),
    ];

    private IEnumerable<string> Variants(IEnumerable<Dispatch.OpVariantInfo> v) => v.Where(i => i.Path == Dev.Path).Select(i => i.Variant);

    [TestCaseSource(nameof(Specs))]
    public void Forward_and_gradients_match_the_definition(Spec s)
    {
        var xh = HostMath.Random(s.N * s.Cin * s.L, 30);
        var wh = HostMath.Random(s.Cout * (s.Cin / s.Options.Groups) * s.K, 31);
        var bh = s.Bias ? HostMath.Random(s.Cout, 32) : null;
        var (xd, wd, bd) = (GradCheck.ToDouble(xh), GradCheck.ToDouble(wh), bh is null ? null : GradCheck.ToDouble(bh));
        var want = Reference(s, xd, wd, bd, out int lo);
        var gh = HostMath.Random(want.Length, 33);
        var gd = GradCheck.ToDouble(gh);
        using var x = Tensor.FromHost(Dev, xh, new Shape(s.N, s.Cin, s.L));
        using var w = Tensor.FromHost(Dev, wh, new Shape(s.Cout, s.Cin / s.Options.Groups, s.K));
        using var b = bh is null ? null : Tensor.FromHost(Dev, bh, new Shape(s.Cout));
        using var g = Tensor.FromHost(Dev, gh, new Shape(s.N, s.Cout, lo));
        Assert.That(Conv1dOp.OutputShape(x.Shape, w.Shape, s.Options), Is.EqualTo(g.Shape));
        foreach (var (fwd, bwd) in Variants(Conv2dOp.ForwardRegistry.Variants).Zip(Variants(Conv2dOp.BackwardRegistry.Variants)))
        {
            using var y = Tensor.Empty(Dev, g.Shape);
            Conv1dOp.Forward(x, w, b, y, s.Options, variant: fwd);
            HostMath.AssertClose(y.ToArray(), want, 1e-5, 1e-4, $"conv1d {s} {fwd}");
            using var dx = Tensor.Empty(Dev, x.Shape);
            using var dw = Tensor.Empty(Dev, w.Shape);
            using var db = b is null ? null : Tensor.Empty(Dev, b.Shape);
            Conv1dOp.Backward(x, w, g, dx, dw, db, s.Options, variant: bwd);
            double Loss(double[] xv, double[] wv, double[]? bv) => Reference(s, xv, wv, bv, out _).Zip(gd, (a, c) => a * c).Sum();
            GradCheck.AssertMatches(dx.ToArray(), v => Loss(v, wd, bd), xd, $"dx {s} {bwd}");
            GradCheck.AssertMatches(dw.ToArray(), v => Loss(xd, v, bd), wd, $"dw {s} {bwd}");
            if (db is not null)
            {
                GradCheck.AssertMatches(db.ToArray(), v => Loss(xd, wd, v), bd!, $"db {s} {bwd}");
            }

            var once = dw.ToArray();
            Conv1dOp.Backward(x, w, g, null, dw, null, s.Options, accumulate: true, variant: bwd);
            HostMath.AssertClose(dw.ToArray(), GradCheck.ToDouble(once).Select(v => 2 * v).ToArray(), 1e-5, 1e-4, $"dw accumulated {s} {bwd}");
        }
    }

    [Test]
    public void Worked_example_a_moving_average_filter()
    {
        // Kernel [1/3, 1/3, 1/3], padding 1: each output is the mean of its neighbourhood (the ends see one zero).
        using var x = Tensor.FromHost(Dev, [3f, 6f, 9f, 12f, 0f], new Shape(1, 1, 5));
        using var w = Tensor.FromHost(Dev, [1f / 3, 1f / 3, 1f / 3], new Shape(1, 1, 3));
        using var y = Tensor.Empty(Dev, new Shape(1, 1, 5));
        Conv1dOp.Forward(x, w, null, y, new Conv1dOptions { Padding = 1 });
        Assert.That(y.ToArray(), Is.EqualTo(new[] { 3f, 6f, 9f, 7f, 4f }).Within(1e-5));

        // With stride 2 and dilation 2 it reads x[0], x[2], x[4] for the one output: (3 + 9 + 0) / 3.
        using var y2 = Tensor.Empty(Dev, new Shape(1, 1, 1));
        Conv1dOp.Forward(x, w, null, y2, new Conv1dOptions { Stride = 2, Dilation = 2 });
        Assert.That(y2.ToArray()[0], Is.EqualTo(4f).Within(1e-5));
    }

    [Test]
    public void Layer_in_a_temporal_conv_net_passes_the_gradient_check()
    {
        using var model = new Sequential(
            new Engine.Nn.Conv1d(3, 4, 3, padding: 1), new Tanh(),
            new Engine.Nn.Conv1d(4, 6, 3, stride: 2, padding: 2, dilation: 2, groups: 2, bias: false), new Gelu(),
            new Flatten(), new Linear(36, 3));
        using var net = model.Compile(Dev, [3, 3, 11], Loss.CrossEntropy(), new CompileOptions { InputGradients = true });
        Assert.That(net.Parameters.Select(p => (p.Name, p.Value.Shape)), Is.EqualTo(new[]
        {
            ("0.weight", new Shape(4, 3, 3)), ("0.bias", new Shape(4)), ("2.weight", new Shape(6, 2, 3)), ("5.weight", new Shape(3, 36)), ("5.bias", new Shape(3)),
        }));
        Assert.That(model.Describe() + net.Summary(), Does.Contain("Conv1d(4, 6, 3, stride 2, padding 2, dilation 2, groups 2, bias: false)"));
        Graph.GraphTestUtil.Randomize(net.Parameters, 160, 0.7f);
        Graph.GraphTestUtil.RandomInputs(net, 161);
        net.Target!.CopyFrom([0f, 2f, 1f]);
        Graph.GraphTestUtil.AssertGradients(net);
    }

    [Test]
    public void Errors_speak_in_one_dimension()
    {
        using var x = Tensor.Zeros(Dev, new Shape(2, 3, 10));
        using var w = Tensor.Zeros(Dev, new Shape(4, 3, 3));
        using var y = Tensor.Zeros(Dev, new Shape(2, 4, 8));
        Assert.That(() => Conv1dOp.OutputShape(new Shape(2, 3, 1, 10), w.Shape), Throws.ArgumentException.With.Message.Contain("3-D (N, C, L)"));
        Assert.That(() => Conv1dOp.OutputShape(x.Shape, new Shape(4, 2, 3)), Throws.ArgumentException.With.Property("ParamName").EqualTo("weight").And.Message.Contain("(Cout, Cin / groups = 3, K)"));
        Assert.That(() => Conv1dOp.OutputShape(x.Shape, w.Shape, new Conv1dOptions { Groups = 2 }), Throws.ArgumentException.With.Message.Contain("not divisible by groups 2"));
        Assert.That(() => Conv1dOp.OutputShape(x.Shape, new Shape(4, 3, 6), new Conv1dOptions { Dilation = 2 }), Throws.ArgumentException.With.Message.Contain("spans 11, longer than the padded input 10"));
        Assert.That(() => Conv1dOp.OutputShape(x.Shape, w.Shape, new Conv1dOptions { SamePadding = true, Stride = 2 }), Throws.ArgumentException.With.Message.Contain("\"same\" needs stride 1"));
        Assert.That(() => Conv1dOp.Forward(x, w, null, y, new Conv1dOptions { Padding = 1 }), Throws.ArgumentException.With.Property("ParamName").EqualTo("y").And.Message.Contain("[2, 4, 10]"));
        Assert.That(() => new Engine.Nn.Conv1d(3, 4, 3, groups: 2), Throws.ArgumentException.With.Message.Contain("divisible by groups 2"));
    }

    // y[n, o, t] = b[o] + sum over c in o's group and k of w[o, c, k] x[n, g c, t s - pad + k d] (zero outside).
    private static double[] Reference(Spec s, double[] x, double[] w, double[]? b, out int lo)
    {
        var o = s.Options;
        int total = o.Dilation * (s.K - 1), left = o.SamePadding ? total / 2 : o.Padding, right = o.SamePadding ? total - (total / 2) : o.Padding;
        lo = ((s.L + left + right - total - 1) / o.Stride) + 1;
        int cg = s.Cin / o.Groups, og = s.Cout / o.Groups;
        var y = new double[s.N * s.Cout * lo];
        for (int n = 0; n < s.N; n++)
        {
            for (int oc = 0; oc < s.Cout; oc++)
            {
                int grp = oc / og;
                for (int t = 0; t < lo; t++)
                {
                    double acc = b?[oc] ?? 0;
                    for (int c = 0; c < cg; c++)
                    {
                        for (int k = 0; k < s.K; k++)
                        {
                            int at = (t * o.Stride) - left + (k * o.Dilation);
                            if (at >= 0 && at < s.L)
                            {
                                acc += w[(((oc * cg) + c) * s.K) + k] * x[(((n * s.Cin) + (grp * cg) + c) * s.L) + at];
                            }
                        }
                    }

                    y[(((n * s.Cout) + oc) * lo) + t] = acc;
                }
            }
        }

        return y;
    }
}
