// Checkpoints of the trainer on every device: a run resumed from a mid-epoch checkpoint, after a cancellation in the
// same trainer, or in a fresh trainer, ends bit for bit where the uninterrupted run ends (shuffling, dropout, batch
// norm, Adam, a per-step schedule, clipping, early stopping's best weights); the managed folder and its pruning.
using System;
using System.IO;
using System.Linq;
using System.Threading;
using Engine.Checkpoints;
using Engine.Data;
using Engine.Nn;
using Engine.Optim;
using Engine.Optim.Schedules;
using Engine.Tests.Data;
using Engine.Tests.Infrastructure;
using Engine.Training;
using NUnit.Framework;
using static Engine.Tests.Training.TrainingTestUtil;

namespace Engine.Tests.Training;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class ResumeTests(DeviceConfig config)
{
    private static readonly InMemoryDataset Train = Blobs(12, 4, 3, seed: 11, spread: 0.9f);   // 3 batches of 4
    private static readonly InMemoryDataset Val = Blobs(6, 4, 3, seed: 12, spread: 0.9f, shuffleLabels: true);   // its loss rises: early stopping keeps epoch 1

    private Device Dev => TestDevices.Get(config);

    [Test]
    public void Resumed_runs_end_bit_for_bit_like_the_uninterrupted_run()
    {
        // The uninterrupted run, saving a checkpoint in the middle of epoch 2.
        using var dir = new TempDir();
        using var a = new Run(Dev, seed: 1, new CheckpointOptions { Directory = dir.Path, EverySteps = 4, EveryEpochs = 0, AtEnd = false, Keep = 0 });
        var ra = a.Trainer.Fit(Train, Val);
        Assert.That(ra.Steps, Is.EqualTo(6));
        Assert.That((ra.BestEpoch, ra.RestoredBestWeights), Is.EqualTo((1, true)), "the best weights come back from the .best file after a resume");
        var saved = Directory.GetFiles(dir.Path, "ckpt-*.safetensors").Where(f => !f.Contains(".train.", StringComparison.Ordinal)).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.That(saved, Is.EqualTo(new[] { "ckpt-000001-e0001-s000000004.best.safetensors", "ckpt-000001-e0001-s000000004.safetensors" }));

        // A fresh model, optimizer, schedule and trainer (other initial weights) loaded from it.
        using var b = new Run(Dev, seed: 77, null);
        b.Trainer.LoadCheckpoint(Path.Combine(dir.Path, "ckpt-000001-e0001-s000000004.safetensors"));
        Assert.That((b.Trainer.Epoch, b.Trainer.BatchInEpoch, b.Trainer.StepCount), Is.EqualTo((1, 1, 4L)));
        Assert.That(b.Trainer.History, Has.Count.EqualTo(1));
        AssertSameRun(b, b.Trainer.Fit(Train, Val), a, ra);

        // Cancelled after step 2 (mid-epoch 1): the end checkpoint, then the same trainer continues.
        using var cdir = new TempDir();
        using var c = new Run(Dev, seed: 1, new CheckpointOptions { Directory = cdir.Path, EveryEpochs = 0, AtEnd = true });
        using var cts = new CancellationTokenSource();
        var progress = new ListProgress<TrainingProgress>(p =>
        {
            if (p.Step == 2 && p.Phase == TrainingPhase.Training)
            {
                cts.Cancel();
            }
        });
        var cancelled = c.Trainer.Fit(Train, Val, progress, cts.Token);
        Assert.That(cancelled.Reason, Is.EqualTo(StopReason.Cancelled));
        Assert.That((c.Trainer.Epoch, c.Trainer.BatchInEpoch, c.Trainer.StepCount), Is.EqualTo((0, 2, 2L)));
        Assert.That(c.Optimizer.StepCount, Is.EqualTo(2), "stopped between steps");
        string atCancel = c.Trainer.LastCheckpoint!;
        Assert.That(Path.GetFileName(atCancel), Is.EqualTo("ckpt-000001-e0000-s000000002.safetensors"));
        Assert.That(Trainer.FindLatestCheckpoint(cdir.Path), Is.EqualTo(atCancel));
        AssertSameRun(c, c.Trainer.Fit(Train, Val), a, ra);

        // A fresh trainer from the cancellation's checkpoint.
        using var d = new Run(Dev, seed: 5, null);
        d.Trainer.LoadCheckpoint(atCancel);
        AssertSameRun(d, d.Trainer.Fit(Train, Val), a, ra);
    }

    [Test]
    public void The_folder_keeps_the_newest_checkpoints_and_their_weights_load_as_a_state_dict()
    {
        using var dir = new TempDir();
        using var a = new Run(Dev, seed: 1, new CheckpointOptions { Directory = dir.Path, EveryEpochs = 1, Keep = 2 }, earlyStopping: false, epochs: 3, mode: GradientDescentMode.Batch);
        a.Trainer.Fit(Train, Val);
        var names = Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.That(names, Is.EqualTo(new[]
        {
            "ckpt-000002-e0002-s000000002.safetensors", "ckpt-000002-e0002-s000000002.train.safetensors",
            "ckpt-000003-e0003-s000000003.safetensors", "ckpt-000003-e0003-s000000003.train.safetensors", "latest",
        }), "epoch 3's save is also the end: saved once; epoch 1's pruned");
        Assert.That(File.ReadAllText(Path.Combine(dir.Path, "latest")), Is.EqualTo("ckpt-000003-e0003-s000000003.safetensors"));

        // The weights file is a plain state dict (PyTorch's load_state_dict reads it): parameters and running statistics.
        var file = SafeTensorsFile.Read(Path.Combine(dir.Path, "ckpt-000003-e0003-s000000003.safetensors"));
        Assert.That(file.Tensors.Select(t => t.Name), Is.EquivalentTo(new[] { "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "4.weight", "4.bias" }));
        Assert.That(file.ReadFloat32("4.weight"), Is.EqualTo(a.Net.Parameters["4.weight"].Value.ToArray()));

        using var b = new Run(Dev, seed: 3, null, earlyStopping: false);
        Assert.That(() => b.Trainer.LoadCheckpoint(Path.Combine(dir.Path, "nothing")), Throws.InstanceOf<FileNotFoundException>());
        using var empty = new TempDir();
        Assert.That(() => b.Trainer.LoadCheckpoint(empty.Path), Throws.InstanceOf<FileNotFoundException>().With.Message.Contains("No checkpoint in"));
        Assert.That(Trainer.FindLatestCheckpoint(empty.Path), Is.Null);
    }

    [Test]
    public void Resuming_mid_epoch_with_other_data_settings_is_refused()
    {
        using var dir = new TempDir();
        using var a = new Run(Dev, seed: 1, new CheckpointOptions { Directory = dir.Path, EverySteps = 2, EveryEpochs = 0, AtEnd = false, Keep = 0 }, epochs: 1);
        a.Trainer.Fit(Train, Val);
        using var b = new Run(Dev, seed: 1, null, batchSize: 5);
        b.Trainer.LoadCheckpoint(Path.Combine(dir.Path, "ckpt-000001-e0000-s000000002.safetensors"));
        Assert.That(() => b.Trainer.Fit(Train, Val), Throws.InvalidOperationException.With.Message.Contains("in the middle of epoch 1").And.Message.Contains("BatchSize = 4"));
    }

    private static void AssertSameRun(Run got, TrainingResult gr, Run want, TrainingResult wr)
    {
        AssertBitwise(State(got.Net), State(want.Net), "parameters and running statistics");
        foreach (var name in want.Optimizer.StateNames)
        {
            AssertBitwise(got.Optimizer.GetState(name).ToArray(), want.Optimizer.GetState(name).ToArray(), "optimizer state " + name);
        }

        Assert.That(got.Optimizer.Groups[0].LR, Is.EqualTo(want.Optimizer.Groups[0].LR));
        Assert.That((gr.Reason, gr.Steps, gr.BestEpoch, gr.BestMetric, gr.RestoredBestWeights), Is.EqualTo((wr.Reason, wr.Steps, wr.BestEpoch, wr.BestMetric, wr.RestoredBestWeights)));
        Assert.That(gr.History.Select(h => (h.Epoch, h.TrainLoss, h.TrainAccuracy, h.ValidationLoss, h.ValidationAccuracy, h.LearningRate, h.Steps)),
            Is.EqualTo(wr.History.Select(h => (h.Epoch, h.TrainLoss, h.TrainAccuracy, h.ValidationLoss, h.ValidationAccuracy, h.LearningRate, h.Steps))));
    }

    /// <summary>Linear(4, 16), BatchNorm1d, ReLU, Dropout(0.3), Linear(16, 3); Adam, a per-step exponential schedule, clipping, early stopping.</summary>
    private sealed class Run : IDisposable
    {
        public Run(Device dev, int seed, CheckpointOptions? checkpoints, bool earlyStopping = true, int batchSize = 4, int epochs = 2,
            GradientDescentMode mode = GradientDescentMode.MiniBatch)
        {
            Model = Mlp(4, 16, 3, batchNorm: true, dropout: 0.3f);
            Net = Model.Compile(dev, new Shape(batchSize, 4), Loss.CrossEntropy(), new CompileOptions { Seed = seed });
            Optimizer = new Adam(Net.Parameters, new AdamOptions { LR = 0.05 });
            Trainer = new Trainer(Net, Optimizer, new ExponentialLR(Optimizer, 0.97), new TrainingOptions
            {
                Epochs = epochs, Mode = mode, BatchSize = batchSize, Seed = 4, ScheduleStepping = ScheduleStepping.PerStep, ClipGradNorm = 0.5, Checkpoints = checkpoints,
                EarlyStopping = earlyStopping ? new EarlyStoppingOptions { Monitor = TrainingMetric.ValidationLoss, Patience = 5 } : null,
            });
        }

        public Sequential Model { get; }

        public CompiledModel Net { get; }

        public Adam Optimizer { get; }

        public Trainer Trainer { get; }

        public void Dispose()
        {
            Trainer.Dispose();
            Optimizer.Dispose();
            Net.Dispose();
            Model.Dispose();
        }
    }
}
