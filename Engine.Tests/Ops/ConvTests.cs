// conv2d on every device and variant: forward against the double loop-nest definition, every gradient against
// central differences, workspace chunking, accumulation, steady-state allocation, and depthwise-separable stacks.
using System.Collections.Generic;
using System.Linq;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class ConvTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    public static IEnumerable<ConvSpec> Specs() =>
    [
        new("3x3 pad 1 bias", 2, 3, 5, 6, 4, 3, 3, (1, 1), ConvPadding.Symmetric(1, 1), (1, 1), 1, true),
        new("stride 2, explicit asymmetric padding", 3, 2, 7, 9, 3, 3, 2, (2, 2), new ConvPadding(1, 0, 2, 1), (1, 1), 1, false),
        new("same, even kernel 4x2", 1, 2, 6, 7, 3, 4, 2, (1, 1), ConvPadding.Same, (1, 1), 1, true),
        new("dilation [2,1], stride [1,2], groups 2", 2, 4, 7, 8, 6, 3, 3, (1, 2), ConvPadding.Symmetric(2, 1), (2, 1), 2, true),
        new("depthwise 3x3 stride 2", 3, 3, 7, 9, 3, 3, 3, (2, 2), ConvPadding.Symmetric(1, 1), (1, 1), 3, true),
        new("pointwise 1x1", 3, 4, 5, 7, 2, 1, 1, (1, 1), ConvPadding.Valid, (1, 1), 1, true),
        new("groups 4 > batch 1", 1, 4, 5, 5, 8, 2, 2, (1, 1), ConvPadding.Valid, (1, 1), 4, false),

        // Shapes for the host path's per-image units: 1 input channel (thin weight gradient), a reduction over more
        // than 32 columns with 7 filters (packed GEMMs, ragged tiles), "same" padding with dilation (shifted planes),
        // a depthwise multiplier of 2, and a pointwise layer with enough images for every thread.
        new("1 input channel, 8 filters, batch 3", 3, 1, 9, 11, 8, 3, 3, (1, 1), ConvPadding.Symmetric(1, 1), (1, 1), 1, true),
        new("4 -> 7 channels 3x3, batch 3", 3, 4, 6, 7, 7, 3, 3, (1, 1), ConvPadding.Symmetric(1, 1), (1, 1), 1, true),
        new("same, dilation 2, batch 2", 2, 3, 8, 6, 6, 3, 3, (1, 1), ConvPadding.Same, (2, 2), 1, false),
        new("depthwise multiplier 2, pad 2", 2, 3, 6, 5, 6, 3, 3, (1, 1), ConvPadding.Symmetric(2, 2), (1, 1), 3, true),
        new("pointwise 1x1, 8 filters, batch 4", 4, 5, 3, 4, 8, 1, 1, (1, 1), ConvPadding.Valid, (1, 1), 1, true),
    ];

    private IEnumerable<string> Variants(IEnumerable<Dispatch.OpVariantInfo> v) => v.Where(i => i.Path == Dev.Path).Select(i => i.Variant);

    private sealed record Data(float[] X, float[] W, float[]? B, float[] G, double[] Y, int Oh, int Ow);

    private static Data Make(ConvSpec s, int seed)
    {
        var x = HostMath.Random(s.XShape.Aggregate(1, (a, b) => a * b), seed);
        var w = HostMath.Random(s.WShape.Aggregate(1, (a, b) => a * b), seed + 1);
        var b = s.Bias ? HostMath.Random(s.Cout, seed + 2) : null;
        var y = ConvReference.Conv2d(s, GradCheck.ToDouble(x), GradCheck.ToDouble(w), b is null ? null : GradCheck.ToDouble(b), out int oh, out int ow);
        return new Data(x, w, b, HostMath.Random(y.Length, seed + 3), y, oh, ow);
    }

    [TestCaseSource(nameof(Specs))]
    public void Forward_matches_the_double_definition(ConvSpec s)
    {
        var d = Make(s, 10);
        using var x = Tensor.FromHost(Dev, d.X, s.XShape);
        using var w = Tensor.FromHost(Dev, d.W, s.WShape);
        using var b = d.B is null ? null : Tensor.FromHost(Dev, d.B, new Shape(s.Cout));
        Assert.That(Conv2dOp.OutputShape(x.Shape, w.Shape, s.Options), Is.EqualTo(new Shape(s.N, s.Cout, d.Oh, d.Ow)));
        foreach (var variant in Variants(Conv2dOp.ForwardRegistry.Variants))
        {
            using var y = Tensor.Empty(Dev, new Shape(s.N, s.Cout, d.Oh, d.Ow));
            Conv2dOp.Forward(x, w, b, y, s.Options, variant: variant);
            HostMath.AssertClose(y.ToArray(), d.Y, 1e-5, 1e-4, $"conv2d {s} {variant} on {config}");
        }
    }

    [TestCaseSource(nameof(Specs))]
    public void Gradients_match_central_differences(ConvSpec s)
    {
        var d = Make(s, 20);
        using var x = Tensor.FromHost(Dev, d.X, s.XShape);
        using var w = Tensor.FromHost(Dev, d.W, s.WShape);
        using var b = d.B is null ? null : Tensor.FromHost(Dev, d.B, new Shape(s.Cout));
        using var g = Tensor.FromHost(Dev, d.G, new Shape(s.N, s.Cout, d.Oh, d.Ow));
        var xd = GradCheck.ToDouble(d.X);
        var wd = GradCheck.ToDouble(d.W);
        var bd = d.B is null ? null : GradCheck.ToDouble(d.B);
        var gd = GradCheck.ToDouble(d.G);
        foreach (var variant in Variants(Conv2dOp.BackwardRegistry.Variants))
        {
            using var dx = Tensor.Empty(Dev, x.Shape);
            using var dw = Tensor.Empty(Dev, w.Shape);
            using var db = b is null ? null : Tensor.Empty(Dev, b.Shape);
            Conv2dOp.Backward(x, w, g, dx, dw, db, s.Options, variant: variant);
            string what = $"conv2d {s} {variant} on {config}";
            GradCheck.AssertMatches(dx.ToArray(), v => ConvReference.Dot(gd, ConvReference.Conv2d(s, v, wd, bd, out _, out _)), xd, what + " dx");
            GradCheck.AssertMatches(dw.ToArray(), v => ConvReference.Dot(gd, ConvReference.Conv2d(s, xd, v, bd, out _, out _)), wd, what + " dw");
            if (db is not null)
            {
                GradCheck.AssertMatches(db.ToArray(), v => ConvReference.Dot(gd, ConvReference.Conv2d(s, xd, wd, v, out _, out _)), bd!, what + " db");
            }
        }
    }

    [Test]
    public void A_workspace_for_one_image_gives_the_same_results_as_one_pass_and_accumulate_adds()
    {
        var s = Specs().First(x => x.Name.StartsWith("stride 2"));
        var d = Make(s, 30);
        var geo = Conv2dOp.Describe(s.XShape, s.WShape, s.Options);
        Assert.That(geo.WorkspaceElements(1), Is.EqualTo(geo.ColumnElementsPerImage));
        Assert.That(geo.WorkspaceElements(), Is.EqualTo(geo.ColumnElementsPerImage * s.N));
        using var x = Tensor.FromHost(Dev, d.X, s.XShape);
        using var w = Tensor.FromHost(Dev, d.W, s.WShape);
        using var g = Tensor.FromHost(Dev, d.G, geo.OutputShape);
        using var arena = Tensor.Zeros(Dev, new Shape(2, (int)geo.ColumnElementsPerImage + 5));
        using var small = arena.Slice(1, 1);
        using var y1 = Tensor.Empty(Dev, geo.OutputShape);
        using var y2 = Tensor.Empty(Dev, geo.OutputShape);
        Conv2dOp.Forward(x, w, null, y1, s.Options, small);
        Conv2dOp.Forward(x, w, null, y2, s.Options);
        Assert.That(y1.ToArray(), Is.EqualTo(y2.ToArray()).Within(1e-5f));
        HostMath.AssertClose(y1.ToArray(), d.Y, 1e-5, 1e-4, "chunked forward");

        using var dx1 = Tensor.Empty(Dev, x.Shape);
        using var dw1 = Tensor.Empty(Dev, w.Shape);
        using var dx2 = Tensor.Empty(Dev, x.Shape);
        using var dw2 = Tensor.Empty(Dev, w.Shape);
        Conv2dOp.Backward(x, w, g, dx1, dw1, null, s.Options, small);
        Conv2dOp.Backward(x, w, g, dx2, dw2, null, s.Options);
        Assert.That(dx1.ToArray(), Is.EqualTo(dx2.ToArray()).Within(1e-5f));
        Assert.That(dw1.ToArray(), Is.EqualTo(dw2.ToArray()).Within(1e-4f));

        // accumulate: a second backward into the same gradients doubles them.
        Conv2dOp.Backward(x, w, g, dx1, dw1, null, s.Options, small, accumulate: true);
        var twiceX = dx2.ToArray().Select(v => 2.0 * v).ToArray();
        var twiceW = dw2.ToArray().Select(v => 2.0 * v).ToArray();
        HostMath.AssertClose(dx1.ToArray(), twiceX, 1e-5, 1e-4, "accumulated dx");
        HostMath.AssertClose(dw1.ToArray(), twiceW, 1e-5, 1e-4, "accumulated dw");
    }

    [Test]
    public void Gradients_are_bit_identical_on_every_run()
    {
        // More images than threads, so each thread's partial weight gradient sums several of them: the sums must not
        // depend on which thread got which image.
        var s = new ConvSpec("4 -> 7 channels 3x3, batch 13", 13, 4, 6, 7, 7, 3, 3, (1, 1), ConvPadding.Symmetric(1, 1), (1, 1), 1, false);
        var d = Make(s, 60);
        var geo = Conv2dOp.Describe(s.XShape, s.WShape, s.Options);
        using var x = Tensor.FromHost(Dev, d.X, s.XShape);
        using var w = Tensor.FromHost(Dev, d.W, s.WShape);
        using var g = Tensor.FromHost(Dev, d.G, geo.OutputShape);
        using var dx = Tensor.Empty(Dev, x.Shape);
        using var dw = Tensor.Empty(Dev, w.Shape);
        Conv2dOp.Backward(x, w, g, dx, dw, null, s.Options);
        var firstX = dx.ToArray();
        var firstW = dw.ToArray();
        for (int run = 1; run < 20; run++)
        {
            Conv2dOp.Backward(x, w, g, dx, dw, null, s.Options);
            Assert.That(dw.ToArray(), Is.EqualTo(firstW), $"dw of run {run}");
            Assert.That(dx.ToArray(), Is.EqualTo(firstX), $"dx of run {run}");
        }
    }

    [Test]
    public void Only_the_requested_gradients_are_written()
    {
        var s = Specs().First();
        var d = Make(s, 40);
        using var x = Tensor.FromHost(Dev, d.X, s.XShape);
        using var w = Tensor.FromHost(Dev, d.W, s.WShape);
        using var g = Tensor.FromHost(Dev, d.G, new Shape(s.N, s.Cout, d.Oh, d.Ow));
        using var db = Tensor.Empty(Dev, new Shape(s.Cout));
        Conv2dOp.Backward(x, w, g, null, null, db, s.Options);
        var want = new double[s.Cout];
        for (int i = 0; i < d.G.Length; i++)
        {
            want[(i / (d.Oh * d.Ow)) % s.Cout] += d.G[i];
        }

        HostMath.AssertClose(db.ToArray(), want, 1e-5, 1e-4, "db alone");
    }

    [Test]
    public void Steady_state_calls_with_a_caller_workspace_rent_nothing()
    {
        var s = Specs().First(x => x.Name.StartsWith("dilation"));
        var d = Make(s, 50);
        var geo = Conv2dOp.Describe(s.XShape, s.WShape, s.Options);
        using var x = Tensor.FromHost(Dev, d.X, s.XShape);
        using var w = Tensor.FromHost(Dev, d.W, s.WShape);
        using var b = Tensor.FromHost(Dev, d.B!, new Shape(s.Cout));
        using var g = Tensor.FromHost(Dev, d.G, geo.OutputShape);
        using var y = Tensor.Empty(Dev, geo.OutputShape);
        using var dx = Tensor.Empty(Dev, x.Shape);
        using var dw = Tensor.Empty(Dev, w.Shape);
        using var db = Tensor.Empty(Dev, b.Shape);
        using var ws = Tensor.Empty(Dev, new Shape((int)geo.WorkspaceElements()));
        Conv2dOp.Forward(x, w, b, y, s.Options, ws);
        Conv2dOp.Backward(x, w, g, dx, dw, db, s.Options, ws);
        Dev.Synchronize();
        var before = Dev.Allocator.Stats;
        for (int i = 0; i < 2; i++)
        {
            Conv2dOp.Forward(x, w, b, y, s.Options, ws);
            Conv2dOp.Backward(x, w, g, dx, dw, db, s.Options, ws);
        }

        Dev.Synchronize();
        var after = Dev.Allocator.Stats;
        Assert.That(after.Rents, Is.EqualTo(before.Rents), "rents");
        Assert.That(after.DeviceAllocations, Is.EqualTo(before.DeviceAllocations), "device allocations");
        HostMath.AssertClose(y.ToArray(), d.Y, 1e-5, 1e-4, "y after repeated calls");
    }

    [Test]
    public void Depthwise_separable_is_depthwise_then_pointwise()
    {
        var dwSpec = new ConvSpec("dw", 2, 3, 7, 9, 3, 3, 3, (1, 1), ConvPadding.Same, (1, 1), 3, true);
        var pwSpec = new ConvSpec("pw", 2, 3, 7, 9, 5, 1, 1, (1, 1), ConvPadding.Valid, (1, 1), 1, false);
        var d1 = Make(dwSpec, 60);
        var w2 = HostMath.Random(5 * 3, 65);
        var want = ConvReference.Conv2d(pwSpec, d1.Y, GradCheck.ToDouble(w2), null, out _, out _);
        using var x = Tensor.FromHost(Dev, d1.X, dwSpec.XShape);
        using var wDepth = Tensor.FromHost(Dev, d1.W, dwSpec.WShape);
        using var bDepth = Tensor.FromHost(Dev, d1.B!, new Shape(3));
        using var wPoint = Tensor.FromHost(Dev, w2, pwSpec.WShape);
        using var mid = Tensor.Empty(Dev, Conv2dOp.OutputShape(x.Shape, wDepth.Shape, dwSpec.Options));
        using var y = Tensor.Empty(Dev, Conv2dOp.OutputShape(mid.Shape, wPoint.Shape, pwSpec.Options));
        Assert.That(Conv2dOp.WorkspaceElements(mid.Shape, wPoint.Shape, pwSpec.Options), Is.Zero, "1x1 stride-1 convolutions need no im2col");
        Conv2dOp.Forward(x, wDepth, bDepth, mid, dwSpec.Options);
        Conv2dOp.Forward(mid, wPoint, null, y, pwSpec.Options);
        Assert.That(y.Shape, Is.EqualTo(new Shape(2, 5, 7, 9)));
        HostMath.AssertClose(y.ToArray(), want, 1e-5, 1e-4, "depthwise-separable");
    }
}
