// Residual add, gradient accumulation, scale, copy, bias add (any axis) and its backward, and flatten/reshape views,
// on every device: exact values, finite differences for the backward passes, and bad inputs.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class ElementwiseTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    [TestCase(1)]
    [TestCase(37)]
    [TestCase(-1)]
    public void Add_accumulate_scale_and_copy_compute_exact_values(int n)
    {
        // -1: a size that takes several parallel chunks on the host path (kept smaller for the kernel simulator).
        n = n > 0 ? n : Dev.Path == ComputePath.Host ? 140001 : 5003;
        var ah = HostMath.Random(n, 81);
        var bh = HostMath.Random(n, 82);
        var shape = new Shape(n);
        using var a = Tensor.FromHost(Dev, ah, shape);
        using var b = Tensor.FromHost(Dev, bh, shape);
        using var y = Tensor.Empty(Dev, shape);
        Elementwise.Add(a, b, y);
        Assert.That(y.ToArray(), Is.EqualTo(ah.Zip(bh, (p, q) => p + q)), "add");
        Elementwise.Accumulate(y, a, -0.5f);
        HostMath.AssertClose(y.ToArray(), ah.Zip(bh, (p, q) => (double)p + q - (0.5 * p)).ToArray(), 1e-6, 1e-6, "accumulate");
        Elementwise.Scale(a, y, 3f);
        Assert.That(y.ToArray(), Is.EqualTo(ah.Select(v => 3f * v)), "scale");
        Elementwise.Copy(b, y);
        Assert.That(y.ToArray(), Is.EqualTo(bh), "copy");
        Elementwise.Add(y, a, y);
        Assert.That(y.ToArray(), Is.EqualTo(ah.Zip(bh, (p, q) => q + p)), "add in place");
    }

    [Test]
    public void Add_backward_passes_dy_to_both_inputs_and_accumulates_on_request()
    {
        var shape = new Shape(3, 5);
        var gh = HostMath.Random(15, 83);
        using var dy = Tensor.FromHost(Dev, gh, shape);
        using var da = Tensor.Empty(Dev, shape);
        using var db = Tensor.FromHost(Dev, Enumerable.Repeat(1f, 15).ToArray(), shape);
        Elementwise.AddBackward(dy, da, null);
        Assert.That(da.ToArray(), Is.EqualTo(gh));
        Elementwise.AddBackward(dy, da, db, accumulate: true);
        Assert.That(da.ToArray(), Is.EqualTo(gh.Select(v => v + v)));
        Assert.That(db.ToArray(), Is.EqualTo(gh.Select(v => v + 1f)));
        Elementwise.AddBackward(dy, dy, null);
        Assert.That(dy.ToArray(), Is.EqualTo(gh), "da may be dy itself");
        Assert.That(() => Elementwise.AddBackward(dy, dy, null, accumulate: true), Throws.ArgumentException.With.Property("ParamName").EqualTo("da"));

        // Finite differences of L = sum g * (a + b).
        var ah = GradCheck.ToDouble(HostMath.Random(15, 84));
        var gd = GradCheck.ToDouble(gh);
        using var fresh = Tensor.Empty(Dev, shape);
        using var dy2 = Tensor.FromHost(Dev, gh, shape);
        Elementwise.AddBackward(dy2, fresh, null);
        GradCheck.AssertMatches(fresh.ToArray(), av => NormReference.Dot(gd, av.Select(v => v + 0.25).ToArray()), ah, "add da");
    }

    public static IEnumerable<TestCaseData> BiasShapes()
    {
        yield return new TestCaseData(new[] { 5, 7 }, -1).SetArgDisplayNames("(5,7) row bias");
        yield return new TestCaseData(new[] { 1, 3 }, 1).SetArgDisplayNames("(1,3) one row");
        yield return new TestCaseData(new[] { 4099, 3 }, -1).SetArgDisplayNames("(4099,3) many rows");
        yield return new TestCaseData(new[] { 2, 3, 33 }, 1).SetArgDisplayNames("(2,3,33) channel, inner 33");
        yield return new TestCaseData(new[] { 4, 3, 2, 5 }, 1).SetArgDisplayNames("(4,3,2,5) channel, inner 10");
        yield return new TestCaseData(new[] { 6, 4, 3 }, 0).SetArgDisplayNames("(6,4,3) axis 0");
    }

    [TestCaseSource(nameof(BiasShapes))]
    public void Bias_add_and_its_backward_match_double_reference(int[] dims, int axis) => CheckBias(Dev, config.Name, dims, axis);

    /// <summary>Bias add and bias backward (overwrite and accumulate) of one shape against a double reference.</summary>
    public static void CheckBias(Device dev, string device, int[] dims, int axis)
    {
        var shape = new Shape(dims);
        int ax = axis < 0 ? axis + dims.Length : axis;
        int f = dims[ax];
        long inner = shape.Product(ax + 1, dims.Length);
        var yh = HostMath.Random((int)shape.Length, 85);
        var bh = HostMath.Random(f, 86);
        var gh = HostMath.Random((int)shape.Length, 87);
        var wantY = yh.Select((v, i) => (double)v + bh[(int)(i / inner % f)]).ToArray();
        var wantDb = new double[f];
        for (int i = 0; i < gh.Length; i++)
        {
            wantDb[(int)(i / inner % f)] += gh[i];
        }

        using var y = Tensor.FromHost(dev, yh, shape);
        using var b = Tensor.FromHost(dev, bh, new Shape(f));
        Elementwise.AddBias(y, b, axis);
        string what = $"bias {shape} axis {axis} on {device}";
        HostMath.AssertClose(y.ToArray(), wantY, 1e-6, 1e-6, what + " y");
        using var g = Tensor.FromHost(dev, gh, shape);
        using var db = Tensor.Empty(dev, new Shape(f));
        Elementwise.BiasBackward(g, db, axis);
        HostMath.AssertClose(db.ToArray(), wantDb, 1e-3, 1e-4, what + " db");
        Elementwise.BiasBackward(g, db, axis, accumulate: true);
        HostMath.AssertClose(db.ToArray(), wantDb.Select(v => 2 * v).ToArray(), 2e-3, 1e-4, what + " db accumulated");
    }

    [Test]
    public void Bias_backward_matches_finite_differences()
    {
        var gd = GradCheck.ToDouble(HostMath.Random(12, 88));
        var bh = HostMath.Random(3, 89);
        using var g = Tensor.FromHost(Dev, gd.Select(v => (float)v).ToArray(), new Shape(4, 3));
        using var db = Tensor.Empty(Dev, new Shape(3));
        Elementwise.BiasBackward(g, db);
        double Loss(double[] bv) => Enumerable.Range(0, 12).Sum(i => gd[i] * (0.5 + bv[i % 3]));
        GradCheck.AssertMatches(db.ToArray(), Loss, GradCheck.ToDouble(bh), $"bias db on {config}");
    }

    [Test]
    public void Flatten_and_reshape_are_views_of_the_same_memory()
    {
        using var x = Tensor.FromHost(Dev, Enumerable.Range(0, 24).Select(i => (float)i).ToArray(), new Shape(2, 3, 2, 2));
        using var flat = Views.Flatten(x);
        Assert.That(flat.Shape, Is.EqualTo(new Shape(2, 12)));
        Assert.That(flat.IsOwner, Is.False);
        Assert.That(Views.Flatten(x, 0).Shape, Is.EqualTo(new Shape(24)));
        Assert.That(Views.Flatten(x, 1, 2).Shape, Is.EqualTo(new Shape(2, 6, 2)));
        Assert.That(Views.Flatten(x, -2).Shape, Is.EqualTo(new Shape(2, 3, 4)));
        using var r = Views.Reshape(x, 4, -1);
        Assert.That(r.Shape, Is.EqualTo(new Shape(4, 6)));
        Elementwise.Scale(flat, flat, 2f);
        Assert.That(r.ToArray(), Is.EqualTo(Enumerable.Range(0, 24).Select(i => 2f * i)), "writes through a view reach every view");
        Assert.That(() => Views.Flatten(x, 3, 1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("[2, 3, 2, 2]"));
        Assert.That(() => Views.Flatten(x, 0, 4), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => Views.Reshape(x, 5, -1), Throws.ArgumentException.With.Message.Contain("not a multiple of 5"));
        Assert.That(() => Views.Reshape(x, -1, -1), Throws.ArgumentException.With.Message.Contain("at most one -1"));
        Assert.That(() => Views.Reshape(x, 5, 5), Throws.ArgumentException.With.Message.Contain("24 elements"));
    }

    [Test]
    public void Bad_arguments_are_rejected_with_their_names_and_shapes()
    {
        using var a = Tensor.Zeros(Dev, new Shape(3, 4));
        using var b = Tensor.Zeros(Dev, new Shape(4, 3));
        using var v4 = Tensor.Zeros(Dev, new Shape(4));
        using var v3 = Tensor.Zeros(Dev, new Shape(3));
        Assert.That(() => Elementwise.Add(a, b, a), Throws.ArgumentException.With.Property("ParamName").EqualTo("b").And.Message.Contain("[4, 3]").And.Message.Contain("[3, 4]"));
        Assert.That(() => Elementwise.Add(a, a, b), Throws.ArgumentException.With.Property("ParamName").EqualTo("y"));
        Assert.That(() => Elementwise.Accumulate(a, b), Throws.ArgumentException.With.Property("ParamName").EqualTo("src"));
        Assert.That(() => Elementwise.Accumulate(a, a, float.PositiveInfinity), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("alpha"));
        Assert.That(() => Elementwise.Scale(a, b, 1f), Throws.ArgumentException.With.Property("ParamName").EqualTo("y"));
        Assert.That(() => Elementwise.Copy(a, b), Throws.ArgumentException.With.Property("ParamName").EqualTo("dst"));
        Assert.That(() => Elementwise.AddBias(a, v3), Throws.ArgumentException.With.Property("ParamName").EqualTo("bias").And.Message.Contain("must be [4]"));
        Assert.That(() => Elementwise.AddBias(a, v4, 2), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("axis"));
        Assert.That(() => Elementwise.BiasBackward(a, v4, 0), Throws.ArgumentException.With.Property("ParamName").EqualTo("dbias").And.Message.Contain("must be [3]"));
        var other = TestDevices.Get(TestDevices.All().First(d => d.Name != config.Name));
        using var elsewhere = Tensor.Zeros(other, new Shape(3, 4));
        Assert.That(() => Elementwise.Add(a, elsewhere, a), Throws.ArgumentException.With.Property("ParamName").EqualTo("b").And.Message.Contain("one device"));
    }
}
