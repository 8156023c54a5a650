// Dropout: Philox known-answer vectors, keep rate within statistical bounds, determinism by seed and offset, the same
// mask bit for bit on every path, the backward (exact and by finite differences), inference identity, bad inputs.
using System;
using System.Linq;
using Engine.Kernels.Rng;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

public sealed class PhiloxTests
{
    // Random123's kat_vectors for philox4x32 with 10 rounds: counter (4 words), key (2 words) -> output.
    [TestCase(0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [TestCase(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [TestCase(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void Matches_the_Random123_known_answers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint r0, uint r1, uint r2, uint r3)
    {
        var r = Philox.Generate(c0, c1, c2, c3, k0, k1);
        Assert.That(new[] { r.X0, r.X1, r.X2, r.X3 }, Is.EqualTo(new[] { r0, r1, r2, r3 }));
    }

    [Test]
    public void Every_path_produces_the_same_mask_bit_for_bit()
    {
        const int n = 10007;
        var x = HostMath.Random(n, 100);
        float[]? first = null;
        string firstName = "";
        foreach (var cfg in TestDevices.All())
        {
            var dev = TestDevices.Get(cfg);
            using var xt = Tensor.FromHost(dev, x, new Shape(n));
            using var y = Tensor.Empty(dev, new Shape(n));
            DropoutOp.Forward(xt, y, 0.37f, seed: 0xDEADBEEFCAFEul, offset: 12345, training: true);
            var got = y.ToArray();
            if (first is null)
            {
                first = got;
                firstName = cfg.Name;
                continue;
            }

            Assert.That(got.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(first.Select(BitConverter.SingleToInt32Bits)), $"{cfg.Name} vs {firstName}");
        }

        Assert.That(TestDevices.All().Count(), Is.GreaterThanOrEqualTo(2), "both CPU paths are compared");
    }
}

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class DropoutTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    /// <summary>The mask by its definition: keep i when the top 24 bits of Philox word i % 4 of block i / 4 are below round((1 - p) 2^24).</summary>
    private static bool[] ReferenceKeep(int n, float p, ulong seed, ulong offset)
    {
        uint threshold = (uint)Math.Round((1.0 - p) * (1 << 24));
        return Enumerable.Range(0, n).Select(i =>
        {
            var r = Philox.Generate((uint)(i / 4), 0, (uint)offset, (uint)(offset >> 32), (uint)seed, (uint)(seed >> 32));
            uint w = (i % 4) switch { 0 => r.X0, 1 => r.X1, 2 => r.X2, _ => r.X3 };
            return (w >> 8) < threshold;
        }).ToArray();
    }

    [TestCase(0.1f)]
    [TestCase(0.5f)]
    [TestCase(0.9f)]
    public void Keep_rate_is_within_statistical_bounds_and_kept_values_are_scaled(float p)
    {
        const int n = 40000;
        var xh = HostMath.Random(n, 101, 0.5f, 1.5f);
        using var x = Tensor.FromHost(Dev, xh, new Shape(n));
        using var y = Tensor.Empty(Dev, new Shape(n));
        DropoutOp.Forward(x, y, p, seed: 7, offset: 3, training: true);
        var yh = y.ToArray();
        float scale = 1f / (1f - p);
        var keep = ReferenceKeep(n, p, 7, 3);
        Assert.That(yh, Is.EqualTo(xh.Select((v, i) => keep[i] ? v * scale : 0f)), "kept values are x / (1 - p), dropped ones 0");

        // Binomial(n, 1 - p): the kept fraction lies within 5 standard deviations, overall and in each word lane.
        double q = 1 - p;
        double kept = yh.Count(v => v != 0) / (double)n;
        Assert.That(kept, Is.EqualTo(q).Within(5 * Math.Sqrt(q * p / n)), "keep rate");
        for (int lane = 0; lane < 4; lane++)
        {
            double laneKept = Enumerable.Range(0, n / 4).Count(b => yh[(4 * b) + lane] != 0) / (n / 4.0);
            Assert.That(laneKept, Is.EqualTo(q).Within(5 * Math.Sqrt(q * p / (n / 4.0))), $"keep rate of lane {lane}");
        }

        // Adjacent elements are independent: P(both kept) = q^2.
        double pairs = Enumerable.Range(0, n - 1).Count(i => yh[i] != 0 && yh[i + 1] != 0) / (double)(n - 1);
        Assert.That(pairs, Is.EqualTo(q * q).Within(5 * Math.Sqrt(q * q * (1 - (q * q)) / (n - 1)) * 2), "adjacent pairs");
    }

    [Test]
    public void Masks_are_deterministic_by_seed_and_offset_and_differ_otherwise()
    {
        const int n = 4096;
        using var m1 = Tensor.Empty(Dev, new Shape(n));
        using var m2 = Tensor.Empty(Dev, new Shape(n));
        DropoutOp.Mask(m1, 0.5f, seed: 42, offset: 0);
        DropoutOp.Mask(m2, 0.5f, seed: 42, offset: 0);
        var a = m1.ToArray();
        Assert.That(m2.ToArray(), Is.EqualTo(a), "same seed and offset");
        Assert.That(a.Distinct().Order(), Is.EqualTo(new[] { 0f, 2f }), "mask values are 0 and 1 / (1 - p)");
        DropoutOp.Mask(m2, 0.5f, seed: 43, offset: 0);
        double differSeed = a.Zip(m2.ToArray()).Count(t => t.First != t.Second) / (double)n;
        DropoutOp.Mask(m2, 0.5f, seed: 42, offset: 1);
        double differOffset = a.Zip(m2.ToArray()).Count(t => t.First != t.Second) / (double)n;
        Assert.That(differSeed, Is.EqualTo(0.5).Within(0.05), "another seed gives an independent mask");
        Assert.That(differOffset, Is.EqualTo(0.5).Within(0.05), "another offset gives an independent mask");
    }

    [Test]
    public void Backward_applies_the_forward_mask_and_matches_finite_differences()
    {
        const int n = 37;
        const float p = 0.3f;
        var xh = HostMath.Random(n, 102);
        var gh = HostMath.Random(n, 103);
        using var x = Tensor.FromHost(Dev, xh, new Shape(n));
        using var y = Tensor.Empty(Dev, new Shape(n));
        using var dy = Tensor.FromHost(Dev, gh, new Shape(n));
        using var dx = Tensor.Empty(Dev, new Shape(n));
        using var mask = Tensor.Empty(Dev, new Shape(n));
        DropoutOp.Forward(x, y, p, seed: 9, offset: 77, training: true);
        DropoutOp.Backward(dy, dx, p, seed: 9, offset: 77, training: true);
        DropoutOp.Mask(mask, p, seed: 9, offset: 77);
        var m = mask.ToArray();
        Assert.That(dx.ToArray(), Is.EqualTo(gh.Select((g, i) => m[i] == 0 ? 0f : g * m[i])));
        Assert.That(y.ToArray(), Is.EqualTo(xh.Select((v, i) => m[i] == 0 ? 0f : v * m[i])));
        var keep = ReferenceKeep(n, p, 9, 77);
        Assert.That(m.Select(v => v != 0), Is.EqualTo(keep));
        var g64 = GradCheck.ToDouble(gh);
        double Loss(double[] xv) => Enumerable.Range(0, n).Sum(i => keep[i] ? g64[i] * xv[i] / (1 - p) : 0);
        GradCheck.AssertMatches(dx.ToArray(), Loss, GradCheck.ToDouble(xh), $"dropout dx on {config}");

        DropoutOp.Backward(dy, dy, p, seed: 9, offset: 77, training: true);
        Assert.That(dy.ToArray(), Is.EqualTo(dx.ToArray()), "in place");
    }

    [Test]
    public void Inference_p_zero_and_p_one()
    {
        var xh = HostMath.Random(50, 104);
        using var x = Tensor.FromHost(Dev, xh, new Shape(5, 10));
        using var y = Tensor.Empty(Dev, new Shape(5, 10));
        DropoutOp.Forward(x, y, 0.5f, 1, 0, training: false);
        Assert.That(y.ToArray(), Is.EqualTo(xh), "inference is the identity");
        DropoutOp.Backward(x, y, 0.5f, 1, 0, training: false);
        Assert.That(y.ToArray(), Is.EqualTo(xh), "inference backward is the identity");
        DropoutOp.Forward(x, y, 0f, 1, 0, training: true);
        Assert.That(y.ToArray(), Is.EqualTo(xh), "p = 0 keeps everything unscaled");
        DropoutOp.Forward(x, y, 1f, 1, 0, training: true);
        Assert.That(y.ToArray(), Is.All.EqualTo(0f), "p = 1 drops everything");
        DropoutOp.Forward(x, x, 0.5f, 1, 0, training: false);
        Assert.That(x.ToArray(), Is.EqualTo(xh), "in place inference");
    }

    [Test]
    public void Bad_arguments_are_rejected()
    {
        using var x = Tensor.Zeros(Dev, new Shape(4));
        using var y = Tensor.Zeros(Dev, new Shape(5));
        foreach (float p in new[] { -0.1f, 1.5f, float.NaN })
        {
            Assert.That(() => DropoutOp.Forward(x, x, p, 0, 0, true), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("p").And.Message.Contain("[0, 1]"));
        }

        Assert.That(() => DropoutOp.Forward(x, y, 0.5f, 0, 0, true), Throws.ArgumentException.With.Property("ParamName").EqualTo("y").And.Message.Contain("[5]"));
        Assert.That(() => DropoutOp.Backward(x, y, 0.5f, 0, 0, true), Throws.ArgumentException.With.Property("ParamName").EqualTo("dx"));
    }
}
