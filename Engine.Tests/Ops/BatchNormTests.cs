// Batch norm on every device against a double reference (sizes that take every reduction plan), finite differences
// for every gradient, running statistics, in-place use, accumulation, steady-state allocation, and bad inputs.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class BatchNormTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    private static double[] D(float[] a) => GradCheck.ToDouble(a);

    public static IEnumerable<TestCaseData> Shapes()
    {
        // (shape, why): per-channel counts 2, 37, 1000, 4099; column plans (inner < 32) and strided plans, one or many blocks.
        yield return new TestCaseData(new[] { 2, 3 }).SetArgDisplayNames("(2,3) 2 per channel");
        yield return new TestCaseData(new[] { 37, 2 }).SetArgDisplayNames("(37,2) columns");
        yield return new TestCaseData(new[] { 1000, 3 }).SetArgDisplayNames("(1000,3) columns 8 blocks");
        yield return new TestCaseData(new[] { 4099, 2 }).SetArgDisplayNames("(4099,2) columns 33 blocks");
        yield return new TestCaseData(new[] { 5, 3, 4, 4 }).SetArgDisplayNames("(5,3,4,4) columns inner 16");
        yield return new TestCaseData(new[] { 3, 2, 37 }).SetArgDisplayNames("(3,2,37) strided");
        yield return new TestCaseData(new[] { 1, 2, 4099 }).SetArgDisplayNames("(1,2,4099) strided 2 blocks");

        // Image planes for the host path's unrolled vector sums: 7x9 (whole vectors plus a tail), 32x33 (many groups of four vectors).
        yield return new TestCaseData(new[] { 3, 5, 7, 9 }).SetArgDisplayNames("(3,5,7,9) planes 63");
        yield return new TestCaseData(new[] { 1, 17, 7, 9 }).SetArgDisplayNames("(1,17,7,9) batch 1");
        yield return new TestCaseData(new[] { 3, 3, 32, 33 }).SetArgDisplayNames("(3,3,32,33) planes 1056");
    }

    [TestCaseSource(nameof(Shapes))]
    public void Training_forward_backward_and_running_stats_match_double_reference(int[] dims) => CheckAgainstReference(dims, training: true, shift: 3f);

    [TestCase(new[] { 37, 2 })]
    [TestCase(new[] { 5, 3, 4, 4 })]
    [TestCase(new[] { 3, 2, 37 })]
    [TestCase(new[] { 3, 5, 7, 9 })]
    [TestCase(new[] { 1, 17, 7, 9 })]
    public void Inference_forward_and_backward_match_double_reference(int[] dims) => CheckAgainstReference(dims, training: false, shift: 0f);

    [Test]
    public void Inference_reduces_a_single_element_per_channel()
    {
        CheckAgainstReference([1, 3, 1, 1], training: false, shift: 0f);
        CheckAgainstReference([1, 5], training: false, shift: 0f);
    }

    private void CheckAgainstReference(int[] dims, bool training, float shift) => Check(Dev, config.Name, dims, training, shift);

    /// <summary>Forward, running statistics and backward of one shape against the double reference.</summary>
    public static void Check(Device dev, string device, int[] dims, bool training, float shift)
    {
        var shape = new Shape(dims);
        int n = dims[0], c = dims[1], s = (int)shape.Product(2, dims.Length);
        var xh = HostMath.Random((int)shape.Length, 11 + dims.Sum(), -2f, 2f).Select(v => v + shift).ToArray();
        var gh = HostMath.Random(c, 12, 0.5f, 1.5f);
        var bh = HostMath.Random(c, 13);
        var rmh = HostMath.Random(c, 14);
        var rvh = HostMath.Random(c, 15, 0.5f, 2f);
        var dyh = HostMath.Random((int)shape.Length, 16);
        const float momentum = 0.2f, eps = 1e-4f;
        var want = NormReference.BatchNorm(D(xh), n, c, s, D(gh), D(bh), D(rmh), D(rvh), training, momentum, eps);
        var wantG = NormReference.BatchNormBackward(D(xh), D(dyh), n, c, s, D(gh), want.Mean, want.InvStd, training);

        using var x = Tensor.FromHost(dev, xh, shape);
        using var gamma = Tensor.FromHost(dev, gh, new Shape(c));
        using var beta = Tensor.FromHost(dev, bh, new Shape(c));
        using var rm = Tensor.FromHost(dev, rmh, new Shape(c));
        using var rv = Tensor.FromHost(dev, rvh, new Shape(c));
        using var y = Tensor.Empty(dev, shape);
        using var mean = Tensor.Empty(dev, new Shape(c));
        using var invStd = Tensor.Empty(dev, new Shape(c));
        BatchNormOp.Forward(x, y, gamma, beta, rm, rv, mean, invStd, training, momentum, eps);
        string what = $"batch_norm {shape} training={training} on {device}";
        HostMath.AssertClose(y.ToArray(), want.Y, 1e-4, 1e-3, what + " y");
        HostMath.AssertClose(mean.ToArray(), want.Mean, 1e-5, 1e-5, what + " mean");
        HostMath.AssertClose(invStd.ToArray(), want.InvStd, 1e-5, 1e-4, what + " invstd");
        HostMath.AssertClose(rm.ToArray(), want.RunningMean, 1e-5, 1e-5, what + " running mean");
        HostMath.AssertClose(rv.ToArray(), want.RunningVar, 1e-5, 1e-4, what + " running var");

        using var dy = Tensor.FromHost(dev, dyh, shape);
        using var dx = Tensor.Empty(dev, shape);
        using var dgamma = Tensor.Empty(dev, new Shape(c));
        using var dbeta = Tensor.Empty(dev, new Shape(c));
        BatchNormOp.Backward(x, dy, gamma, mean, invStd, dx, dgamma, dbeta, training);
        HostMath.AssertClose(dx.ToArray(), wantG.Dx, 1e-4, 1e-3, what + " dx");
        HostMath.AssertClose(dgamma.ToArray(), wantG.DGamma, 2e-3, 1e-3, what + " dgamma");
        HostMath.AssertClose(dbeta.ToArray(), wantG.DBeta, 2e-3, 1e-3, what + " dbeta");
    }

    [TestCase(true, true)]
    [TestCase(true, false)]
    [TestCase(false, true)]
    [TestCase(false, false)]
    public void Every_gradient_matches_finite_differences(bool training, bool affine)
    {
        int n = 3, c = 2, s = 5;
        var shape = new Shape(n, c, s);
        var xh = HostMath.Random(n * c * s, 21, -2f, 2f);
        var gh = HostMath.Random(c, 22, 0.5f, 1.5f);
        var bh = HostMath.Random(c, 23);
        var rmh = HostMath.Random(c, 24);
        var rvh = HostMath.Random(c, 25, 0.5f, 2f);
        var gy = D(HostMath.Random(n * c * s, 26));
        const double eps = 1e-3;
        using var x = Tensor.FromHost(Dev, xh, shape);
        using var gamma = affine ? Tensor.FromHost(Dev, gh, new Shape(c)) : null;
        using var beta = affine ? Tensor.FromHost(Dev, bh, new Shape(c)) : null;
        using var rm = Tensor.FromHost(Dev, rmh, new Shape(c));
        using var rv = Tensor.FromHost(Dev, rvh, new Shape(c));
        using var y = Tensor.Empty(Dev, shape);
        using var mean = Tensor.Empty(Dev, new Shape(c));
        using var invStd = Tensor.Empty(Dev, new Shape(c));
        BatchNormOp.Forward(x, y, gamma, beta, rm, rv, mean, invStd, training, 0.1f, (float)eps);
        using var dy = Tensor.FromHost(Dev, gy.Select(v => (float)v).ToArray(), shape);
        using var dx = Tensor.Empty(Dev, shape);
        using var dgamma = affine ? Tensor.Empty(Dev, new Shape(c)) : null;
        using var dbeta = affine ? Tensor.Empty(Dev, new Shape(c)) : null;
        BatchNormOp.Backward(x, dy, gamma, mean, invStd, dx, dgamma, dbeta, training);

        double[]? G(double[]? v) => affine ? v : null;
        double Loss(double[] xv, double[] gv, double[] bv) =>
            NormReference.Dot(gy, NormReference.BatchNorm(xv, n, c, s, G(gv), G(bv), D(rmh), D(rvh), training, 0.1, eps).Y);
        string what = $"batch_norm training={training} affine={affine} on {config}";
        GradCheck.AssertMatches(dx.ToArray(), xv => Loss(xv, D(gh), D(bh)), D(xh), what + " dx");
        if (affine)
        {
            GradCheck.AssertMatches(dgamma!.ToArray(), gv => Loss(D(xh), gv, D(bh)), D(gh), what + " dgamma");
            GradCheck.AssertMatches(dbeta!.ToArray(), bv => Loss(D(xh), D(gh), bv), D(bh), what + " dbeta");
        }
    }

    [Test]
    public void In_place_forward_and_backward_and_accumulated_parameter_grads()
    {
        var shape = new Shape(4, 3, 6);
        var xh = HostMath.Random(72, 31, -1f, 3f);
        var dyh = HostMath.Random(72, 32);
        using var x = Tensor.FromHost(Dev, xh, shape);
        using var xCopy = Tensor.FromHost(Dev, xh, shape);
        using var gamma = Tensor.FromHost(Dev, [0.5f, 1f, 2f], new Shape(3));
        using var mean = Tensor.Empty(Dev, new Shape(3));
        using var invStd = Tensor.Empty(Dev, new Shape(3));
        using var y = Tensor.Empty(Dev, shape);
        BatchNormOp.Forward(xCopy, y, gamma, null, null, null, mean, invStd, training: true);
        var want = y.ToArray();
        BatchNormOp.Forward(x, x, gamma, null, null, null, mean, invStd, training: true);
        Assert.That(x.ToArray(), Is.EqualTo(want).Within(1e-6f), "y = x in place");

        using var dy = Tensor.FromHost(Dev, dyh, shape);
        using var dx = Tensor.Empty(Dev, shape);
        using var dgamma = Tensor.FromHost(Dev, [10f, 20f, 30f], new Shape(3));
        using var dbeta = Tensor.FromHost(Dev, [1f, 2f, 3f], new Shape(3));
        using var dgFresh = Tensor.Empty(Dev, new Shape(3));
        using var dbFresh = Tensor.Empty(Dev, new Shape(3));
        BatchNormOp.Backward(xCopy, dy, gamma, mean, invStd, dx, dgFresh, dbFresh, training: true);
        BatchNormOp.Backward(xCopy, dy, gamma, mean, invStd, null, dgamma, dbeta, training: true, accumulate: true);
        Assert.That(dgamma.ToArray(), Is.EqualTo(dgFresh.ToArray().Select((v, i) => v + (10f * (i + 1)))).Within(1e-4f));
        Assert.That(dbeta.ToArray(), Is.EqualTo(dbFresh.ToArray().Select((v, i) => v + (i + 1f))).Within(1e-4f));
        var wantDx = dx.ToArray();
        BatchNormOp.Backward(xCopy, dy, gamma, mean, invStd, dy, null, null, training: true);
        Assert.That(dy.ToArray(), Is.EqualTo(wantDx).Within(1e-6f), "dx = dy in place");
    }

    [Test]
    public void Steady_state_calls_allocate_no_device_memory()
    {
        var shape = new Shape(16, 4, 5, 5);
        using var x = Tensor.FromHost(Dev, HostMath.Random(1600, 41), shape);
        using var y = Tensor.Empty(Dev, shape);
        using var dx = Tensor.Empty(Dev, shape);
        using var gamma = Tensor.FromHost(Dev, [1f, 2f, 3f, 4f], new Shape(4));
        using var beta = Tensor.Zeros(Dev, new Shape(4));
        using var rm = Tensor.Zeros(Dev, new Shape(4));
        using var rv = Tensor.FromHost(Dev, [1f, 1f, 1f, 1f], new Shape(4));
        using var mean = Tensor.Empty(Dev, new Shape(4));
        using var invStd = Tensor.Empty(Dev, new Shape(4));
        using var dg = Tensor.Empty(Dev, new Shape(4));
        using var db = Tensor.Empty(Dev, new Shape(4));
        void Step()
        {
            BatchNormOp.Forward(x, y, gamma, beta, rm, rv, mean, invStd, training: true);
            BatchNormOp.Backward(x, y, gamma, mean, invStd, dx, dg, db, training: true);
        }

        Step();
        Dev.Synchronize();
        var before = Dev.Allocator.Stats;
        long managed = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 3; i++)
        {
            Step();
        }

        long managedAfter = GC.GetAllocatedBytesForCurrentThread();
        Dev.Synchronize();
        Assert.That(Dev.Allocator.Stats.DeviceAllocations, Is.EqualTo(before.DeviceAllocations));
        Assert.That(Dev.Allocator.Stats.BytesInUse, Is.EqualTo(before.BytesInUse));
        if (Dev.Path == ComputePath.Host)
        {
            Assert.That(managedAfter - managed, Is.LessThan(1024), "host path allocates no managed memory per step");
        }
    }

    [Test]
    public void Bad_arguments_are_rejected_with_their_names_and_shapes()
    {
        using var x = Tensor.Zeros(Dev, new Shape(4, 3, 2));
        using var y = Tensor.Zeros(Dev, new Shape(4, 3, 2));
        using var c3 = Tensor.Zeros(Dev, new Shape(3));
        using var c3b = Tensor.Zeros(Dev, new Shape(3));
        using var c4 = Tensor.Zeros(Dev, new Shape(4));
        using var wrongY = Tensor.Zeros(Dev, new Shape(4, 3, 3));
        using var rank1 = Tensor.Zeros(Dev, new Shape(12));
        using var single = Tensor.Zeros(Dev, new Shape(1, 3, 1));

        Assert.That(() => BatchNormOp.Forward(rank1, rank1, null, null, null, null, c3, c3b, true),
            Throws.ArgumentException.With.Message.Contain("[12]").And.Message.Contain("at least 2 dimensions"));
        Assert.That(() => BatchNormOp.Forward(x, wrongY, null, null, null, null, c3, c3b, true),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("y").And.Message.Contain("[4, 3, 3]").And.Message.Contain("[4, 3, 2]"));
        Assert.That(() => BatchNormOp.Forward(x, y, c4, null, null, null, c3, c3b, true),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("gamma").And.Message.Contain("must be [3]"));
        Assert.That(() => BatchNormOp.Forward(x, y, null, null, null, null, c4, c3b, true),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("saveMean"));
        Assert.That(() => BatchNormOp.Forward(x, y, null, null, c3, null, c3, c3b, true),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("runningVar").And.Message.Contain("both"));
        Assert.That(() => BatchNormOp.Forward(x, y, null, null, null, null, c3, c3b, false),
            Throws.ArgumentException.With.Message.Contain("running statistics"));
        Assert.That(() => BatchNormOp.Forward(single, single, null, null, null, null, c3, c3b, true),
            Throws.ArgumentException.With.Message.Contain("more than 1 value per channel"));
        Assert.That(() => BatchNormOp.Forward(x, y, null, null, null, null, c3, c3b, true, eps: 0f),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("eps"));
        Assert.That(() => BatchNormOp.Forward(x, y, null, null, null, null, c3, c3b, true, momentum: float.NaN),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("momentum"));
        Assert.That(() => BatchNormOp.Backward(x, wrongY, null, c3, c3b, y, null, null, true),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("dy"));
        Assert.That(() => BatchNormOp.Backward(x, y, null, c3, c3b, wrongY, null, null, true),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("dx"));
        Assert.That(() => BatchNormOp.Backward(x, y, null, c3, c3b, y, c4, null, true),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("dgamma"));

        var other = TestDevices.Get(TestDevices.All().First(d => d.Name != config.Name));
        using var elsewhere = Tensor.Zeros(other, new Shape(3));
        Assert.That(() => BatchNormOp.Forward(x, y, elsewhere, null, null, null, c3, c3b, true),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("gamma").And.Message.Contain("same device").Or.Message.Contain("one device"));
    }
}
