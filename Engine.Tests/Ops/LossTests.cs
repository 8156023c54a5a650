// Every loss on every device and variant: double references at odd sizes (multi-group and grid-stride reductions),
// finite-difference gradients, upstream scaling, PyTorch's values at the kinks.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class LossTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    private IEnumerable<(string Fwd, string Bwd)> Variants(LossSpec spec) =>
        spec.Definition.ForwardRegistry.Variants.Where(v => v.Path == Dev.Path).Select(v => v.Variant)
            .Zip(spec.Definition.BackwardRegistry.Variants.Where(v => v.Path == Dev.Path).Select(v => v.Variant));

    public static IEnumerable<TestCaseData> PointwiseSpecs()
    {
        foreach (var red in new[] { LossReduction.Mean, LossReduction.Sum })
        {
            LossSpec[] specs =
            [
                LossSpec.Mse(red), LossSpec.Mae(red), LossSpec.Huber(0.7f, red), LossSpec.SmoothL1(0.4f, red), LossSpec.SmoothL1(0f, red),
                LossSpec.Bce(red), LossSpec.BceWithLogits(red), LossSpec.Focal(2f, 0.25f, red), LossSpec.Focal(1.5f, -1f, red), LossSpec.Focal(0f, 0.6f, red),
            ];
            foreach (var s in specs)
            {
                yield return new TestCaseData(s).SetArgDisplayNames(s.ToString());
            }
        }
    }

    /// <summary>Inputs for a pointwise loss, kept away from the kinks so that finite differences are meaningful.</summary>
    private static (float[] Pred, float[] Target) PointwiseData(LossSpec s, int n, int seed)
    {
        var r = new Random(seed);
        var pred = new float[n];
        var target = new float[n];
        for (int i = 0; i < n; i++)
        {
            switch (s.Op)
            {
                case "bce":
                    pred[i] = 0.02f + (0.96f * (float)r.NextDouble());
                    target[i] = i % 3 == 0 ? (float)r.NextDouble() : (float)r.Next(2);
                    break;
                case "bce_with_logits" or "focal":
                    pred[i] = (float)((r.NextDouble() * 8) - 4);
                    target[i] = r.Next(2);
                    break;
                default:
                    target[i] = (float)((r.NextDouble() * 4) - 2);
                    float d = (float)((r.NextDouble() * 3) - 1.5);
                    float kink = s.Op == "huber" ? s.Delta : (s.Op == "smooth_l1" ? s.Beta : 0f);
                    if (MathF.Abs(MathF.Abs(d) - kink) < 0.01f || MathF.Abs(d) < 0.01f)
                    {
                        d += 0.05f;
                    }

                    pred[i] = target[i] + d;
                    break;
            }
        }

        return (pred, target);
    }

    [TestCaseSource(nameof(PointwiseSpecs))]
    public void Pointwise_losses_match_reference_at_odd_sizes(LossSpec spec)
    {
        // 4099 already needs grid-stride loops on the CPU simulator (at most 64 groups of 8); 70001 needs them on GPUs
        // (more than 256 groups of 256), so two losses also run at that size.
        int[] sizes = spec.Op is "mse" or "focal" ? [1, 37, 1000, 4099, 70001] : [1, 37, 1000, 4099];
        foreach (int n in sizes)
        {
            var (ph, th) = PointwiseData(spec, n, n);
            var pd = GradCheck.ToDouble(ph);
            var td = GradCheck.ToDouble(th);
            double want = LossReference.Loss(spec, pd, td, null, 1);
            using var pred = Tensor.FromHost(Dev, ph, new Shape(n));
            using var target = Tensor.FromHost(Dev, th, new Shape(n));
            using var loss = Tensor.Empty(Dev, new Shape(1));
            using var dpred = Tensor.Empty(Dev, pred.Shape);
            foreach (var (fwd, bwd) in Variants(spec))
            {
                Losses.Forward(spec, pred, target, loss, variant: fwd);
                Assert.That(loss.ToArray()[0], Is.EqualTo(want).Within(1e-5 + (2e-5 * Math.Abs(want))), $"{spec} n={n} {fwd}");
                Losses.Backward(spec, pred, target, dpred, variant: bwd);
                LossReference.AssertGradient(dpred.ToArray(), v => LossReference.Loss(spec, v, td, null, 1), pd, $"{spec} n={n} {bwd}", samples: n > 4099 ? 16 : 48);
            }
        }
    }

    public static IEnumerable<TestCaseData> CrossEntropySpecs()
    {
        foreach (var target in new[] { CrossEntropyTarget.Indices, CrossEntropyTarget.Probabilities })
        {
            foreach (bool weighted in new[] { false, true })
            {
                foreach (float smoothing in new[] { 0f, 0.15f })
                {
                    yield return new TestCaseData(target, weighted, smoothing).SetArgDisplayNames(target.ToString(), weighted ? "weighted" : "unweighted", $"ls {smoothing}");
                }
            }
        }
    }

    [TestCaseSource(nameof(CrossEntropySpecs))]
    public void Cross_entropy_matches_reference(CrossEntropyTarget kind, bool weighted, float smoothing)
    {
        foreach (var (n, c) in new[] { (1, 1), (1, 3), (37, 10), (1000, 7), (4099, 3) })
        {
            var r = new Random(n + c);
            var xh = HostMath.Random(n * c, n * c, -6f, 6f);
            float[] th = kind == CrossEntropyTarget.Indices
                ? Enumerable.Range(0, n).Select(_ => (float)r.Next(c)).ToArray()
                : Enumerable.Range(0, n).SelectMany(_ => { var p = Enumerable.Range(0, c).Select(_ => r.NextDouble()).ToArray(); return p.Select(v => (float)(v / p.Sum())); }).ToArray();
            float[]? wh = weighted ? HostMath.Random(c, c, 0.2f, 2f) : null;
            using var pred = Tensor.FromHost(Dev, xh, new Shape(n, c));
            using var target = Tensor.FromHost(Dev, th, kind == CrossEntropyTarget.Indices ? new Shape(n) : new Shape(n, c));
            using var weight = wh is null ? null : Tensor.FromHost(Dev, wh, new Shape(c));
            using var loss = Tensor.Empty(Dev, new Shape(1));
            using var dpred = Tensor.Empty(Dev, pred.Shape);
            foreach (var red in new[] { LossReduction.Mean, LossReduction.Sum })
            {
                var spec = LossSpec.CrossEntropy(kind, smoothing, red);
                var wd = wh is null ? null : GradCheck.ToDouble(wh);
                var td = GradCheck.ToDouble(th);
                double want = LossReference.Loss(spec, GradCheck.ToDouble(xh), td, wd, c);
                foreach (var (fwd, bwd) in Variants(spec))
                {
                    Losses.Forward(spec, pred, target, loss, weight, fwd);
                    Assert.That(loss.ToArray()[0], Is.EqualTo(want).Within(1e-5 + (2e-5 * Math.Abs(want))), $"{spec} {n}x{c} {fwd}");
                    Losses.Backward(spec, pred, target, dpred, weight, variant: bwd);
                    LossReference.AssertGradient(dpred.ToArray(), v => LossReference.Loss(spec, v, td, wd, c), GradCheck.ToDouble(xh), $"{spec} {n}x{c} {bwd}");
                }
            }
        }
    }

    [TestCase(2f, 0.25f)]
    [TestCase(0f, 1f)]
    [TestCase(0.5f, 0.75f)]
    [TestCase(3f, 2f)]
    public void Focal_softmax_matches_reference(float gamma, float alpha)
    {
        // One class has p_t = 1 exactly; for 0 < gamma < 1 the gradient there is NaN, as PyTorch's (0^(gamma-1) * 0).
        var sizes = gamma is > 0f and < 1f ? new[] { (1, 3), (37, 10), (1000, 7), (4099, 3) } : new[] { (1, 1), (1, 3), (37, 10), (1000, 7), (4099, 3) };
        foreach (var (n, c) in sizes)
        {
            var r = new Random((n * 31) + c);
            var xh = HostMath.Random(n * c, n + c, -6f, 6f);
            float[] th = Enumerable.Range(0, n).Select(_ => (float)r.Next(c)).ToArray();
            using var pred = Tensor.FromHost(Dev, xh, new Shape(n, c));
            using var target = Tensor.FromHost(Dev, th, new Shape(n));
            using var loss = Tensor.Empty(Dev, new Shape(1));
            using var dpred = Tensor.Empty(Dev, pred.Shape);
            var td = GradCheck.ToDouble(th);
            foreach (var red in new[] { LossReduction.Mean, LossReduction.Sum })
            {
                var spec = LossSpec.FocalSoftmax(gamma, alpha, red);
                double want = LossReference.Loss(spec, GradCheck.ToDouble(xh), td, null, c);
                foreach (var (fwd, bwd) in Variants(spec))
                {
                    Losses.Forward(spec, pred, target, loss, variant: fwd);
                    Assert.That(loss.ToArray()[0], Is.EqualTo(want).Within(1e-5 + (2e-5 * Math.Abs(want))), $"{spec} {n}x{c} {fwd}");
                    Losses.Backward(spec, pred, target, dpred, variant: bwd);
                    LossReference.AssertGradient(dpred.ToArray(), v => LossReference.Loss(spec, v, td, null, c), GradCheck.ToDouble(xh), $"{spec} {n}x{c} {bwd}");
                }
            }
        }
    }

    [Test]
    public void Focal_softmax_worked_example_down_weights_easy_rows()
    {
        // Two classes, class 0 the target. logits (ln 9, 0): p_t = 0.9, cross-entropy -ln 0.9 = 0.1053605; with gamma 2
        // the focal factor (1 - 0.9)^2 = 0.01 leaves 0.001053605. logits (0, 0): p_t = 0.5, 0.25 * ln 2 = 0.1732868.
        // With alpha 1 and sum reduction the loss is their sum; the gradient of row 0 is F (p - onehot) with
        // F = 0.01 - 2 * 0.1 * 0.9 * ln 0.9 = 0.02896489, so d/dx = F * (-0.1, 0.1).
        using var pred = Tensor.FromHost(Dev, [MathF.Log(9f), 0f, 0f, 0f], new Shape(2, 2));
        using var target = Tensor.FromHost(Dev, [0f, 0f], new Shape(2));
        using var loss = Tensor.Empty(Dev, new Shape(1));
        using var dpred = Tensor.Empty(Dev, pred.Shape);
        var spec = LossSpec.FocalSoftmax(2f, 1f, LossReduction.Sum);
        Losses.Forward(spec, pred, target, loss);
        Assert.That(loss.ToArray()[0], Is.EqualTo(0.001053605 + 0.1732868).Within(1e-6));
        Losses.Backward(spec, pred, target, dpred);
        double f0 = 0.01 - (2 * 0.1 * 0.9 * Math.Log(0.9)), f1 = 0.25 - (2 * 0.5 * 0.5 * Math.Log(0.5));
        Assert.That(dpred.ToArray(), Is.EqualTo(new[] { -0.1 * f0, 0.1 * f0, -0.5 * f1, 0.5 * f1 }).Within(1e-6));
        Losses.Forward(LossSpec.CrossEntropy(reduction: LossReduction.Sum), pred, target, loss);
        Assert.That(loss.ToArray()[0], Is.EqualTo(0.1053605 + 0.6931472).Within(1e-6), "cross-entropy of the same rows");
    }

    [Test]
    public void Focal_softmax_rejects_bad_class_numbers_and_shapes()
    {
        using var pred = Tensor.FromHost(Dev, new float[6], new Shape(2, 3));
        using var bad = Tensor.FromHost(Dev, [0f, 3f], new Shape(2));
        using var frac = Tensor.FromHost(Dev, [0f, 1.5f], new Shape(2));
        using var wide = Tensor.FromHost(Dev, new float[6], new Shape(2, 3));
        using var loss = Tensor.Empty(Dev, new Shape(1));
        var spec = LossSpec.FocalSoftmax();
        if (Dev.IsHostMemory)
        {
            Assert.That(() => Losses.Forward(spec, pred, bad, loss), Throws.ArgumentException.With.Message.Contain("target[1] = 3"));
            Assert.That(() => Losses.Forward(spec, pred, frac, loss), Throws.ArgumentException.With.Message.Contain("target[1] = 1.5"));
        }

        Assert.That(() => Losses.Forward(spec, pred, wide, loss), Throws.ArgumentException.With.Message.Contain("expected class indices [2]"));
        Assert.That(() => LossSpec.FocalSoftmax(gamma: -0.5f), Throws.ArgumentException.With.Property("ParamName").EqualTo("gamma"));
    }

    public static IEnumerable<TestCaseData> RegionSpecs()
    {
        LossSpec[] specs = [LossSpec.Dice(1e-6f), LossSpec.Dice(1f), LossSpec.Iou(1e-6f), LossSpec.Iou(0.5f), LossSpec.Tversky(0.3f, 0.7f, 1e-6f), LossSpec.Tversky(0.9f, 0.1f, 1f)];
        return specs.Select(s => new TestCaseData(s).SetArgDisplayNames(s.ToString()));
    }

    [TestCaseSource(nameof(RegionSpecs))]
    public void Region_losses_match_reference(LossSpec spec)
    {
        foreach (var (n, c) in new[] { (1, 1), (37, 5), (1000, 3), (4099, 2) })
        {
            var r = new Random(n * c);
            var ph = new float[n * c];
            var th = new float[n * c];
            for (int i = 0; i < n; i++)
            {
                var e = Enumerable.Range(0, c).Select(_ => Math.Exp((r.NextDouble() * 4) - 2)).ToArray();
                for (int k = 0; k < c; k++)
                {
                    ph[(i * c) + k] = (float)(e[k] / e.Sum());
                }

                th[(i * c) + r.Next(c)] = 1f;
            }

            var td = GradCheck.ToDouble(th);
            double want = LossReference.Loss(spec, GradCheck.ToDouble(ph), td, null, c);
            using var pred = Tensor.FromHost(Dev, ph, new Shape(n, c));
            using var target = Tensor.FromHost(Dev, th, pred.Shape);
            using var loss = Tensor.Empty(Dev, new Shape(1));
            using var dpred = Tensor.Empty(Dev, pred.Shape);
            foreach (var (fwd, bwd) in Variants(spec))
            {
                Losses.Forward(spec, pred, target, loss, variant: fwd);
                Assert.That(loss.ToArray()[0], Is.EqualTo(want).Within(2e-6 + (2e-5 * Math.Abs(want))), $"{spec} {n}x{c} {fwd}");
                Losses.Backward(spec, pred, target, dpred, variant: bwd);
                LossReference.AssertGradient(dpred.ToArray(), v => LossReference.Loss(spec, v, td, null, c), GradCheck.ToDouble(ph), $"{spec} {n}x{c} {bwd}");
            }
        }
    }

    [TestCase(2f, 1f)]
    [TestCase(1f, 0.5f)]
    [TestCase(3f, 2f)]
    [TestCase(1.5f, 0.2f)]
    public void Triplet_matches_reference(float p, float margin)
    {
        foreach (var (n, d) in new[] { (1, 1), (37, 3), (300, 16) })
        {
            var ah = HostMath.Random(n * d, 1 + n, -1f, 1f);
            var ph = HostMath.Random(n * d, 2 + n, -1f, 1f);
            var qh = HostMath.Random(n * d, 3 + n, -1f, 1f);
            var (ad, pd, qd) = (GradCheck.ToDouble(ah), GradCheck.ToDouble(ph), GradCheck.ToDouble(qh));
            using var a = Tensor.FromHost(Dev, ah, new Shape(n, d));
            using var pos = Tensor.FromHost(Dev, ph, a.Shape);
            using var neg = Tensor.FromHost(Dev, qh, a.Shape);
            using var loss = Tensor.Empty(Dev, new Shape(1));
            using var da = Tensor.Empty(Dev, a.Shape);
            using var dp = Tensor.Empty(Dev, a.Shape);
            using var dn = Tensor.Empty(Dev, a.Shape);
            foreach (var red in new[] { LossReduction.Mean, LossReduction.Sum })
            {
                var spec = LossSpec.Triplet(margin, p, red);
                double want = LossReference.Triplet(spec, ad, pd, qd, d);
                foreach (var (fwd, bwd) in Variants(spec))
                {
                    Losses.TripletForward(spec, a, pos, neg, loss, fwd);
                    Assert.That(loss.ToArray()[0], Is.EqualTo(want).Within(1e-5 + (2e-5 * Math.Abs(want))), $"{spec} {n}x{d} {fwd}");
                    Losses.TripletBackward(spec, a, pos, neg, da, dp, dn, variant: bwd);
                    LossReference.AssertGradient(da.ToArray(), v => LossReference.Triplet(spec, v, pd, qd, d), ad, $"{spec} {n}x{d} danchor {bwd}");
                    LossReference.AssertGradient(dp.ToArray(), v => LossReference.Triplet(spec, ad, v, qd, d), pd, $"{spec} {n}x{d} dpositive {bwd}");
                    LossReference.AssertGradient(dn.ToArray(), v => LossReference.Triplet(spec, ad, pd, v, d), qd, $"{spec} {n}x{d} dnegative {bwd}");
                }
            }
        }
    }

    [Test]
    public void Upstream_gradient_tensor_and_scale_multiply_every_gradient()
    {
        using var up = Tensor.FromHost(Dev, [2.5f], new Shape(1));
        var xh = HostMath.Random(12, 1, -2f, 2f);
        using var x = Tensor.FromHost(Dev, xh, new Shape(4, 3));
        using var probs = Tensor.FromHost(Dev, xh.Select(v => (v + 2f) / 4.1f).ToArray(), new Shape(4, 3));
        using var idx = Tensor.FromHost(Dev, [0f, 2f, 1f, 2f], new Shape(4));
        using var onehot = Tensor.FromHost(Dev, [1f, 0, 0, 0, 0, 1f, 0, 1f, 0, 0, 0, 1f], new Shape(4, 3));
        using var w = Tensor.FromHost(Dev, [0.5f, 1f, 2f], new Shape(3));
        using var g1 = Tensor.Empty(Dev, x.Shape);
        using var g2 = Tensor.Empty(Dev, x.Shape);
        using var g3 = Tensor.Empty(Dev, x.Shape);
        (LossSpec Spec, Tensor Pred, Tensor Target, Tensor? Weight)[] cases =
        [
            (LossSpec.Mse(), x, probs, null), (LossSpec.CrossEntropy(), x, idx, w), (LossSpec.CrossEntropy(CrossEntropyTarget.Probabilities, 0.1f), x, probs, w),
            (LossSpec.Dice(), probs, onehot, null), (LossSpec.Focal(), x, onehot, null), (LossSpec.FocalSoftmax(1.5f, 0.7f), x, idx, null),
        ];
        foreach (var (spec, pred, target, weight) in cases)
        {
            Losses.Backward(spec, pred, target, g1, weight);
            Losses.Backward(spec, pred, target, g2, weight, up, 0.5f);
            HostMath.AssertClose(g2.ToArray(), GradCheck.ToDouble(g1.ToArray()).Select(v => 1.25 * v).ToArray(), 1e-7, 1e-6, spec.ToString());
        }

        var t = LossSpec.Triplet(5f);
        Losses.TripletBackward(t, x, probs, onehot, g1, g2, g3);
        var unit = g1.ToArray();
        Losses.TripletBackward(t, x, probs, onehot, g1, g2, g3, up, 0.5f);
        HostMath.AssertClose(g1.ToArray(), GradCheck.ToDouble(unit).Select(v => 1.25 * v).ToArray(), 1e-7, 1e-6, "triplet");
    }

    [Test]
    public void Gradients_at_the_kinks_are_pytorchs()
    {
        using var pred = Tensor.FromHost(Dev, [0f, 1.7f, -0.7f, 0.3f], new Shape(4));
        using var target = Tensor.FromHost(Dev, [0f, 1f, 0f, 0.3f], new Shape(4));
        using var dpred = Tensor.Empty(Dev, pred.Shape);
        (LossSpec Spec, float[] Want)[] cases =
        [
            (LossSpec.Mae(LossReduction.Sum), [0f, 1f, -1f, 0f]),
            (LossSpec.Huber(0.7f, LossReduction.Sum), [0f, 0.7f, -0.7f, 0f]),
            (LossSpec.SmoothL1(0.7f, LossReduction.Sum), [0f, 1f, -1f, 0f]),
            (LossSpec.SmoothL1(0f, LossReduction.Sum), [-1f, 1f, -1f, -1f]), // torch 1.13: d <= -beta comes first
        ];
        foreach (var (spec, want) in cases)
        {
            Losses.Backward(spec, pred, target, dpred);
            Assert.That(dpred.ToArray(), Is.EqualTo(want).Within(1e-6), spec.ToString());
        }

        // bce: p = 0 or 1 with agreeing targets is a finite zero-gradient point; disagreeing ones hit torch's clamps.
        using var p = Tensor.FromHost(Dev, [0f, 1f, 0f, 1f], new Shape(4));
        using var t = Tensor.FromHost(Dev, [0f, 1f, 1f, 0f], new Shape(4));
        using var loss = Tensor.Empty(Dev, new Shape(1));
        Losses.Forward(LossSpec.Bce(LossReduction.Sum), p, t, loss);
        Assert.That(loss.ToArray()[0], Is.EqualTo(200f).Within(1e-3));
        Losses.Backward(LossSpec.Bce(LossReduction.Sum), p, t, dpred);
        Assert.That(dpred.ToArray(), Is.EqualTo(new[] { 0f, 0f, -1e12f, 1e12f }).Within(1e6));
    }
}
