// The training loop on every device: batch, mini-batch and online gradient descent equal hand-written loops bit for
// bit, a model learns, evaluation, metrics, progress and logging, schedule stepping and clipping.
using System;
using System.Linq;
using Engine.Data;
using Engine.Nn;
using Engine.Optim;
using Engine.Optim.Schedules;
using Engine.Tests.Infrastructure;
using Engine.Training;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using static Engine.Tests.Training.TrainingTestUtil;

namespace Engine.Tests.Training;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class TrainerTests(DeviceConfig config)
{
    private const int Features = 4;
    private const int Classes = 3;

    private Device Dev => TestDevices.Get(config);

    private static CompiledModel Compile(Device dev, Module model, int batch = 8, int seed = 3) =>
        model.Compile(dev, new Shape(batch, Features), Loss.CrossEntropy(), new CompileOptions { Seed = seed });

    /// <summary>The loop the trainer must equal: the host loader's batches, ForwardBackward, optional clipping, Step.</summary>
    private float[] HandWritten(InMemoryDataset ds, int batch, int epochs, long seed, double? clipNorm, float dropout)
    {
        using var model = Mlp(Features, 8, Classes, dropout: dropout);
        using var net = Compile(Dev, model);
        using var opt = new Sgd(net.Parameters, new SgdOptions { LR = 0.05, Momentum = 0.9 });
        using var clip = new GradientClipper(net.Parameters);
        using var loader = new DataLoader(ds, new DataLoaderOptions { BatchSize = batch, Seed = seed, Prefetch = false });
        long step = 0;
        for (int e = 0; e < epochs; e++)
        {
            foreach (var b in loader.Epoch(e))
            {
                var plan = net.ForBatchSize(b.Count);
                plan.StepCount = step;   // the documented dropout stream: (seed, step, node)
                plan.ForwardBackward(b.FeatureSpan, b.LabelSpan);
                if (clipNorm is { } c)
                {
                    clip.ClipByNorm(c);
                }

                opt.Step();
                step++;
            }
        }

        return State(net);
    }

    [TestCase(GradientDescentMode.Batch, 2, 1, null)]
    [TestCase(GradientDescentMode.MiniBatch, 2, 2, null)]
    [TestCase(GradientDescentMode.MiniBatch, 1, 2, 0.05)]
    [TestCase(GradientDescentMode.Online, 1, 5, null)]
    public void Each_gradient_descent_mode_equals_the_hand_written_loop(GradientDescentMode mode, int epochs, int stepsPerEpoch, double? clip)
    {
        var ds = Blobs(5, Features, Classes, seed: 1);   // mini-batches of 3: a full batch and a partial one
        int batch = mode switch { GradientDescentMode.Batch => 5, GradientDescentMode.Online => 1, _ => 3 };
        var want = HandWritten(ds, batch, epochs, seed: 5, clip, dropout: 0.25f);

        using var model = Mlp(Features, 8, Classes, dropout: 0.25f);
        using var net = Compile(Dev, model);
        using var opt = new Sgd(net.Parameters, new SgdOptions { LR = 0.05, Momentum = 0.9 });
        using var trainer = new Trainer(net, opt, options: new TrainingOptions { Epochs = epochs, Mode = mode, BatchSize = 3, Seed = 5, ClipGradNorm = clip });
        var r = trainer.Fit(ds);
        Assert.That(r.Reason, Is.EqualTo(StopReason.Completed));
        Assert.That(r.Steps, Is.EqualTo(epochs * stepsPerEpoch));
        Assert.That(r.History.Select(h => h.Steps), Is.All.EqualTo(stepsPerEpoch));
        Assert.That(trainer.Epoch, Is.EqualTo(epochs));
        AssertBitwise(State(net), want, $"{mode} parameters after {epochs} epochs");
    }

    [Test]
    public void A_model_learns_separable_blobs_and_metrics_follow()
    {
        var train = Blobs(32, Features, Classes, seed: 2);
        var val = Blobs(24, Features, Classes, seed: 3);
        using var model = Mlp(Features, 16, Classes, batchNorm: true);
        using var net = Compile(Dev, model, batch: 16);
        using var opt = new Adam(net.Parameters, new AdamOptions { LR = 0.1 });
        var logger = new ListLogger();
        var progress = new ListProgress<TrainingProgress>();
        using var trainer = new Trainer(net, opt, options: new TrainingOptions { Epochs = 3, BatchSize = 16, Seed = 1 }, logger: logger);
        var r = trainer.Fit(train, val, progress);

        Assert.That(r.History, Has.Count.EqualTo(3));
        Assert.That(r.History[^1].TrainLoss, Is.LessThan(r.History[0].TrainLoss));
        Assert.That(r.History[^1].ValidationAccuracy, Is.GreaterThan(0.9));
        Assert.That(r.History[^1].TrainAccuracy, Is.GreaterThan(0.9));

        // Evaluation equals one eval-mode forward pass over the whole validation set.
        var e = trainer.Evaluate(val);
        Assert.That(e.Samples, Is.EqualTo(24));
        Assert.That(e.Loss, Is.EqualTo(r.History[^1].ValidationLoss).Within(1e-6));
        Assert.That(e.Accuracy, Is.EqualTo(r.History[^1].ValidationAccuracy));
        var all = net.ForBatchSize(24);
        all.Training = false;
        var features = val.Features.ToArray();
        var labels = val.Labels.ToArray().Select(l => (float)l).ToArray();
        all.Forward(features, labels);
        Assert.That(e.Loss, Is.EqualTo(all.ReadLoss()).Within(1e-5));
        var output = all.Output.ToArray();
        int correct = Enumerable.Range(0, 24).Count(i => Enumerable.Range(0, Classes).MaxBy(c => output[(i * Classes) + c]) == val.Labels[i]);
        Assert.That(e.Accuracy, Is.EqualTo(correct / 24.0));
        Assert.That(net.Training, Is.True, "evaluation restores training mode");

        // Progress: one report per step and one per epoch end, with consistent counters.
        var steps = progress.Reports.Where(p => p.Phase == TrainingPhase.Training).ToList();
        var ends = progress.Reports.Where(p => p.Phase == TrainingPhase.EpochEnd).ToList();
        Assert.That(steps, Has.Count.EqualTo(3 * 2));
        Assert.That(ends.Select(p => p.Epoch), Is.EqualTo(new[] { 1, 2, 3 }));
        Assert.That(steps.Select(p => p.Step), Is.EqualTo(Enumerable.Range(1, 6).Select(i => (long)i)));
        Assert.That(steps.Select(p => p.Batch), Is.EqualTo(Enumerable.Range(0, 6).Select(i => (i % 2) + 1)));
        Assert.That(steps.All(p => p.Batches == 2 && p.Epochs == 3 && double.IsFinite(p.Loss) && p.Accuracy is >= 0 and <= 1 && p.SamplesPerSecond > 0), Is.True);
        Assert.That(steps[^1].Eta, Is.EqualTo(TimeSpan.Zero));
        Assert.That(steps[0].Eta, Is.GreaterThan(TimeSpan.Zero));
        Assert.That(steps[1].Loss, Is.EqualTo(r.History[0].TrainLoss).Within(1e-12), "the running loss at the epoch's last step is the epoch's");
        Assert.That(steps[1].Accuracy, Is.EqualTo(r.History[0].TrainAccuracy));
        Assert.That(ends[^1].Validation!.Value.Accuracy, Is.EqualTo(r.History[^1].ValidationAccuracy));
        Assert.That(logger.Lines.Count(l => l.Level == LogLevel.Information && l.Message.StartsWith("Epoch ", StringComparison.Ordinal)), Is.EqualTo(3));
        Assert.That(logger.Lines.First(l => l.Message.StartsWith("Epoch 1/3", StringComparison.Ordinal)).Message, Does.Contain("val_accuracy"));

        // A finished run returns at once.
        var again = trainer.Fit(train, val);
        Assert.That(again.Steps, Is.EqualTo(6));
    }

    [Test]
    public void One_hot_targets_with_mse_train_and_report_accuracy()
    {
        var train = Blobs(20, Features, Classes, seed: 4);
        using var model = Mlp(Features, 8, Classes);
        using var net = model.Compile(Dev, new Shape(10, Features), Loss.Mse(), new CompileOptions { Seed = 1 });
        using var opt = new Sgd(net.Parameters, new SgdOptions { LR = 0.2 });
        using var trainer = new Trainer(net, opt, options: new TrainingOptions { Epochs = 2, BatchSize = 10 });
        var r = trainer.Fit(train);
        Assert.That(r.History[^1].TrainLoss, Is.LessThan(r.History[0].TrainLoss));
        Assert.That(r.History.All(h => h.TrainAccuracy is >= 0 and <= 1), Is.True);
        Assert.That(double.IsNaN(r.History[0].ValidationLoss), Is.True, "no validation data");
    }

    [Test]
    public void Schedules_step_per_epoch_per_step_and_on_plateau()
    {
        var train = Blobs(8, Features, Classes, seed: 6);
        var wrong = Blobs(8, Features, Classes, seed: 6, shuffleLabels: true);   // its loss grows as the model learns
        double LR(Optimizer o) => o.Groups[0].LR;
        {
            using var model = Mlp(Features, 8, Classes);
            using var net = Compile(Dev, model);
            using var opt = new Sgd(net.Parameters, new SgdOptions { LR = 0.1 });
            using var trainer = new Trainer(net, opt, new ExponentialLR(opt, 0.5), new TrainingOptions { Epochs = 3, Mode = GradientDescentMode.Batch });
            var r = trainer.Fit(train);
            Assert.That(r.History.Select(h => h.LearningRate), Is.EqualTo(new[] { 0.1, 0.05, 0.025 }));
            Assert.That(LR(opt), Is.EqualTo(0.0125));
        }

        {
            using var model = Mlp(Features, 8, Classes);
            using var net = Compile(Dev, model);
            using var opt = new Sgd(net.Parameters, new SgdOptions { LR = 0.1 });
            using var trainer = new Trainer(net, opt, new StepLR(opt, stepSize: 2, gamma: 0.5),
                new TrainingOptions { Epochs = 2, BatchSize = 4, ScheduleStepping = ScheduleStepping.PerStep });
            var r = trainer.Fit(train);
            Assert.That(r.Steps, Is.EqualTo(4));
            Assert.That(r.History.Select(h => h.LearningRate), Is.EqualTo(new[] { 0.1, 0.05 }), "the lr of each epoch's last step (steps 2 and 4: 0.1 * 0.5^floor((k - 1) / 2))");
            Assert.That(LR(opt), Is.EqualTo(0.025));
        }

        {
            using var model = Mlp(Features, 8, Classes);
            using var net = Compile(Dev, model);
            using var opt = new Sgd(net.Parameters, new SgdOptions { LR = 0.2 });
            var plateau = new ReduceLROnPlateau(opt, factor: 0.5, patience: 0);
            using var trainer = new Trainer(net, opt, plateau, new TrainingOptions { Epochs = 4, Mode = GradientDescentMode.Batch });
            var r = trainer.Fit(train, wrong);
            var losses = r.History.Select(h => h.ValidationLoss).ToArray();
            Assert.That(losses[1], Is.GreaterThan(losses[0]), "the validation loss rises");
            Assert.That(r.History.Select(h => h.LearningRate).ToArray(), Is.EqualTo(ExpectedPlateauLrs(losses, 0.2)));
        }
    }

    [Test]
    public void TrainStep_runs_one_checked_step_in_the_current_mode()
    {
        using var model = Mlp(Features, 8, Classes);
        using var net = Compile(Dev, model);
        using var opt = new Sgd(net.Parameters, new SgdOptions { LR = 0.1 });
        using var trainer = new Trainer(net, opt);
        using var x = Tensor.FromHost(Dev, HostMath.Random(8 * Features, 3), new Shape(8, Features));
        using var t = Tensor.FromHost(Dev, [0, 1, 2, 0, 1, 2, 0, 1], new Shape(8));
        float first = trainer.TrainStep(x, t);
        float second = trainer.TrainStep(x, t);
        Assert.That(second, Is.LessThan(first));
        Assert.That(trainer.StepCount, Is.EqualTo(2));
        Assert.That(opt.StepCount, Is.EqualTo(2));
        using var bad = Tensor.Zeros(Dev, new Shape(8, Features + 1));
        Assert.That(() => trainer.TrainStep(bad, t), Throws.ArgumentException.With.Message.Contains("the model takes (batch, 4)"));
    }

    /// <summary>PyTorch's ReduceLROnPlateau (patience 0, factor 0.5, rel threshold 1e-4) on a loss sequence: the lr of each epoch.</summary>
    private static double[] ExpectedPlateauLrs(double[] losses, double lr)
    {
        var lrs = new double[losses.Length];
        double best = double.PositiveInfinity;
        for (int i = 0; i < losses.Length; i++)
        {
            lrs[i] = lr;
            if (losses[i] < best * (1 - 1e-4))
            {
                best = losses[i];
            }
            else
            {
                lr *= 0.5;
            }
        }

        return lrs;
    }
}
