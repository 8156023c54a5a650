// conv_transpose2d on every device and variant: forward against the scatter definition, gradients against central
// differences, and the adjoint identity <conv2d(a), b> = <a, conv_transpose2d(b)> that ties it to conv2d.
using System.Collections.Generic;
using System.Linq;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class ConvTransposeTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    public static IEnumerable<ConvTSpec> Specs() =>
    [
        new("3x3 stride 2 pad 1 outpad 1 bias", 2, 3, 4, 5, 2, 3, 3, (2, 2), (1, 1), (1, 1), (1, 1), 1, true),
        new("stride [2,3] pad [0,1] outpad [1,2]", 3, 2, 5, 4, 3, 2, 4, (2, 3), (0, 1), (1, 2), (1, 1), 1, false),
        new("groups 2 dilation 2 outpad 1 (>= stride)", 2, 4, 4, 5, 6, 3, 3, (1, 1), (0, 0), (1, 1), (2, 2), 2, true),
        new("depthwise 4x4 stride 2 pad 1", 1, 3, 4, 5, 3, 4, 4, (2, 2), (1, 1), (0, 0), (1, 1), 3, true),
        new("pointwise 1x1", 3, 4, 5, 3, 2, 1, 1, (1, 1), (0, 0), (0, 0), (1, 1), 1, true),
    ];

    private IEnumerable<string> Variants(IEnumerable<Dispatch.OpVariantInfo> v) => v.Where(i => i.Path == Dev.Path).Select(i => i.Variant);

    private static int Count(int[] shape) => shape.Aggregate(1, (a, b) => a * b);

    [TestCaseSource(nameof(Specs))]
    public void Forward_and_gradients_match_the_double_definition(ConvTSpec s)
    {
        var xh = HostMath.Random(Count(s.XShape), 1);
        var wh = HostMath.Random(Count(s.WShape), 2);
        var bh = s.Bias ? HostMath.Random(s.Cout, 3) : null;
        var xd = GradCheck.ToDouble(xh);
        var wd = GradCheck.ToDouble(wh);
        var bd = bh is null ? null : GradCheck.ToDouble(bh);
        var want = ConvReference.ConvTranspose2d(s, xd, wd, bd, out int oh, out int ow);
        var gh = HostMath.Random(want.Length, 4);
        var gd = GradCheck.ToDouble(gh);
        using var x = Tensor.FromHost(Dev, xh, s.XShape);
        using var w = Tensor.FromHost(Dev, wh, s.WShape);
        using var b = bh is null ? null : Tensor.FromHost(Dev, bh, new Shape(s.Cout));
        using var g = Tensor.FromHost(Dev, gh, new Shape(s.N, s.Cout, oh, ow));
        Assert.That(ConvTranspose2dOp.OutputShape(x.Shape, w.Shape, s.Options), Is.EqualTo(g.Shape));
        foreach (var variant in Variants(ConvTranspose2dOp.ForwardRegistry.Variants))
        {
            using var y = Tensor.Empty(Dev, g.Shape);
            ConvTranspose2dOp.Forward(x, w, b, y, s.Options, variant: variant);
            HostMath.AssertClose(y.ToArray(), want, 1e-5, 1e-4, $"conv_transpose2d {s} {variant} on {config}");
        }

        foreach (var variant in Variants(ConvTranspose2dOp.BackwardRegistry.Variants))
        {
            using var dx = Tensor.Empty(Dev, x.Shape);
            using var dw = Tensor.Empty(Dev, w.Shape);
            using var db = b is null ? null : Tensor.Empty(Dev, b.Shape);
            ConvTranspose2dOp.Backward(x, w, g, dx, dw, db, s.Options, variant: variant);
            string what = $"conv_transpose2d {s} {variant} on {config}";
            GradCheck.AssertMatches(dx.ToArray(), v => ConvReference.Dot(gd, ConvReference.ConvTranspose2d(s, v, wd, bd, out _, out _)), xd, what + " dx");
            GradCheck.AssertMatches(dw.ToArray(), v => ConvReference.Dot(gd, ConvReference.ConvTranspose2d(s, xd, v, bd, out _, out _)), wd, what + " dw");
            if (db is not null)
            {
                GradCheck.AssertMatches(db.ToArray(), v => ConvReference.Dot(gd, ConvReference.ConvTranspose2d(s, xd, wd, v, out _, out _)), bd!, what + " db");
            }
        }
    }

    [Test]
    public void It_is_the_adjoint_of_conv2d()
    {
        // conv2d maps a (2, 4, 9, 8) to (2, 6, 5, 4) with stride 2, padding 1, dilation 1, groups 2, kernel 3x3;
        // conv_transpose2d with the same weight and output_padding (0, 1) maps back to (2, 4, 9, 8).
        var convOpts = new Conv2dOptions { Stride = (2, 2), Padding = ConvPadding.Symmetric(1, 1), Groups = 2 };
        var tOpts = new ConvTranspose2dOptions { Stride = (2, 2), Padding = (1, 1), OutputPadding = (0, 1), Groups = 2 };
        var aShape = new Shape(2, 4, 9, 8);
        var wShape = new Shape(6, 2, 3, 3);
        var bShape = Conv2dOp.OutputShape(aShape, wShape, convOpts);
        Assert.That(ConvTranspose2dOp.OutputShape(bShape, wShape, tOpts), Is.EqualTo(aShape));
        using var a = Tensor.FromHost(Dev, HostMath.Random((int)aShape.Length, 7), aShape);
        using var bT = Tensor.FromHost(Dev, HostMath.Random((int)bShape.Length, 8), bShape);
        using var w = Tensor.FromHost(Dev, HostMath.Random((int)wShape.Length, 9), wShape);
        using var convA = Tensor.Empty(Dev, bShape);
        using var tB = Tensor.Empty(Dev, aShape);
        Conv2dOp.Forward(a, w, null, convA, convOpts);
        ConvTranspose2dOp.Forward(bT, w, null, tB, tOpts);
        double lhs = ConvReference.Dot(GradCheck.ToDouble(convA.ToArray()), GradCheck.ToDouble(bT.ToArray()));
        double rhs = ConvReference.Dot(GradCheck.ToDouble(a.ToArray()), GradCheck.ToDouble(tB.ToArray()));
        Assert.That(lhs, Is.EqualTo(rhs).Within(1e-3));
    }

    [Test]
    public void A_workspace_for_one_image_gives_the_same_results()
    {
        var s = Specs().First(x => x.Name.StartsWith("stride [2,3]"));
        var geo = ConvTranspose2dOp.Describe(s.XShape, s.WShape, s.Options);
        using var x = Tensor.FromHost(Dev, HostMath.Random(Count(s.XShape), 11), s.XShape);
        using var w = Tensor.FromHost(Dev, HostMath.Random(Count(s.WShape), 12), s.WShape);
        using var g = Tensor.FromHost(Dev, HostMath.Random((int)geo.OutputShape.Length, 13), geo.OutputShape);
        using var ws = Tensor.Empty(Dev, new Shape((int)geo.WorkspaceElements(1)));
        using var y1 = Tensor.Empty(Dev, geo.OutputShape);
        using var y2 = Tensor.Empty(Dev, geo.OutputShape);
        ConvTranspose2dOp.Forward(x, w, null, y1, s.Options, ws);
        ConvTranspose2dOp.Forward(x, w, null, y2, s.Options);
        Assert.That(y1.ToArray(), Is.EqualTo(y2.ToArray()).Within(1e-5f));
        using var dx1 = Tensor.Empty(Dev, x.Shape);
        using var dw1 = Tensor.Empty(Dev, w.Shape);
        using var dx2 = Tensor.Empty(Dev, x.Shape);
        using var dw2 = Tensor.Empty(Dev, w.Shape);
        ConvTranspose2dOp.Backward(x, w, g, dx1, dw1, null, s.Options, ws);
        ConvTranspose2dOp.Backward(x, w, g, dx2, dw2, null, s.Options);
        Assert.That(dx1.ToArray(), Is.EqualTo(dx2.ToArray()).Within(1e-5f));
        Assert.That(dw1.ToArray(), Is.EqualTo(dw2.ToArray()).Within(1e-4f));
    }
}
