// Divergence on every device: NaN in the loss or infinity in the gradients stops training with the step and epoch
// named and the update not applied; the debug mode names the first node; checkpoints already written survive.
using System;
using System.IO;
using System.Linq;
using Engine.Data;
using Engine.Nn;
using Engine.Optim;
using Engine.Tests.Data;
using Engine.Tests.Infrastructure;
using Engine.Training;
using NUnit.Framework;
using static Engine.Tests.Training.TrainingTestUtil;

namespace Engine.Tests.Training;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class NonFiniteTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    /// <summary>Linear(4, 8), ReLU, Poison, Linear(8, 3): the poison is node '2'.</summary>
    private static Sequential Poisoned(long step, NodePhase phase) => Mlp(4, 8, 3, insert: new Poison(step, phase));

    [TestCase(NodePhase.Forward, false, false)]
    [TestCase(NodePhase.Forward, true, false)]
    [TestCase(NodePhase.Backward, false, false)]
    [TestCase(NodePhase.Backward, false, true)]
    [TestCase(NodePhase.Backward, true, false)]
    public void A_non_finite_step_stops_training_naming_the_step_and_epoch(NodePhase phase, bool debug, bool clip)
    {
        var train = Blobs(4, 4, 3, seed: 1);   // full batch: step 2 is epoch 2
        using var model = Poisoned(2, phase);
        using var net = model.Compile(Dev, new Shape(4, 4), Loss.CrossEntropy(), new CompileOptions { Seed = 1 });
        using var opt = new Sgd(net.Parameters, new SgdOptions { LR = 0.1 });
        float[]? afterStep1 = null;
        var progress = new ListProgress<TrainingProgress>(p => afterStep1 = p.Step == 1 && p.Phase == TrainingPhase.Training ? State(net) : afterStep1);
        var options = new TrainingOptions { Epochs = 3, Mode = GradientDescentMode.Batch, DebugNonFinite = debug, ClipGradNorm = clip ? 1.0 : null };
        using var trainer = new Trainer(net, opt, options: options);
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Fit(train, progress: progress))!;

        Assert.That((e.Step, e.Epoch, e.Batch), Is.EqualTo((2L, 2, 1)));
        Assert.That(e.Message, Does.StartWith("Training diverged at step 2 (epoch 2, batch 1 of 1): "));
        AssertBitwise(State(net), afterStep1!, "the parameters after step 1 (the failing update was not applied)");
        Assert.That(trainer.StepCount, Is.EqualTo(1));
        Assert.That(opt.StepCount, Is.EqualTo(1));
        if (!debug)
        {
            Assert.That(e.Node, Is.Null);
            Assert.That(e.What, Is.EqualTo(phase == NodePhase.Forward ? "loss" : "gradients"));
            Assert.That(e.Message, Does.Contain(phase == NodePhase.Forward ? "the loss is NaN" : "the gradients hold NaN or infinity"));
            return;
        }

        Assert.That(e.Node, Is.Not.Null);
        Assert.That((e.Node!.Node, e.Node.Phase, e.Node.Layer), Is.EqualTo(("2", phase, $"Poison(step 2, {phase})")));
        Assert.That(e.What, Is.EqualTo(phase == NodePhase.Forward ? "forward" : "backward"));
        if (phase == NodePhase.Forward)
        {
            Assert.That(e.Node.Position, Is.EqualTo(2), "the third node in forward order");
            Assert.That(e.Message, Does.Contain("First non-finite: Non-finite values in output 0 of node '2' (Poison(step 2, Forward)) in the forward pass (node 3 of that pass in execution order): 32 of 32 elements"));
        }
        else
        {
            Assert.That(e.Node.Tensor, Is.EqualTo("the gradient of input 0"));
            Assert.That(e.Message, Does.Contain("of node '2' (Poison(step 2, Backward)) in the backward pass"));
        }
    }

    [Test]
    public void Debug_mode_names_the_input_when_the_data_hold_NaN()
    {
        var f = Blobs(10, 4, 3, seed: 2);
        var features = f.Features.ToArray();
        features[(7 * 4) + 2] = float.NaN;
        var ds = new InMemoryDataset(features, f.Labels.ToArray(), new Shape(4), 3);
        using var model = Mlp(4, 8, 3);
        using var net = model.Compile(Dev, new Shape(8, 4), Loss.CrossEntropy(), new CompileOptions { Seed = 1 });
        using var opt = new Sgd(net.Parameters, new SgdOptions { LR = 0.1 });
        using var trainer = new Trainer(net, opt, options: new TrainingOptions { Epochs = 1, BatchSize = 5, Shuffle = false, DebugNonFinite = true });
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Fit(ds))!;
        Assert.That((e.Step, e.Batch), Is.EqualTo((2L, 2)));
        Assert.That((e.Node!.Node, e.Node.Position, e.Node.Count), Is.EqualTo(("input", -1, 1L)));
    }

    [Test]
    public void The_executor_checks_nothing_unless_asked()
    {
        using var model = Poisoned(1, NodePhase.Forward);
        using var net = model.Compile(Dev, new Shape(8, 4), Loss.CrossEntropy(), new CompileOptions { Seed = 1 });
        net.Training = true;
        net.Input.CopyFrom(HostMath.Random(32, 4));
        net.Target!.CopyFrom([0, 1, 2, 0, 1, 2, 0, 1]);
        Assert.That(net.CheckFinite, Is.False);
        net.Forward();
        Assert.That(float.IsNaN(net.ReadLoss()), Is.True, "off: NaN flows through");
        net.StepCount = 0;
        net.CheckFinite = true;
        var e = Assert.Throws<NonFiniteNodeException>(() => net.Forward())!;
        Assert.That((e.Node, e.Phase, e.Position), Is.EqualTo(("2", NodePhase.Forward, 2)));
        Assert.That(net.ForBatchSize(4).CheckFinite, Is.True, "plans for other batch sizes follow");
    }

    [Test]
    public void A_diverged_step_leaves_every_saved_checkpoint_intact()
    {
        using var dir = new TempDir();
        var train = Blobs(8, 4, 3, seed: 1);
        using var model = Poisoned(5, NodePhase.Forward);   // epoch 3, batch 1
        using var net = model.Compile(Dev, new Shape(4, 4), Loss.CrossEntropy(), new CompileOptions { Seed = 1 });
        using var opt = new Sgd(net.Parameters, new SgdOptions { LR = 0.1, Momentum = 0.9 });
        var ck = new CheckpointOptions { Directory = dir.Path, EveryEpochs = 1, Keep = 0 };
        using var trainer = new Trainer(net, opt, options: new TrainingOptions { Epochs = 4, BatchSize = 4, Checkpoints = ck });
        float[]? afterEpoch2 = null;
        var progress = new ListProgress<TrainingProgress>(p => afterEpoch2 = p.Phase == TrainingPhase.EpochEnd && p.Epoch == 2 ? State(net) : afterEpoch2);
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Fit(train, progress: progress))!;
        Assert.That((e.Step, e.Epoch), Is.EqualTo((5L, 3)));
        var files = Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.That(files, Is.EqualTo(new[]
        {
            "ckpt-000001-e0001-s000000002.safetensors", "ckpt-000001-e0001-s000000002.train.safetensors",
            "ckpt-000002-e0002-s000000004.safetensors", "ckpt-000002-e0002-s000000004.train.safetensors", "latest",
        }), "no checkpoint for the failing epoch, none at the end");
        Assert.That(e.Message, Does.Contain($"The last checkpoint, {Path.Combine(dir.Path, "ckpt-000002-e0002-s000000004.safetensors")}, is intact."));

        using var model2 = Mlp(4, 8, 3, insert: new Poison(-1, NodePhase.Forward));
        using var net2 = model2.Compile(Dev, new Shape(4, 4), Loss.CrossEntropy(), new CompileOptions { Seed = 99 });
        using var opt2 = new Sgd(net2.Parameters, new SgdOptions { LR = 0.1, Momentum = 0.9 });
        using var resumed = new Trainer(net2, opt2, options: new TrainingOptions { Epochs = 4, BatchSize = 4 });
        Assert.That(resumed.LoadCheckpoint(dir.Path), Does.EndWith("ckpt-000002-e0002-s000000004.safetensors"));
        AssertBitwise(State(net2), afterEpoch2!, "the checkpoint of epoch 2");
        Assert.That((resumed.Epoch, resumed.StepCount), Is.EqualTo((2, 4L)));
    }
}
