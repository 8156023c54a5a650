// Early stopping on every device: patience and min_delta on loss and accuracy metrics, the stop epoch and the best
// epoch as the rule gives them from the recorded history, and the best epoch's weights and running statistics put back.
using System.Collections.Generic;
using System.Linq;
using Engine.Nn;
using Engine.Optim;
using Engine.Tests.Infrastructure;
using Engine.Training;
using NUnit.Framework;
using static Engine.Tests.Training.TrainingTestUtil;

namespace Engine.Tests.Training;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class EarlyStoppingTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    [TestCase(TrainingMetric.ValidationLoss, true, 2, 0.0)]
    [TestCase(TrainingMetric.ValidationLoss, false, 2, 0.05)]
    [TestCase(TrainingMetric.ValidationAccuracy, false, 1, 0.0)]
    [TestCase(TrainingMetric.TrainLoss, false, 1, 10.0)]
    public void Stops_after_patience_epochs_without_improvement_and_restores_the_best(TrainingMetric monitor, bool wrongLabels, int patience, double minDelta)
    {
        var train = Blobs(16, 4, 3, seed: 8, spread: 0.8f);
        var val = Blobs(8, 4, 3, seed: 9, spread: 0.8f, shuffleLabels: wrongLabels);
        using var model = Mlp(4, 8, 3, batchNorm: true);
        using var net = model.Compile(Dev, new Shape(16, 4), Loss.CrossEntropy(), new CompileOptions { Seed = 2 });
        using var opt = new Adam(net.Parameters, new AdamOptions { LR = 0.05 });
        var states = new List<float[]>();
        var progress = new ListProgress<TrainingProgress>(p =>
        {
            if (p.Phase == TrainingPhase.EpochEnd)
            {
                states.Add(State(net));
            }
        });
        var es = new EarlyStoppingOptions { Monitor = monitor, Patience = patience, MinDelta = minDelta };
        using var trainer = new Trainer(net, opt, options: new TrainingOptions { Epochs = 6, Mode = GradientDescentMode.Batch, EarlyStopping = es });
        var r = trainer.Fit(train, val, progress);

        var values = r.History.Select(h => h.Get(monitor)).ToArray();
        var (stopEpoch, bestEpoch, best) = Rule(values, monitor is TrainingMetric.ValidationAccuracy, patience, minDelta);
        Assert.That(r.BestEpoch, Is.EqualTo(bestEpoch), string.Join(", ", values));
        Assert.That(r.BestMetric, Is.EqualTo(best));
        Assert.That(r.Reason, Is.EqualTo(stopEpoch is null ? StopReason.Completed : StopReason.EarlyStopped));
        Assert.That(r.History, Has.Count.EqualTo(stopEpoch ?? 6));
        Assert.That(r.RestoredBestWeights, Is.EqualTo(bestEpoch != r.History.Count));
        AssertBitwise(State(net), states[bestEpoch - 1], $"weights and running statistics of the best epoch {bestEpoch}");
        if (wrongLabels)
        {
            Assert.That(r.Reason, Is.EqualTo(StopReason.EarlyStopped), "a validation loss that keeps rising stops training");
        }

        if (minDelta >= 10)
        {
            Assert.That((r.BestEpoch, r.History.Count), Is.EqualTo((1, 2)), "no later epoch improves by 10");
        }
    }

    [Test]
    public void Without_restoring_the_last_weights_stay()
    {
        var train = Blobs(16, 4, 3, seed: 8);
        var val = Blobs(8, 4, 3, seed: 9, shuffleLabels: true);
        using var model = Mlp(4, 8, 3);
        using var net = model.Compile(Dev, new Shape(16, 4), Loss.CrossEntropy(), new CompileOptions { Seed = 2 });
        using var opt = new Adam(net.Parameters, new AdamOptions { LR = 0.05 });
        float[]? last = null;
        var progress = new ListProgress<TrainingProgress>(p => last = p.Phase == TrainingPhase.EpochEnd ? State(net) : last);
        var es = new EarlyStoppingOptions { Patience = 1, RestoreBestWeights = false };
        using var trainer = new Trainer(net, opt, options: new TrainingOptions { Epochs = 6, Mode = GradientDescentMode.Batch, EarlyStopping = es });
        var r = trainer.Fit(train, val, progress);
        Assert.That(r.Reason, Is.EqualTo(StopReason.EarlyStopped));
        Assert.That(r.RestoredBestWeights, Is.False);
        AssertBitwise(State(net), last!, "the last epoch's weights");

        // A stopped run stays stopped.
        var again = trainer.Fit(train, val);
        Assert.That((again.Reason, again.Steps), Is.EqualTo((StopReason.EarlyStopped, r.Steps)));
    }

    /// <summary>The early-stopping rule on a metric history: (stop epoch or null, best epoch, best value).</summary>
    private static (int? Stop, int BestEpoch, double Best) Rule(double[] values, bool higherIsBetter, int patience, double minDelta)
    {
        double best = double.NaN;
        int bestEpoch = 0, bad = 0;
        for (int i = 0; i < values.Length; i++)
        {
            double v = values[i];
            if (double.IsNaN(best) || (higherIsBetter ? v > best + minDelta : v < best - minDelta))
            {
                (best, bestEpoch, bad) = (v, i + 1, 0);
            }
            else if (++bad >= patience)
            {
                return (i + 1, bestEpoch, best);
            }
        }

        return (null, bestEpoch, best);
    }
}
