// Initializers: fans and gains as torch.nn.init, sample statistics of every distribution against torch's formulas,
// uniform bounds, seed determinism, the tensor landing on every device, and bad inputs.
using System;
using System.Linq;
using Engine.Nn;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class InitTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    // (128, 512): 65536 samples, fan_in 512, fan_out 128.
    private static readonly Shape Big = new(128, 512);

    private static (double Mean, double Std, double MaxAbs) Stats(float[] v)
    {
        double mean = v.Average(x => (double)x);
        double var = v.Sum(x => (x - mean) * (x - mean)) / v.Length;
        return (mean, Math.Sqrt(var), v.Max(x => Math.Abs((double)x)));
    }

    private static void AssertNormal(float[] v, double mean, double std, string what)
    {
        var s = Stats(v);
        Assert.That(s.Mean, Is.EqualTo(mean).Within(5 * std / Math.Sqrt(v.Length)), what + " mean");
        Assert.That(s.Std, Is.EqualTo(std).Within(0.02 * std), what + " std");
        double within1 = v.Count(x => Math.Abs(x - mean) <= std) / (double)v.Length;
        Assert.That(within1, Is.EqualTo(0.6827).Within(0.01), what + " mass within one std");
    }

    private static void AssertUniform(float[] v, double bound, string what)
    {
        var s = Stats(v);
        Assert.That(s.MaxAbs, Is.LessThanOrEqualTo(bound), what + " bound");
        Assert.That(s.MaxAbs, Is.GreaterThan(0.999 * bound), what + " reaches the bound");
        Assert.That(s.Mean, Is.EqualTo(0).Within(5 * bound / Math.Sqrt(3 * v.Length)), what + " mean");
        Assert.That(s.Std, Is.EqualTo(bound / Math.Sqrt(3)).Within(0.01 * bound), what + " std");
    }

    [Test]
    public void Fans_follow_torch_for_linear_and_conv_weights()
    {
        Assert.That(Init.Fans(new Shape(10, 20)), Is.EqualTo((20L, 10L)), "linear (out, in)");
        Assert.That(Init.Fans(new Shape(16, 4, 3, 5)), Is.EqualTo((60L, 240L)), "conv (out, in/groups, kh, kw)");
        Assert.That(Init.Fans(new Shape(8, 2, 3)), Is.EqualTo((6L, 24L)), "conv1d");
        Assert.That(() => Init.Fans(new Shape(7)), Throws.ArgumentException.With.Message.Contain("fewer than 2 dimensions"));
        Assert.That(Init.Gain(Nonlinearity.Linear), Is.EqualTo(1.0));
        Assert.That(Init.Gain(Nonlinearity.Conv), Is.EqualTo(1.0));
        Assert.That(Init.Gain(Nonlinearity.Sigmoid), Is.EqualTo(1.0));
        Assert.That(Init.Gain(Nonlinearity.Tanh), Is.EqualTo(5.0 / 3));
        Assert.That(Init.Gain(Nonlinearity.Relu), Is.EqualTo(Math.Sqrt(2)));
        Assert.That(Init.Gain(Nonlinearity.LeakyRelu), Is.EqualTo(Math.Sqrt(2 / 1.0001)).Within(1e-15));
        Assert.That(Init.Gain(Nonlinearity.LeakyRelu, 0.2), Is.EqualTo(Math.Sqrt(2 / 1.04)).Within(1e-15));
        Assert.That(Init.Gain(Nonlinearity.Selu), Is.EqualTo(0.75));
    }

    [Test]
    public void Xavier_uniform_and_normal_have_torchs_bounds_and_std()
    {
        using var w = Tensor.Empty(Dev, Big);
        Init.XavierUniform(w, gain: 2.0, seed: 1);
        AssertUniform(w.ToArray(), 2.0 * Math.Sqrt(6.0 / (512 + 128)), "xavier_uniform");
        Init.XavierNormal(w, gain: 0.5, seed: 2);
        AssertNormal(w.ToArray(), 0, 0.5 * Math.Sqrt(2.0 / (512 + 128)), "xavier_normal");
    }

    [Test]
    public void Kaiming_uniform_and_normal_follow_mode_and_nonlinearity()
    {
        using var conv = Tensor.Empty(Dev, new Shape(64, 32, 4, 8)); // fan_in 1024, fan_out 2048
        Init.KaimingUniform(conv, seed: 3);
        AssertUniform(conv.ToArray(), Math.Sqrt(3) * Math.Sqrt(2) / Math.Sqrt(1024), "kaiming_uniform default (leaky_relu a=0, fan_in)");
        Init.KaimingUniform(conv, a: 0.1, mode: FanMode.FanOut, seed: 4);
        AssertUniform(conv.ToArray(), Math.Sqrt(3) * Math.Sqrt(2 / 1.01) / Math.Sqrt(2048), "kaiming_uniform leaky 0.1 fan_out");
        Init.KaimingNormal(conv, mode: FanMode.FanIn, nonlinearity: Nonlinearity.Relu, seed: 5);
        AssertNormal(conv.ToArray(), 0, Math.Sqrt(2) / Math.Sqrt(1024), "kaiming_normal relu fan_in");
        Init.KaimingNormal(conv, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Tanh, seed: 6);
        AssertNormal(conv.ToArray(), 0, 5.0 / 3 / Math.Sqrt(2048), "kaiming_normal tanh fan_out");
    }

    [Test]
    public void Normal_uniform_constants_and_torch_default()
    {
        using var w = Tensor.Empty(Dev, Big);
        Init.Normal(w, mean: 3, std: 0.25, seed: 7);
        AssertNormal(w.ToArray(), 3, 0.25, "normal");
        Init.Uniform(w, -2, 6, seed: 8);
        var u = w.ToArray();
        Assert.That(u.Min(), Is.GreaterThanOrEqualTo(-2f));
        Assert.That(u.Max(), Is.LessThanOrEqualTo(6f));
        Assert.That(u.Average(x => (double)x), Is.EqualTo(2).Within(5 * 8 / Math.Sqrt(12 * u.Length)));
        Init.Zeros(w);
        Assert.That(w.ToArray(), Is.All.EqualTo(0f));
        Init.Ones(w);
        Assert.That(w.ToArray(), Is.All.EqualTo(1f));
        Init.Constant(w, -0.5f);
        Assert.That(w.ToArray(), Is.All.EqualTo(-0.5f));

        using var bias = Tensor.Empty(Dev, new Shape(128));
        Init.TorchDefault(w, bias, seed: 9);
        AssertUniform(w.ToArray(), 1 / Math.Sqrt(512), "torch default weight (kaiming_uniform a=sqrt 5)");
        var b = bias.ToArray();
        Assert.That(b.Max(x => Math.Abs(x)), Is.LessThanOrEqualTo(1 / Math.Sqrt(512)), "torch default bias bound");
        Assert.That(b.Max(x => Math.Abs(x)), Is.GreaterThan(0.9 / Math.Sqrt(512)), "torch default bias spread");
        Assert.That(b.Distinct().Count(), Is.EqualTo(128));
    }

    [Test]
    public void Same_seed_same_values_on_every_device_other_seed_other_values()
    {
        using var a = Tensor.Empty(Dev, new Shape(33, 7));
        using var b = Tensor.Empty(Dev, new Shape(33, 7));
        Init.XavierNormal(a, seed: 11);
        Init.XavierNormal(b, seed: 11);
        Assert.That(b.ToArray(), Is.EqualTo(a.ToArray()));
        Init.XavierNormal(b, seed: 12);
        Assert.That(b.ToArray().Zip(a.ToArray()).Count(t => t.First == t.Second), Is.LessThan(3));

        // The sequence is a property of the seed alone: element i of uniform(0, 1) is Init.UniformAt(seed, i).
        Init.Uniform(a, 0, 1, seed: 13);
        var got = a.ToArray();
        for (int i = 0; i < got.Length; i++)
        {
            Assert.That(got[i], Is.EqualTo((float)Init.UniformAt(13, i)), $"element {i}");
        }
    }

    [Test]
    public void Bad_arguments_are_rejected()
    {
        using var v = Tensor.Empty(Dev, new Shape(5));
        Assert.That(() => Init.XavierUniform(v), Throws.ArgumentException.With.Message.Contain("[5]"));
        Assert.That(() => Init.KaimingNormal(v), Throws.ArgumentException.With.Message.Contain("fewer than 2 dimensions"));
        Assert.That(() => Init.Uniform(v, 1, -1, 0), Throws.ArgumentException.With.Message.Contain("low <= high"));
        Assert.That(() => Init.Normal(v, 0, -1, 0), Throws.ArgumentException.With.Property("ParamName").EqualTo("std"));
        Assert.That(() => Init.Normal(v, double.NaN, 1, 0), Throws.ArgumentException);
    }
}
