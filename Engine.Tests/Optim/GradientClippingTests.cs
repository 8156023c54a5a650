// Gradient clipping against torch.nn.utils.clip_grad_norm_ / clip_grad_value_, and the non-finite detector.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Engine.Nn;
using Engine.Ops;
using Engine.Optim;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Optim;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class GradientClippingTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    public static IEnumerable<TestCaseData> Cases()
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "clip", "clip_grad.json")))!;
        int i = 0;
        foreach (var c in root["cases"]!.AsArray())
        {
            yield return new TestCaseData(i++).SetName($"clip[{i - 1:D2}] {c!["label"]}");
        }
    }

    private static JsonNode Case(int i) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "clip", "clip_grad.json")))!["cases"]![i]!;

    [TestCaseSource(nameof(Cases))]
    public void Matches_torch(int index)
    {
        var c = Case(index);
        var sizes = c["sizes"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray();
        var grads = c["grads"]!.AsArray().Select(x => (float)x!.GetValue<double>()).ToArray();
        var want = c["clipped"]!.AsArray().Select(x => x!.GetValue<double>()).ToArray();

        // A frozen parameter in the middle: excluded from the norm and left alone, as PyTorch skips grad-less tensors.
        var specs = sizes.Select((n, k) => ($"p{k}", new Shape(n), ParameterRole.Weight)).ToList();
        specs.Insert(1, ("frozen", new Shape(11), ParameterRole.Weight));
        using var set = ParameterSet.Create(Dev, specs);
        set["frozen"].RequiresGrad = false;
        var frozenGrad = Enumerable.Repeat(100f, 11).ToArray();
        set["frozen"].Grad.CopyFrom(frozenGrad);
        int o = 0;
        for (int k = 0; k < sizes.Length; k++)
        {
            set[$"p{k}"].Grad.CopyFrom(grads.AsSpan(o, sizes[k]));
            o += sizes[k];
        }

        using var clipper = new GradientClipper(set);
        if (c["kind"]!.GetValue<string>() == "norm")
        {
            string nt = c["norm_type"]!.ToJsonString();
            double normType = nt == "\"inf\"" ? double.PositiveInfinity : c["norm_type"]!.GetValue<double>();
            double total = clipper.ClipByNorm(c["max_norm"]!.GetValue<double>(), normType);
            Assert.That(total, Is.EqualTo(c["total_norm"]!.GetValue<double>()).Within(1e-5).Percent, "total norm");
        }
        else
        {
            clipper.ClipByValue(c["clip_value"]!.GetValue<double>());
        }

        var got = new List<float>();
        for (int k = 0; k < sizes.Length; k++)
        {
            got.AddRange(set[$"p{k}"].Grad.ToArray());
        }

        HostMath.AssertClose(got.ToArray(), want, 1e-6, 1e-5, $"{c["label"]} on {config}");
        Assert.That(set["frozen"].Grad.ToArray(), Is.EqualTo(frozenGrad), "frozen gradient untouched");
    }

    [Test]
    public void Norm_of_a_large_buffer_is_right_and_nan_propagates_like_torch()
    {
        // Several chunks with a tail; off the CPU simulator (slow at group barriers) 1,100,001 elements: 269 chunks,
        // more partials than the final group has threads.
        int n = config.ForceKernels ? 9_001 : 1_100_001;
        using var set = ParameterSet.Create(Dev, [("w", new Shape(n), ParameterRole.Weight)]);
        var g = HostMath.Random(n, 7);
        set.Grads.CopyFrom(g);
        double want = Math.Sqrt(g.Sum(x => (double)x * x));
        using var clipper = new GradientClipper(set);
        Assert.That(clipper.TotalNorm(), Is.EqualTo(want).Within(1e-4).Percent);
        Assert.That(clipper.TotalNorm(double.PositiveInfinity), Is.EqualTo(g.Max(Math.Abs)));
        Assert.That(clipper.TotalNorm(1), Is.EqualTo(g.Sum(x => Math.Abs((double)x))).Within(1e-4).Percent);
        double total = clipper.ClipByNorm(1.0);
        Assert.That(total, Is.EqualTo(want).Within(1e-4).Percent);
        Assert.That(clipper.TotalNorm(), Is.EqualTo(1.0).Within(1e-4).Percent, "norm after clipping");

        g[n / 3] = float.NaN;
        set.Grads.CopyFrom(g);
        Assert.That(clipper.ClipByNorm(1.0), Is.NaN);
        Assert.That(set.Grads.ToArray().Take(10), Is.All.NaN, "a NaN norm turns every gradient into NaN, as in PyTorch");
        Assert.That(clipper.TotalNorm(double.PositiveInfinity), Is.NaN);
    }

    [Test]
    public void Bad_arguments_are_rejected()
    {
        using var set = ParameterSet.Create(Dev, [("w", new Shape(3), ParameterRole.Weight)]);
        using var clipper = new GradientClipper(set);
        Assert.That(() => clipper.ClipByNorm(-1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("max_norm"));
        Assert.That(() => clipper.ClipByNorm(1, 0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("norm_type"));
        Assert.That(() => clipper.ClipByValue(double.NaN), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("clip_value"));
    }

    [TestCase(1)]
    [TestCase(37)]
    [TestCase(4097)]
    [TestCase(9_000)]
    [TestCase(1_100_003)]
    public void NonFinite_counts_nan_and_infinity(int n)
    {
        if (n > 100_000 && config.ForceKernels)
        {
            n = 12_289; // the CPU simulator is slow at group barriers; GPUs and the host path take the large size
        }

        var data = HostMath.Random(n, n);
        using var t = Tensor.FromHost(Dev, data, new Shape(n));
        Assert.That(NonFinite.Count(t), Is.Zero);
        Assert.That(NonFinite.Any(t), Is.False);
        data[n - 1] = float.NaN;
        data[0] = float.PositiveInfinity;
        data[n / 2] = float.NegativeInfinity;
        t.CopyFrom(data);
        long want = new HashSet<int> { 0, n / 2, n - 1 }.Count;
        Assert.That(NonFinite.Count(t), Is.EqualTo(want));
        var ex = Assert.Throws<NonFiniteException>(() => NonFinite.ThrowIfAny(t, "gradients", 42));
        Assert.That(ex!.Message, Does.Contain("gradients at step 42").And.Contain($"{want} of"));
        Assert.That(ex.Step, Is.EqualTo(42));
    }

    [Test]
    public void NonFinite_checks_a_parameter_set()
    {
        using var set = ParameterSet.Create(Dev, [("a", new Shape(5), ParameterRole.Weight), ("b", new Shape(3), ParameterRole.Bias)]);
        set.Values.Fill(1f);
        Assert.That(() => set.ThrowIfNonFinite(3), Throws.Nothing);
        set["b"].Grad.CopyFrom([0f, float.NaN, 0f]);
        Assert.That(() => set.ThrowIfNonFinite(3), Throws.InstanceOf<NonFiniteException>().With.Message.Contain("gradients at step 3: 1 of 8"));
    }
}
