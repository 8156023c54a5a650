// Elementwise activations on every device and variant: double references at odd sizes, PyTorch's kinks,
// finite-difference gradients, in-place use, parsing and bad inputs.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using Engine.Conformance;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class ActivationTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    public static IEnumerable<TestCaseData> Specs() => ActivationReference.All().Select(s => new TestCaseData(s).SetArgDisplayNames(s.ToString()));

    private IEnumerable<string> Variants(ActivationSpec spec) => spec.Definition.ForwardRegistry!.Variants.Where(v => v.Path == Dev.Path).Select(v => v.Variant);

    private IEnumerable<string> BackwardVariants(ActivationSpec spec) => spec.Definition.BackwardRegistry!.Variants.Where(v => v.Path == Dev.Path).Select(v => v.Variant);

    [TestCaseSource(nameof(Specs))]
    public void Forward_and_backward_match_double_reference_at_odd_sizes(ActivationSpec spec)
    {
        foreach (int n in new[] { 1, 37, 1000, 4099 })
        {
            var xh = HostMath.Random(n, 7 + n, -6f, 6f);
            xh[0] = 0f;
            var gh = HostMath.Random(n, 11 + n);
            var wantY = xh.Select(v => ActivationReference.Forward(spec, v)).ToArray();
            var wantDx = xh.Select((v, i) => gh[i] * ActivationReference.Derivative(spec, v)).ToArray();
            using var x = Tensor.FromHost(Dev, xh, new Shape(n));
            using var g = Tensor.FromHost(Dev, gh, new Shape(n));
            using var y = Tensor.Empty(Dev, x.Shape);
            using var dx = Tensor.Empty(Dev, x.Shape);
            foreach (var v in Variants(spec))
            {
                Activations.Forward(spec, x, y, v);
                HostMath.AssertClose(y.ToArray(), wantY, 2e-6, 2e-5, $"{spec} y n={n} {v}");
            }

            foreach (var v in BackwardVariants(spec))
            {
                Activations.Backward(spec, x, y, g, dx, v);
                HostMath.AssertClose(dx.ToArray(), wantDx, 2e-6, 5e-5, $"{spec} dx n={n} {v}");
            }
        }
    }

    [TestCaseSource(nameof(Specs))]
    public void Backward_matches_finite_differences(ActivationSpec spec)
    {
        // Stay away from the kinks (finite differences are meaningless there), e.g. 0, softplus's threshold, hardswish's +-3.
        var kinks = ActivationReference.Kinks(spec).Append(0).ToArray();
        var xh = HostMath.Random(29, 5, -4f, 4f).Select(v => kinks.Any(k => Math.Abs(v - k) < 0.05) ? v + 0.1f : v).ToArray();
        var gh = HostMath.Random(29, 6);
        using var x = Tensor.FromHost(Dev, xh, new Shape(29));
        using var g = Tensor.FromHost(Dev, gh, new Shape(29));
        using var y = Tensor.Empty(Dev, x.Shape);
        using var dx = Tensor.Empty(Dev, x.Shape);
        spec.Forward(x, y);
        spec.Backward(x, y, g, dx);
        GradCheck.AssertMatches(dx.ToArray(), v => v.Select((e, i) => gh[i] * ActivationReference.Forward(spec, e)).Sum(), GradCheck.ToDouble(xh), spec.ToString(), 1e-5, 1e-3);
    }

    [Test]
    public void Derivatives_at_zero_are_pytorchs()
    {
        float[] zeros = [0f, -0f];
        (ActivationSpec Spec, float Want)[] kinks =
        [
            (ActivationSpec.Relu, 0f), (ActivationSpec.LeakyRelu(0.13f), 0.13f), (ActivationSpec.Elu(0.37f), 0.37f), (ActivationSpec.Elu(), 1f),
            (ActivationSpec.Gelu(), 0.5f), (ActivationSpec.Gelu(GeluApproximation.Tanh), 0.5f), (ActivationSpec.Swish(1.7f), 0.5f),
            (ActivationSpec.Softplus(2f, 3f), 0.5f), (ActivationSpec.Sigmoid, 0.25f), (ActivationSpec.Tanh, 1f),
            (ActivationSpec.Named("mish"), 0.6f), (ActivationSpec.Named("hardswish"), 0.5f),
        ];
        using var x = Tensor.FromHost(Dev, zeros, new Shape(2));
        using var g = Tensor.FromHost(Dev, [1f, 1f], new Shape(2));
        using var y = Tensor.Empty(Dev, x.Shape);
        using var dx = Tensor.Empty(Dev, x.Shape);
        foreach (var (spec, want) in kinks)
        {
            spec.Forward(x, y);
            spec.Backward(x, y, g, dx);
            Assert.That(dx.ToArray(), Is.EqualTo(new[] { want, want }).Within(1e-6), spec.ToString());
        }
    }

    [Test]
    public void Nan_gives_nan_and_infinities_give_pytorchs_values_on_every_path()
    {
        // Forward: NaN stays NaN for every activation (relu too, as torch.relu); the infinities as PyTorch.
        using var x = Tensor.FromHost(Dev, [float.NaN, float.PositiveInfinity, float.NegativeInfinity], new Shape(3));
        using var y = Tensor.Empty(Dev, x.Shape);
        foreach (var spec in ActivationReference.All())
        {
            foreach (var v in Variants(spec))
            {
                Activations.Forward(spec, x, y, v);
                Assert.That(float.IsNaN(y.ToArray()[0]), Is.True, $"{spec} {v}: f(NaN)");
            }
        }

        (string Op, float[] Want)[] infinities = [("relu", [float.PositiveInfinity, 0f]), ("tanh", [1f, -1f]), ("sigmoid", [1f, 0f]),
            ("mish", [float.PositiveInfinity, float.NaN]), ("hardswish", [float.PositiveInfinity, float.NaN]), ("elu", [float.PositiveInfinity, -1f])];
        foreach (var (op, want) in infinities)
        {
            ActivationSpec.Named(op).Forward(x, y);
            Assert.That(y.ToArray()[1..], Is.EqualTo(want), op);
        }
    }

    [Test]
    public void Hardswish_derivative_at_its_kinks_is_pytorchs()
    {
        // torch's scalar and CUDA kernels: x / 3 + 1/2 on [-3, 3] inclusive, 0 below, 1 above and at NaN.
        var spec = ActivationSpec.Named("hardswish");
        using var x = Tensor.FromHost(Dev, [-3f, 3f, -3.0001f, 3.0001f, float.NaN], new Shape(5));
        using var g = Tensor.FromHost(Dev, [1f, 1f, 1f, 1f, 1f], new Shape(5));
        using var y = Tensor.Empty(Dev, x.Shape);
        using var dx = Tensor.Empty(Dev, x.Shape);
        foreach (var v in BackwardVariants(spec))
        {
            Activations.Backward(spec, x, y, g, dx, v);
            Assert.That(dx.ToArray(), Is.EqualTo(new[] { -0.5f, 1.5f, 0f, 1f, 1f }).Within(1e-6), v);
        }
    }

    [Test]
    public void Softplus_is_linear_strictly_above_the_threshold()
    {
        var spec = ActivationSpec.Softplus(2f, 3f);
        using var x = Tensor.FromHost(Dev, [1.5f, 1.6f, 30f], new Shape(3));
        using var g = Tensor.FromHost(Dev, [1f, 1f, 1f], new Shape(3));
        using var y = Tensor.Empty(Dev, x.Shape);
        using var dx = Tensor.Empty(Dev, x.Shape);
        spec.Forward(x, y);
        spec.Backward(x, y, g, dx);
        Assert.That(y.ToArray()[0], Is.EqualTo(Math.Log(1 + Math.Exp(3.0)) / 2).Within(1e-6), "beta x == threshold is not above it");
        Assert.That(y.ToArray()[1..], Is.EqualTo(new[] { 1.6f, 30f }));
        Assert.That(dx.ToArray()[1..], Is.EqualTo(new[] { 1f, 1f }));
    }

    [Test]
    public void Works_in_place_and_on_any_shape()
    {
        var xh = HostMath.Random(2 * 3 * 5, 3, -3f, 3f);
        var spec = ActivationSpec.Gelu();
        using var x = Tensor.FromHost(Dev, xh, new Shape(2, 3, 5));
        spec.Forward(x, x);
        HostMath.AssertClose(x.ToArray(), xh.Select(v => ActivationReference.Forward(spec, v)).ToArray(), 2e-6, 2e-5, "in-place gelu");
    }

    [Test]
    public void Mismatched_shapes_are_rejected_with_both_shapes_named()
    {
        using var x = Tensor.Zeros(Dev, new Shape(3, 4));
        using var y = Tensor.Zeros(Dev, new Shape(4, 3));
        var ex = Assert.Throws<ArgumentException>(() => Activations.Forward(ActivationSpec.Relu, x, y));
        Assert.That(ex!.Message, Does.Contain("relu").And.Contain("[4, 3]").And.Contain("[3, 4]"));
        Assert.That(ex.ParamName, Is.EqualTo("y"));
        using var dx = Tensor.Zeros(Dev, new Shape(12));
        ex = Assert.Throws<ArgumentException>(() => Activations.Backward(ActivationSpec.Tanh, x, x, x, dx));
        Assert.That(ex!.ParamName, Is.EqualTo("dx"));
        Assert.That(() => Activations.Forward(ActivationSpec.Relu, x, x, "kernel.nope"), Throws.ArgumentException.With.Message.Contain("kernel.elementwise"));
    }

    [Test]
    public void Parses_conformance_names_and_sequential_layers()
    {
        Assert.That(ActivationTable.Parse("leaky_relu", new CaseParams(new JsonObject { ["alpha"] = 0.2 })), Is.EqualTo(ActivationSpec.LeakyRelu(0.2f)));
        Assert.That(ActivationTable.Parse("relu", new CaseParams(null)), Is.EqualTo(ActivationSpec.Relu));
        Assert.That(ActivationTable.Parse("gelu", new CaseParams(null)), Is.EqualTo(ActivationSpec.Gelu()));
        Assert.That(ActivationSpec.Named("hardswish").ToString(), Is.EqualTo("hardswish"));
        Assert.That(ActivationSpec.Softplus(2f, 3f).ToString(), Is.EqualTo("softplus(beta=2, threshold=3)"));
        Assert.That(ActivationTable.FromJson(new JsonObject { ["type"] = "gelu", ["approximate"] = "tanh" }), Is.EqualTo(ActivationSpec.Gelu(GeluApproximation.Tanh)));
        Assert.That(ActivationTable.FromJson(new JsonObject { ["type"] = "swish", ["beta"] = 1.0 }), Is.EqualTo(ActivationSpec.Swish()));
        var sm = ActivationTable.FromJson(new JsonObject { ["type"] = "log_softmax", ["axis"] = 1 });
        Assert.That(sm, Is.TypeOf<SoftmaxSpec>().With.Property("Axis").EqualTo(1).And.Property("Log").True);
        Assert.That(ActivationTable.FromJson(new JsonObject { ["type"] = "maxout", ["pieces"] = 3 }).OutputShape(new Shape(2, 9)), Is.EqualTo(new Shape(2, 3)));
        Assert.That(ActivationTable.FromJson(new JsonObject { ["type"] = "softplus" }), Is.EqualTo(ActivationSpec.Softplus(1f, 20f)));
        Assert.That(ActivationTable.IsActivation("elu") && !ActivationTable.IsActivation("linear"));
    }

    [Test]
    public void Bad_names_and_params_are_rejected()
    {
        Assert.That(() => ActivationTable.Parse("relu6", new CaseParams(null)), Throws.ArgumentException.With.Message.Contain("not an activation"));
        Assert.That(() => ActivationTable.FromJson(new JsonObject { ["type"] = "relu", ["alpha"] = 0.1 }), Throws.ArgumentException.With.Message.Contain("unknown param(s) alpha"));
        Assert.That(() => ActivationTable.FromJson(new JsonObject { ["type"] = "gelu", ["approximate"] = "erf" }), Throws.ArgumentException.With.Message.Contain("\"none\" or \"tanh\""));
        Assert.That(() => ActivationTable.FromJson(new JsonObject { ["alpha"] = 0.1 }), Throws.ArgumentException.With.Message.Contain("'type'"));
        Assert.That(() => ActivationTable.FromJson(new JsonObject { ["type"] = "maxout" }), Throws.ArgumentException.With.Message.Contain("pieces"));
        Assert.That(() => ActivationSpec.Softplus(0f), Throws.ArgumentException.With.Property("ParamName").EqualTo("beta"));
        Assert.That(() => ActivationSpec.Named("softmax"), Throws.ArgumentException.With.Message.Contain("not elementwise"));
        Assert.That(() => ActivationSpec.Named("mish", ("beta", 1.0)), Throws.ArgumentException.With.Message.Contain("unknown param(s) beta"));
        Assert.That(() => ActivationSpec.LeakyRelu(float.NaN), Throws.ArgumentException.With.Message.Contain("finite"));
    }
}
