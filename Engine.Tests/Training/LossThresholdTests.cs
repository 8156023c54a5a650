// Stopping at a loss threshold (the course notes' rule) on every device: training ends after the first epoch whose
// monitored loss is at or below the threshold, a finished run stays finished, and bad settings fail clearly.
using System;
using System.Linq;
using Engine.Nn;
using Engine.Optim;
using Engine.Tests.Infrastructure;
using Engine.Training;
using NUnit.Framework;
using static Engine.Tests.Training.TrainingTestUtil;

namespace Engine.Tests.Training;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class LossThresholdTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    [TestCase(TrainingMetric.TrainLoss, 0.3)]
    [TestCase(TrainingMetric.ValidationLoss, 0.4)]
    public void Training_stops_after_the_first_epoch_at_or_below_the_threshold(TrainingMetric monitor, double threshold)
    {
        var train = Blobs(16, 4, 3, seed: 8, spread: 0.8f);
        var val = Blobs(8, 4, 3, seed: 9, spread: 0.8f);
        using var model = Mlp(4, 8, 3);
        using var net = model.Compile(Dev, new Shape(16, 4), Loss.CrossEntropy(), new CompileOptions { Seed = 2 });
        using var opt = new Adam(net.Parameters, new AdamOptions { LR = 0.05 });
        using var trainer = new Trainer(net, opt, options: new TrainingOptions
        {
            Epochs = 200, Mode = GradientDescentMode.Batch, StopAtLoss = new LossThresholdOptions { Threshold = threshold, Monitor = monitor },
        });
        var r = trainer.Fit(train, val);

        var losses = r.History.Select(h => h.Get(monitor)).ToArray();
        TestContext.Out.WriteLine($"stopped after {losses.Length} epochs: {string.Join(", ", losses.Select(l => l.ToString("F3")))}");
        Assert.That(r.Reason, Is.EqualTo(StopReason.LossThresholdReached), string.Join(", ", losses));
        Assert.That(losses[^1], Is.LessThanOrEqualTo(threshold));
        Assert.That(losses[..^1], Is.All.GreaterThan(threshold), "no earlier epoch reached it");
        Assert.That(r.History.Count, Is.GreaterThan(1).And.LessThan(200));

        var again = trainer.Fit(train, val);
        Assert.That((again.Reason, again.Steps, again.History.Count), Is.EqualTo((StopReason.LossThresholdReached, r.Steps, r.History.Count)), "a finished run stays finished");
    }

    [Test]
    public void Bad_thresholds_fail_naming_the_setting()
    {
        var train = Blobs(16, 4, 3, seed: 8);
        using var model = Mlp(4, 8, 3);
        using var net = model.Compile(Dev, new Shape(16, 4), Loss.CrossEntropy());
        using var opt = new Adam(net.Parameters, new AdamOptions());
        TrainingOptions With(LossThresholdOptions t) => new() { Mode = GradientDescentMode.Batch, StopAtLoss = t };
        Assert.That(() => new Trainer(net, opt, options: With(new LossThresholdOptions { Threshold = double.NaN })),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("StopAtLoss.Threshold"));
        Assert.That(() => new Trainer(net, opt, options: With(new LossThresholdOptions { Threshold = 0.1, Monitor = TrainingMetric.TrainAccuracy })),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("StopAtLoss.Monitor"));
        using var trainer = new Trainer(net, opt, options: With(new LossThresholdOptions { Threshold = 0.1, Monitor = TrainingMetric.ValidationLoss }));
        Assert.That(() => trainer.Fit(train), Throws.ArgumentException.With.Message.Contain("StopAtLoss watches ValidationLoss"));
    }
}
