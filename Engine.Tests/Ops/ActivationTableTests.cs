// The activation table is the one list of activations: every elementwise row has a double reference and PyTorch
// fixtures (with NaN and infinities), names and parsing come from it, and an unknown name or choice throws.
using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Engine.Conformance;
using Engine.Ops;
using Engine.Tests.Conformance;
using NUnit.Framework;

namespace Engine.Tests.Ops;

public sealed class ActivationTableTests
{
    [Test]
    public void Every_elementwise_row_has_a_double_reference()
    {
        Assert.That(ActivationReference.Missing(), Is.Empty, "add these to Engine.Tests/Ops/ActivationReference.cs");
    }

    [Test]
    public void Every_row_has_pytorch_fixtures_including_nan_and_infinities()
    {
        var cases = ConformanceRunner.Load(Path.Combine(FixtureTests.FixtureDir, "activations.json"));
        foreach (var r in ActivationTable.All)
        {
            var mine = cases.Where(c => c.Op == r.Name && (r.ChoiceParameter is null || (c.Params.Json[r.ChoiceParameter]?.GetValue<string>() ?? "none") == r.ChoiceValue)).ToList();
            Assert.That(mine, Is.Not.Empty, $"{r.Key} has no case in activations.json; add a line to scripts/fixtures/activations.py");
            if (r.IsElementwise)
            {
                var x = mine.SelectMany(c => c.Inputs["x"].Data).ToList();
                Assert.That(x.Any(double.IsNaN) && x.Contains(double.PositiveInfinity) && x.Contains(double.NegativeInfinity), Is.True, $"{r.Key}: no NaN/inf inputs");
            }
        }
    }

    [Test]
    public void Names_and_rows_come_from_the_operator_structs()
    {
        Assert.That(ActivationTable.Names, Is.EqualTo(ActivationTable.Names.Order(StringComparer.Ordinal)));
        Assert.That(ActivationTable.Names, Is.SupersetOf(new[] { "elu", "gelu", "hardswish", "leaky_relu", "log_softmax", "maxout", "mish", "relu", "sigmoid", "softmax", "softplus", "swish", "tanh" }));
        Assert.That(ActivationTable.All.Select(r => r.Key), Is.Unique);
        var gelu = ActivationTable.All.Where(r => r.Name == "gelu").ToList();
        Assert.That(gelu.Select(r => (r.Key, r.ChoiceValue, r.IsDefaultChoice)), Is.EqualTo(new[] { ("gelu", "none", true), ("gelu_tanh", "tanh", false) }));
        Assert.That(ActivationTable.Of<Engine.Kernels.Activations.MishOp>().Name, Is.EqualTo("mish"));
        foreach (var r in ActivationTable.All.Where(r => r.IsElementwise))
        {
            Assert.That(r.ForwardRegistry!.Op, Is.EqualTo(r.Key));
            Assert.That(r.BackwardRegistry!.Op, Is.EqualTo(r.Key + "_backward"));
            Assert.That(r.Forward, Is.Not.Empty, r.Key);
            Assert.That(r.Backward, Is.Not.Empty, r.Key);
        }
    }

    [Test]
    public void Kernel_tanh_is_accurate_to_about_one_float_ulp_in_both_forms()
    {
        // The kernels' tanh (not XMath.Tanh, which is tanh.approx.f32 on CUDA): polynomial below 0.625, exp form above.
        double worst = 0;
        var xs = new float[System.Numerics.Vector<float>.Count];
        for (double x = -12; x <= 12; x += 1.0 / 4096)
        {
            float f = (float)x;
            double want = Math.Tanh(f);
            double got = Engine.Kernels.Activations.ActivationMath.Tanh(f);
            xs[0] = f;
            double vec = Engine.Kernels.Activations.ActivationMath.Tanh(new System.Numerics.Vector<float>(xs))[0];
            double scale = Math.Max(Math.Abs(want), 1e-30);
            worst = Math.Max(worst, Math.Max(Math.Abs(got - want), Math.Abs(vec - want)) / scale);
        }

        Assert.That(worst, Is.LessThan(2.5e-7), "relative error of ActivationMath.Tanh against double");
        Assert.That(Engine.Kernels.Activations.ActivationMath.Tanh(1e-20f), Is.EqualTo(1e-20f));
        Assert.That(Engine.Kernels.Activations.ActivationMath.Tanh(float.PositiveInfinity), Is.EqualTo(1f));
        Assert.That(Engine.Kernels.Activations.ActivationMath.Tanh(-100f), Is.EqualTo(-1f));
        Assert.That(float.IsNaN(Engine.Kernels.Activations.ActivationMath.Tanh(float.NaN)), Is.True);
    }

    [Test]
    public void Host_vector_exp_is_accurate_and_keeps_nan_and_the_infinities()
    {
        double worst = 0;
        var xs = new float[System.Numerics.Vector<float>.Count];
        for (double x = -86.5; x <= 88.72; x += 1.0 / 512)
        {
            xs[0] = (float)x;
            double got = Engine.Kernels.Activations.ActivationMath.Exp(new System.Numerics.Vector<float>(xs))[0];
            double want = Math.Exp(xs[0]);
            worst = Math.Max(worst, Math.Abs(got - want) / want);
        }

        Assert.That(worst, Is.LessThan(2.5e-7), "relative error of ActivationMath.Exp against double");
        float[] special = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 88.8f, 88.72f, -100f, 0f];
        for (int i = 0; i < special.Length; i++)
        {
            xs[0] = special[i];
            float got = Engine.Kernels.Activations.ActivationMath.Exp(new System.Numerics.Vector<float>(xs))[0];
            float want = MathF.Exp(special[i]);
            Assert.That(got, special[i] == -100f ? Is.EqualTo(0f) : Is.EqualTo(want).Within(2e-5).Percent, $"exp({special[i]})");
        }
    }

    [Test]
    public void Unknown_names_and_choices_throw()
    {
        Assert.That(() => ActivationTable.Parse("relu6", new OpParams([])), Throws.ArgumentException.With.Message.Contain("not an activation").And.Message.Contain("hardswish"));
        Assert.That(() => ActivationTable.FromJson(new JsonObject { ["type"] = "gelu", ["approximate"] = "erf" }), Throws.ArgumentException.With.Message.Contain("\"none\" or \"tanh\""));
        Assert.That(() => ActivationTable.Parse("elu", new CaseParams(new JsonObject { ["alpha"] = "one" })), Throws.Exception);
    }
}
