// Weights and training checkpoints: round trips, exact resumption, and mismatch messages that list every difference.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Engine.Checkpoints;
using Engine.Nn;
using Engine.Optim;
using Engine.Optim.Schedules;
using Engine.Tests.Infrastructure;
using Engine.Tests.Optim;
using NUnit.Framework;

namespace Engine.Tests.Checkpoints;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class CheckpointTests(DeviceConfig config)
{
    private string dir = string.Empty;

    private Device Dev => TestDevices.Get(config);

    [SetUp]
    public void MakeDir()
    {
        dir = Path.Combine(Path.GetTempPath(), "engine-ckpt-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
    }

    [TearDown]
    public void RemoveDir() => Directory.Delete(dir, recursive: true);

    private ParameterSet Model(int hidden = 40)
    {
        var set = ParameterSet.Create(Dev, [
            ("0.weight", new Shape(hidden, 30), ParameterRole.Weight), ("0.bias", new Shape(hidden), ParameterRole.Bias),
            ("1.weight", new Shape(hidden), ParameterRole.NormScale), ("1.bias", new Shape(hidden), ParameterRole.NormShift),
            ("2.weight", new Shape(5, hidden), ParameterRole.Weight)]);
        set.Values.CopyFrom(HostMath.Random((int)set.TotalLength, 9));
        return set;
    }

    [Test]
    public void Weights_and_buffers_round_trip()
    {
        string path = Path.Combine(dir, "m.safetensors");
        using var a = Model();
        using var mean = Tensor.FromHost(Dev, HostMath.Random(40, 4), new Shape(40));
        Checkpoint.SaveWeights(path, a, [new("1.running_mean", mean)], new Dictionary<string, string> { ["epoch"] = "3" });
        using var b = Model();
        b.Values.Fill(0f);
        using var mean2 = Tensor.Zeros(Dev, new Shape(40));
        var meta = Checkpoint.LoadWeights(path, b, [new("1.running_mean", mean2)]);
        Assert.That(b.Values.ToArray(), Is.EqualTo(a.Values.ToArray()));
        Assert.That(mean2.ToArray(), Is.EqualTo(mean.ToArray()));
        Assert.That(meta["epoch"], Is.EqualTo("3"));
        Assert.That(meta["format"], Is.EqualTo("pt"));
    }

    [Test]
    public void Loading_lists_every_missing_unexpected_and_misshapen_name()
    {
        string path = Path.Combine(dir, "m.safetensors");
        using var a = Model();
        Checkpoint.SaveWeights(path, a);
        using var b = ParameterSet.Create(Dev, [
            ("0.weight", new Shape(30, 40), ParameterRole.Weight), ("0.bias", new Shape(40), ParameterRole.Bias),
            ("3.weight", new Shape(5), ParameterRole.Weight)]);
        b.Values.Fill(7f);
        var ex = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.LoadWeights(path, b));
        Assert.That(ex!.Message, Does.Contain("5 problems")
            .And.Contain("shape: '0.weight' is [40, 30] in the file, [30, 40] in the model")
            .And.Contain("missing: '3.weight' [5] is not in the file")
            .And.Contain("unexpected: '1.weight' F32 [40] is in the file but not in the model")
            .And.Contain("unexpected: '1.bias'")
            .And.Contain("unexpected: '2.weight'"));
        Assert.That(b.Values.ToArray(), Is.All.EqualTo(7f), "nothing is written when anything differs");

        var ex2 = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.LoadWeights(path, b, strict: false));
        Assert.That(ex2!.Message, Does.Contain("1 problem").And.Contain("shape: '0.weight'"));
        using var c = ParameterSet.Create(Dev, [("0.bias", new Shape(40), ParameterRole.Bias), ("9.x", new Shape(2), ParameterRole.Bias)]);
        Checkpoint.LoadWeights(path, c, strict: false);
        Assert.That(c["0.bias"].Value.ToArray(), Is.EqualTo(a["0.bias"].Value.ToArray()));
    }

    private static void Train(ParameterSet set, Optimizer opt, GradientClipper clip, SequentialLR sched, int from, int to)
    {
        for (int t = from; t < to; t++)
        {
            set.Grads.CopyFrom(HostMath.Random((int)set.TotalLength, 500 + t, -2f, 2f));
            clip.ClipByNorm(5.0);
            opt.Step();
            sched.Step();
        }
    }

    [TestCase("adam")]
    [TestCase("nadam")]
    [TestCase("sgd")]
    public void Training_resumes_bit_for_bit(string name)
    {
        string path = Path.Combine(dir, "ckpt.safetensors");
        using var a = Model();
        using var optA = OptimizerTests.Make(name, a);
        using var clipA = new GradientClipper(a);
        var schedA = LRSchedules.WarmupCosine(optA, 2, 8, 0.1);
        Train(a, optA, clipA, schedA, 0, 3);
        Checkpoint.SaveTraining(path, a, optA, schedA, step: 3, metadata: new Dictionary<string, string> { ["run"] = "r1" });
        Assert.That(File.Exists(Checkpoint.TrainingStatePath(path)), Is.True);
        Assert.That(Path.GetFileName(Checkpoint.TrainingStatePath(path)), Is.EqualTo("ckpt.train.safetensors"));
        Train(a, optA, clipA, schedA, 3, 6);

        using var b = Model();
        b.Values.Fill(0f);
        using var optB = OptimizerTests.Make(name, b);
        using var clipB = new GradientClipper(b);
        var schedB = LRSchedules.WarmupCosine(optB, 2, 8, 0.1);
        var info = Checkpoint.LoadTraining(path, b, optB, schedB);
        Assert.That(info.Step, Is.EqualTo(3));
        Assert.That(info.Metadata["run"], Is.EqualTo("r1"));
        Assert.That(optB.StepCount, Is.EqualTo(3));
        Train(b, optB, clipB, schedB, 3, 6);

        Assert.That(b.Values.ToArray(), Is.EqualTo(a.Values.ToArray()), "weights after resuming");
        foreach (var s in optA.StateNames)
        {
            Assert.That(optB.GetState(s).ToArray(), Is.EqualTo(optA.GetState(s).ToArray()), s);
        }

        foreach (var s in optA.ScalarStateNames)
        {
            Assert.That(optB.GetScalarState(s), Is.EqualTo(optA.GetScalarState(s)), s);
        }

        Assert.That(optB.Groups.Select(g => g.LR), Is.EqualTo(optA.Groups.Select(g => g.LR)), "learning rates");
        Assert.That(Directory.GetFiles(dir).Select(Path.GetFileName), Is.EquivalentTo(new[] { "ckpt.safetensors", "ckpt.train.safetensors" }));
    }

    [Test]
    public void Training_checkpoint_mismatches_are_reported()
    {
        string path = Path.Combine(dir, "ckpt.safetensors");
        using var a = Model();
        using var adam = new Adam(a, new AdamOptions { LR = 0.01 });
        a.Grads.Fill(0.5f);
        adam.Step();
        Checkpoint.SaveTraining(path, a, adam, step: 1);

        using var sgd = new Sgd(a, new SgdOptions { LR = 0.1, Momentum = 0.9 });
        var ex = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.LoadTraining(path, a, sgd));
        Assert.That(ex!.Message, Does.Contain("for optimizer 'adam', but this optimizer is 'sgd'").And.Contain("no state of sgd"));

        using var grouped = new Adam(a, new AdamOptions { LR = 0.01 }, ParamGroups.NoDecayForBiasAndNorm(a, new AdamOptions()));
        var ex2 = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.LoadTraining(path, a, grouped));
        Assert.That(ex2!.Message, Does.Contain("param groups are [default] in the file, [default, no_decay] in the optimizer"));

        Assert.That(() => Checkpoint.LoadTraining(path, a, adam, new StepLR(adam, 2)),
            Throws.InstanceOf<CheckpointMismatchException>().With.Message.Contain("holds no scheduler state"));

        // Weights from another save: the checkpoint ids differ.
        string other = Path.Combine(dir, "other.safetensors");
        Checkpoint.SaveTraining(other, a, adam, step: 2);
        File.Copy(other, path, overwrite: true);
        var ex3 = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.LoadTraining(path, a, adam));
        Assert.That(ex3!.Message, Does.Contain("the weights belong to checkpoint"));

        File.Delete(Checkpoint.TrainingStatePath(path));
        Assert.That(() => Checkpoint.LoadTraining(path, a, adam), Throws.InstanceOf<FileNotFoundException>().With.Message.Contain("ckpt.train.safetensors"));
    }
}
