// Bad inputs to the losses: wrong shapes, weights where none belong, out-of-range class indices and probabilities,
// bad params and names; each must fail before any launch with a message naming the argument and what was expected.
using System;
using System.Text.Json.Nodes;
using Engine.Conformance;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class LossValidationTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    [Test]
    public void Wrong_shapes_are_rejected_with_the_shapes_named()
    {
        using var p = Tensor.Zeros(Dev, new Shape(4, 3));
        using var t43 = Tensor.Zeros(Dev, new Shape(4, 3));
        using var t34 = Tensor.Zeros(Dev, new Shape(3, 4));
        using var t4 = Tensor.Zeros(Dev, new Shape(4));
        using var t5 = Tensor.Zeros(Dev, new Shape(5));
        using var loss = Tensor.Zeros(Dev, new Shape(1));
        using var loss2 = Tensor.Zeros(Dev, new Shape(2));
        Assert.That(() => Losses.Forward(LossSpec.Mse(), p, t34, loss), Throws.ArgumentException.With.Message.Contain("[3, 4]").And.Message.Contain("[4, 3]").And.Property("ParamName").EqualTo("target"));
        Assert.That(() => Losses.Forward(LossSpec.Mse(), p, t43, loss2), Throws.ArgumentException.With.Message.Contain("one element").And.Property("ParamName").EqualTo("loss"));
        Assert.That(() => Losses.Backward(LossSpec.Mse(), p, t43, t34), Throws.ArgumentException.With.Property("ParamName").EqualTo("dpred"));
        Assert.That(() => Losses.Forward(LossSpec.CrossEntropy(), p, t5, loss), Throws.ArgumentException.With.Message.Contain("class indices [4]").And.Property("ParamName").EqualTo("target"));
        Assert.That(() => Losses.Forward(LossSpec.CrossEntropy(CrossEntropyTarget.Probabilities), p, t4, loss), Throws.ArgumentException.With.Message.Contain("probabilities [4, 3]"));
        Assert.That(() => Losses.Forward(LossSpec.CrossEntropy(), t4, t4, loss), Throws.ArgumentException.With.Message.Contain("expected logits (N, C)").And.Property("ParamName").EqualTo("pred"));
        Assert.That(() => Losses.Forward(LossSpec.CrossEntropy(), p, t4, loss, t5), Throws.ArgumentException.With.Message.Contain("one weight per class, [3]").And.Property("ParamName").EqualTo("weight"));
        Assert.That(() => Losses.Forward(LossSpec.Mse(), p, t43, loss, t4), Throws.ArgumentException.With.Message.Contain("takes no class weight"));
        Assert.That(() => Losses.Forward(LossSpec.Dice(), t4, t4, loss), Throws.ArgumentException.With.Message.Contain("(N, C)"));
        Assert.That(() => Losses.Forward(LossSpec.Triplet(), p, t43, loss), Throws.ArgumentException.With.Message.Contain("TripletForward"));
        Assert.That(() => Losses.TripletForward(LossSpec.Mse(), p, t43, t43, loss), Throws.ArgumentException.With.Message.Contain("not the triplet loss"));
        Assert.That(() => Losses.TripletForward(LossSpec.Triplet(), p, t43, t34, loss), Throws.ArgumentException.With.Property("ParamName").EqualTo("negative"));
        Assert.That(() => Losses.TripletForward(LossSpec.Triplet(), t4, t4, t4, loss), Throws.ArgumentException.With.Message.Contain("(N, D)"));
        Assert.That(() => Losses.Backward(LossSpec.Mse(), p, t43, t43, gradLoss: loss2), Throws.ArgumentException.With.Property("ParamName").EqualTo("gradLoss"));
        Assert.That(() => Losses.Backward(LossSpec.Mse(), p, t43, t43, scale: float.NaN), Throws.ArgumentException.With.Property("ParamName").EqualTo("scale"));
    }

    [TestCase(-1f)]
    [TestCase(3f)]
    [TestCase(1.5f)]
    [TestCase(float.NaN)]
    public void Class_indices_out_of_range_are_rejected_or_poison_the_loss(float bad)
    {
        using var p = Tensor.FromHost(Dev, HostMath.Random(12, 1), new Shape(4, 3));
        using var t = Tensor.FromHost(Dev, [0f, 2f, bad, 1f], new Shape(4));
        using var loss = Tensor.Zeros(Dev, new Shape(1));
        using var dpred = Tensor.Zeros(Dev, p.Shape);
        if (Dev.IsHostMemory)
        {
            var ex = Assert.Throws<ArgumentException>(() => Losses.Forward(LossSpec.CrossEntropy(), p, t, loss));
            Assert.That(ex!.Message, Does.Contain("target[2]").And.Contain("[0, 3)"));
            Assert.That(ex.ParamName, Is.EqualTo("target"));
            Assert.That(() => Losses.Backward(LossSpec.CrossEntropy(), p, t, dpred), Throws.ArgumentException.With.Message.Contain("target[2]"));
        }
        else
        {
            // GPU data is not read back on the hot path: the bad row makes the loss NaN, and the explicit check throws.
            Losses.Forward(LossSpec.CrossEntropy(), p, t, loss);
            Assert.That(float.IsNaN(loss.ToArray()[0]), Is.True);
        }

        Assert.That(() => Losses.ValidateValues(LossSpec.CrossEntropy(), p, t), Throws.ArgumentException.With.Message.Contain("target[2]"));
    }

    [Test]
    public void Probabilities_outside_zero_one_are_rejected_on_host_readable_devices()
    {
        using var p = Tensor.FromHost(Dev, [0.2f, 1.5f, 0.1f, 0.3f], new Shape(2, 2));
        using var t = Tensor.FromHost(Dev, [0f, 1f, 1f, 0f], new Shape(2, 2));
        using var ok = Tensor.FromHost(Dev, [0.2f, 0.8f, 0.1f, 0.3f], new Shape(2, 2));
        using var badT = Tensor.FromHost(Dev, [0f, 2f, 1f, 0f], new Shape(2, 2));
        using var loss = Tensor.Zeros(Dev, new Shape(1));
        foreach (var spec in new[] { LossSpec.Bce(), LossSpec.Dice(), LossSpec.Iou(), LossSpec.Tversky() })
        {
            Assert.That(() => Losses.ValidateValues(spec, p, t), Throws.ArgumentException.With.Message.Contain("pred[1] = 1.5").And.Message.Contain("[0, 1]"), spec.ToString());
            if (Dev.IsHostMemory)
            {
                Assert.That(() => Losses.Forward(spec, p, t, loss), Throws.ArgumentException.With.Property("ParamName").EqualTo("pred"), spec.ToString());
            }
        }

        Assert.That(() => Losses.ValidateValues(LossSpec.Dice(), ok, badT), Throws.ArgumentException.With.Message.Contain("target[1] = 2"));
        Assert.That(() => Losses.ValidateValues(LossSpec.Bce(), ok, badT), Throws.Nothing, "bce targets are not range-checked (torch does not either)");
    }

    [Test]
    public void Parses_conformance_params_and_sequential_loss_objects()
    {
        var ce = LossSpec.FromJson((JsonObject)JsonNode.Parse("""{"op": "cross_entropy", "reduction": "sum", "target_kind": "probabilities", "label_smoothing": 0.1}""")!);
        Assert.That((ce.Op, ce.Reduction, ce.TargetKind, ce.LabelSmoothing), Is.EqualTo(("cross_entropy", LossReduction.Sum, CrossEntropyTarget.Probabilities, 0.1f)));
        var f = LossSpec.Parse("focal", new CaseParams(new JsonObject { ["gamma"] = 1.5, ["alpha"] = -1.0, ["reduction"] = "mean" }));
        Assert.That((f.Gamma, f.Alpha), Is.EqualTo((1.5f, -1f)));
        var tv = LossSpec.FromJson(new JsonObject { ["op"] = "tversky", ["alpha"] = 0.3, ["beta"] = 0.7, ["eps"] = 1 });
        Assert.That((tv.Alpha, tv.Beta, tv.Eps), Is.EqualTo((0.3f, 0.7f, 1f)));
        var tr = LossSpec.FromJson(new JsonObject { ["op"] = "triplet", ["margin"] = 0.5, ["p"] = 1 });
        Assert.That((tr.IsTriplet, tr.Margin, tr.P, tr.Reduction), Is.EqualTo((true, 0.5f, 1f, LossReduction.Mean)));
        Assert.That(LossSpec.Parse("huber", new CaseParams(null)).Delta, Is.EqualTo(1f));
        foreach (var op in LossSpec.Ops)
        {
            Assert.That(LossSpec.Parse(op, new CaseParams(null)).Op, Is.EqualTo(op));
        }
    }

    [Test]
    public void Bad_loss_names_and_params_are_rejected()
    {
        Assert.That(() => LossSpec.Parse("nll", new CaseParams(null)), Throws.ArgumentException.With.Message.Contain("not a loss"));
        Assert.That(() => LossSpec.Parse("mse", new CaseParams(new JsonObject { ["reduction"] = "none" })), Throws.ArgumentException.With.Message.Contain("\"mean\" or \"sum\""));
        Assert.That(() => LossSpec.Parse("cross_entropy", new CaseParams(new JsonObject { ["target_kind"] = "onehot" })), Throws.ArgumentException.With.Message.Contain("target_kind"));
        Assert.That(() => LossSpec.FromJson(new JsonObject { ["op"] = "mse", ["delta"] = 1.0 }), Throws.ArgumentException.With.Message.Contain("unknown param(s) delta"));
        Assert.That(() => LossSpec.FromJson(new JsonObject { ["reduction"] = "mean" }), Throws.ArgumentException.With.Message.Contain("'op'"));
        Assert.That(() => LossSpec.CrossEntropy(labelSmoothing: 1.5f), Throws.ArgumentException.With.Message.Contain("[0, 1]"));
        Assert.That(() => LossSpec.Huber(0f), Throws.ArgumentException.With.Property("ParamName").EqualTo("delta"));
        Assert.That(() => LossSpec.SmoothL1(-1f), Throws.ArgumentException.With.Property("ParamName").EqualTo("beta"));
        Assert.That(() => LossSpec.Triplet(p: 0f), Throws.ArgumentException.With.Property("ParamName").EqualTo("p"));
        Assert.That(() => LossSpec.Dice(float.NaN), Throws.ArgumentException.With.Message.Contain("finite"));
    }
}
