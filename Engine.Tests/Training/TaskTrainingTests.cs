// Each task's path through Trainer.Fit on small data, on every device: regression, segmentation (dice + cross-entropy
// on masks, shifted with their images), an autoencoder; targets that do not fit the loss are refused before anything
// runs, naming both shapes.
using System;
using System.Linq;
using Engine.Data;
using Engine.Nn;
using Engine.Optim;
using Engine.Tests.Infrastructure;
using Engine.Training;
using NUnit.Framework;
using static Engine.Tests.Training.TrainingTestUtil;

namespace Engine.Tests.Training;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class TaskTrainingTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    /// <summary>y = 2 x0 - x1 + 0.5 (one target per sample).</summary>
    internal static InMemoryDataset Linear(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * 2];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[2 * i] = (float)(rng.NextDouble() * 2) - 1;
            x[(2 * i) + 1] = (float)(rng.NextDouble() * 2) - 1;
            y[i] = (2 * x[2 * i]) - x[(2 * i) + 1] + 0.5f;
        }

        return new InMemoryDataset(x, new Shape(2), y, new Shape(1));
    }

    /// <summary>n images (1, 6, 6), each a bright 3x3 square at a random place; the mask is class 1 + (n % 2) on the square, 0 elsewhere.</summary>
    internal static InMemoryDataset Squares(int n)
    {
        var rng = new Random(7);
        var x = new float[n * 36];
        var m = new float[n * 36];
        for (int i = 0; i < n; i++)
        {
            int top = rng.Next(4), left = rng.Next(4);
            for (int y = top; y < top + 3; y++)
            {
                for (int c = left; c < left + 3; c++)
                {
                    x[(i * 36) + (y * 6) + c] = i % 2 == 0 ? 1f : 0.5f;
                    m[(i * 36) + (y * 6) + c] = 1 + (i % 2);
                }
            }
        }

        return new InMemoryDataset(x, new Shape(1, 6, 6), m, new Shape(6, 6));
    }

    [Test]
    public void A_regression_learns_and_reports_mae_rmse_and_r2()
    {
        var train = Linear(64, 1);
        var test = Linear(32, 2);
        using var model = new Sequential(new Linear(2, 16), new Relu(), new Linear(16, 1));
        using var net = model.Compile(Dev, new Shape(16, 2), Loss.Mse(), new CompileOptions { Seed = 1 });
        using var opt = new Adam(net.Parameters, new AdamOptions { LR = 0.03 });
        using var trainer = new Trainer(net, opt, options: new TrainingOptions { Epochs = 40, BatchSize = 16, Seed = 1 });
        var progress = new ListProgress<TrainingProgress>();
        var r = trainer.Fit(train, test, progress);
        var last = r.History[^1];
        Assert.That(last.ValidationMetrics.Keys, Is.EqualTo(new[] { "mae", "rmse", "r2" }));
        Assert.That(last.ValidationMetrics["r2"], Is.GreaterThan(0.95), last.ValidationMetrics.ToString());
        Assert.That(last.ValidationMetrics["rmse"] * last.ValidationMetrics["rmse"], Is.EqualTo(last.ValidationLoss).Within(1e-5), "rmse² is the mean squared error");
        Assert.That(last.TrainAccuracy, Is.NaN, "no accuracy for a regression");
        Assert.That(progress.Reports.First(p => p.Phase == TrainingPhase.Training).Metrics.Keys, Does.Contain("rmse"));

        var eval = trainer.Evaluate(test);
        Assert.That(eval.Metrics.Keys, Is.EqualTo(last.ValidationMetrics.Keys), "Evaluate reports the same metrics");
        Assert.That(eval.Metrics.Values, Is.EqualTo(last.ValidationMetrics.Values).Within(1e-5));
    }

    [Test]
    public void Segmentation_masks_train_with_dice_and_cross_entropy_and_report_iou()
    {
        var data = Squares(24);
        using var model = new Sequential(new Conv2d(1, 8, 3, padding: 1), new Relu(), new Conv2d(8, 3, 3, padding: 1));
        using var net = model.Compile(Dev, new Shape(8, 1, 6, 6), Loss.DiceCrossEntropy(), new CompileOptions { Seed = 3 });
        using var opt = new Adam(net.Parameters, new AdamOptions { LR = 0.03 });
        using var trainer = new Trainer(net, opt, options: new TrainingOptions { Epochs = 12, BatchSize = 8, Seed = 2, Transforms = [new RandomShift(1)] });
        var r = trainer.Fit(data, validation: data);
        var v = r.History[^1].ValidationMetrics;
        Assert.That(v.Keys.Take(3), Is.EqualTo(new[] { "pixel_accuracy", "mean_iou", "mean_dice" }));
        Assert.That(v.Keys, Does.Contain("iou_2").And.Contain("dice_0"));
        Assert.That(r.History[^1].TrainLoss, Is.LessThan(r.History[0].TrainLoss));
        Assert.That(v["mean_iou"], Is.GreaterThan(r.History[0].ValidationMetrics["mean_iou"]), "IoU improves");
        Assert.That(v["pixel_accuracy"], Is.InRange(0.0, 1.0));
    }

    [Test]
    public void An_autoencoder_reconstructs_its_inputs()
    {
        var blobs = Blobs(40, 6, 2, seed: 4);
        using var model = new Sequential(new Linear(6, 3), new Relu(), new Linear(3, 6));
        using var net = model.Compile(Dev, new Shape(8, 6), Loss.Mse(), new CompileOptions { Seed = 4 });
        using var opt = new Adam(net.Parameters, new AdamOptions { LR = 0.03 });
        using var trainer = new Trainer(net, opt, options: new TrainingOptions { Epochs = 10, BatchSize = 8 });
        var r = trainer.Fit(new ReconstructionDataset(blobs));
        Assert.That(r.History[^1].TrainLoss, Is.LessThan(r.History[0].TrainLoss / 2));
        Assert.That(r.History[^1].TrainMetrics.Keys, Does.Contain("r2"));
    }

    [Test]
    public void Targets_that_do_not_fit_the_loss_are_refused_before_anything_runs()
    {
        using var model = new Sequential(new Linear(2, 3));
        using var net = model.Compile(Dev, new Shape(8, 2), Loss.Mse());
        using var opt = new Adam(net.Parameters, new AdamOptions());
        using var trainer = new Trainer(net, opt);
        var before = State(net);
        Assert.That(() => trainer.Fit(Linear(16, 1)), Throws.ArgumentException.With.Message.Contain(
            "The dataset's targets are [1] per sample, but the model's loss (mse(mean)) takes targets [8, 3] per batch, [3] per sample."));
        using var good = new Sequential(new Linear(2, 1));
        using var goodNet = good.Compile(Dev, new Shape(8, 2), Loss.Mse());
        using var goodOpt = new Adam(goodNet.Parameters, new AdamOptions());
        using var goodTrainer = new Trainer(goodNet, goodOpt);
        var goodBefore = State(goodNet);
        var wrongValidation = new InMemoryDataset(new float[8], new Shape(2), new float[8], new Shape(2));
        Assert.That(() => goodTrainer.Fit(Linear(16, 1), wrongValidation), Throws.ArgumentException.With.Message.Contain("The dataset's targets are [2] per sample"));
        Assert.That(goodTrainer.StepCount, Is.Zero, "a bad validation set is found before the first step");
        AssertBitwise(State(goodNet), goodBefore, "no step ran");

        var triples = new TripletDataset(Blobs(12, 2, 3, seed: 1), seed: 1);
        Assert.That(() => trainer.Fit(triples), Throws.ArgumentException.With.Message.Contain("The dataset holds triples (anchor, positive, negative), which only the triplet loss takes"));
        using var embed = new Sequential(new Linear(2, 3));
        using var tnet = embed.Compile(Dev, new Shape(24, 2), Loss.Triplet());
        using var topt = new Adam(tnet.Parameters, new AdamOptions());
        using var ttrainer = new Trainer(tnet, topt);
        Assert.That(() => ttrainer.Fit(Blobs(12, 2, 3, seed: 1)), Throws.ArgumentException.With.Message.Contain("The model's loss is the triplet loss").And.Message.Contain("class labels (3 classes)"));
        Assert.That(trainer.StepCount + ttrainer.StepCount, Is.Zero);
        AssertBitwise(State(net), before, "no step ran");
    }

    [Test]
    public void Metrics_can_be_chosen_instead_of_the_losss_defaults()
    {
        using var model = Mlp(4, 8, 3);
        using var net = model.Compile(Dev, new Shape(8, 4), Loss.CrossEntropy(), new CompileOptions { Seed = 1 });
        using var opt = new Adam(net.Parameters, new AdamOptions { LR = 0.05 });
        using var trainer = new Trainer(net, opt, options: new TrainingOptions { Epochs = 2, Metrics = [new Accuracy(), new Accuracy(k: 2)] });
        var r = trainer.Fit(Blobs(32, 4, 3, seed: 1), Blobs(16, 4, 3, seed: 2));
        var v = r.History[^1].ValidationMetrics;
        Assert.That(v.Keys, Is.EqualTo(new[] { "accuracy", "top2_accuracy" }));
        Assert.That(v["top2_accuracy"], Is.GreaterThanOrEqualTo(v["accuracy"]));
        Assert.That(r.History[^1].ValidationAccuracy, Is.EqualTo(v["accuracy"]));

        using var none = new Trainer(net, opt, options: new TrainingOptions { Epochs = 1, Metrics = [] });
        Assert.That(none.Fit(Blobs(16, 4, 3, seed: 1)).History[^1].TrainAccuracy, Is.NaN);
        using var wrong = new Trainer(net, opt, options: new TrainingOptions { Epochs = 1, Metrics = [new RegressionMetrics()] });
        Assert.That(() => wrong.Fit(Blobs(16, 4, 3, seed: 1)), Throws.ArgumentException.With.Message.Contain("mae, rmse and r2 need targets of the output's shape [8, 3]; the target is [8]"));
    }
}
