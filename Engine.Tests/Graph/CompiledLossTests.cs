// The losses that only exist as a compiled model's loss: dice + cross-entropy against its PyTorch fixture, and the
// triplet loss over stacked (anchor, positive, negative) rows against Losses.TripletForward on the thirds.
using System;
using System.IO;
using System.Linq;
using Engine.Conformance;
using Engine.Nn;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Graph;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class CompiledLossTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    [Test]
    public void Dice_cross_entropy_matches_pytorch()
    {
        var cases = ConformanceRunner.Load(Path.Combine(AppContext.BaseDirectory, "Fixtures", "segmentation", "dice_cross_entropy.json"));
        Assert.That(cases, Has.Count.EqualTo(3));
        foreach (var c in cases)
        {
            var pred = c.Input("pred");
            var target = c.Input("target");
            var loss = Loss.DiceCrossEntropy((float)c.Params.Number("dice_weight", 1), (float)c.Params.Number("eps", 1e-6));
            var shape = pred.ToShape();
            using var model = new Sequential(new Identity());
            using var net = model.Compile(Dev, shape, loss, new CompileOptions { InputGradients = true });
            net.Forward(pred.ToFloat(), target.ToFloat());
            net.Backward();
            float want = (float)c.Outputs["loss"].Data[0];
            Assert.That(net.ReadLoss(), Is.EqualTo(want).Within(1e-4 + (1e-3 * Math.Abs(want))), c.Label);
            var dpred = net.InputGrad()!.ToArray();
            var wantGrad = c.Outputs["dpred"].Data;
            for (int i = 0; i < dpred.Length; i++)
            {
                Assert.That(dpred[i], Is.EqualTo(wantGrad[i]).Within(1e-4 + (1e-3 * Math.Abs(wantGrad[i]))), $"{c.Label}: dpred[{i}]");
            }
        }
    }

    [Test]
    public void The_triplet_loss_splits_its_prediction_into_thirds()
    {
        const int n = 4, d = 3;
        var x = Enumerable.Range(0, 3 * n * d).Select(i => (float)Math.Sin(i * 0.7)).ToArray();
        using var model = new Sequential(new Identity());
        using var net = model.Compile(Dev, new Shape(3 * n, d), Loss.Triplet(margin: 0.8f), new CompileOptions { InputGradients = true });
        Assert.That(net.Target!.Shape, Is.EqualTo(new Shape(3 * n)), "the rows' labels");
        net.Forward(x, new float[3 * n]);
        net.Backward();

        var spec = LossSpec.Triplet(margin: 0.8f);
        using var a = Tensor.FromHost(Dev, x.AsSpan(0, n * d), new Shape(n, d));
        using var p = Tensor.FromHost(Dev, x.AsSpan(n * d, n * d), new Shape(n, d));
        using var q = Tensor.FromHost(Dev, x.AsSpan(2 * n * d, n * d), new Shape(n, d));
        using var loss = Tensor.Empty(Dev, new Shape(1));
        using var da = Tensor.Empty(Dev, a.Shape);
        using var dp = Tensor.Empty(Dev, a.Shape);
        using var dq = Tensor.Empty(Dev, a.Shape);
        Losses.TripletForward(spec, a, p, q, loss);
        Losses.TripletBackward(spec, a, p, q, da, dp, dq);
        Assert.That(net.ReadLoss(), Is.EqualTo(loss.ToArray()[0]));
        Assert.That(net.InputGrad()!.ToArray(), Is.EqualTo(da.ToArray().Concat(dp.ToArray()).Concat(dq.ToArray()).ToArray()));
        Assert.That(() => model.Compile(Dev, new Shape(4, d), Loss.Triplet()), Throws.InstanceOf<ShapeMismatchException>().With.Message.Contain("expected embeddings (3N, D)"));
    }
}
