// Bad trainer setups are refused before anything runs, with messages that say what does not fit.
using System;
using Engine.Data;
using Engine.Nn;
using Engine.Optim;
using Engine.Optim.Schedules;
using Engine.Tests.Infrastructure;
using Engine.Training;
using NUnit.Framework;
using static Engine.Tests.Training.TrainingTestUtil;

namespace Engine.Tests.Training;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class TrainerValidationTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    [Test]
    public void The_model_optimizer_and_schedule_must_fit_together()
    {
        using var model = Mlp(4, 8, 3);
        using var net = model.Compile(Dev, new Shape(8, 4), Loss.CrossEntropy());
        using var opt = new Sgd(net.Parameters, new SgdOptions { LR = 0.1 });
        using var inference = model.Compile(Dev, new Shape(8, 4), Loss.CrossEntropy(), new CompileOptions { Training = false });
        Assert.That(() => new Trainer(inference, opt), Throws.ArgumentException.With.Message.Contains("inference plan"));
        using var noLoss = model.Compile(Dev, new Shape(8, 4));
        Assert.That(() => new Trainer(noLoss, opt), Throws.ArgumentException.With.Message.Contains("without a loss"));

        using var other = Mlp(4, 8, 3);
        using var otherNet = other.Compile(Dev, new Shape(8, 4), Loss.CrossEntropy());
        using var otherOpt = new Sgd(otherNet.Parameters, new SgdOptions { LR = 0.1 });
        Assert.That(() => new Trainer(net, otherOpt), Throws.ArgumentException.With.Message.Contains("another parameter set"));
        Assert.That(() => new Trainer(net, opt, new ExponentialLR(otherOpt, 0.5)), Throws.ArgumentException.With.Message.Contains("another optimizer"));
        Assert.That(() => new Trainer(net, opt, new ReduceLROnPlateau(opt), new TrainingOptions { ScheduleStepping = ScheduleStepping.PerStep }),
            Throws.ArgumentException.With.Message.Contains("ReduceLROnPlateau steps once per epoch"));
    }

    [Test]
    public void Options_out_of_range_are_named()
    {
        using var model = Mlp(4, 8, 3);
        using var net = model.Compile(Dev, new Shape(8, 4), Loss.CrossEntropy());
        using var opt = new Sgd(net.Parameters, new SgdOptions { LR = 0.1 });
        void Refused(TrainingOptions o, string text) =>
            Assert.That(() => new Trainer(net, opt, options: o), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains(text));
        Refused(new TrainingOptions { Epochs = 0 }, "TrainingOptions.Epochs must be at least 1 (got 0)");
        Refused(new TrainingOptions { BatchSize = 0 }, "TrainingOptions.BatchSize must be at least 1");
        Refused(new TrainingOptions { ClipGradNorm = -1 }, "TrainingOptions.ClipGradNorm must be a non-negative number");
        Refused(new TrainingOptions { EarlyStopping = new EarlyStoppingOptions { Patience = 0 } }, "EarlyStopping.Patience must be at least 1");
        Refused(new TrainingOptions { EarlyStopping = new EarlyStoppingOptions { MinDelta = -0.1 } }, "EarlyStopping.MinDelta must be non-negative");
        Refused(new TrainingOptions { Checkpoints = new CheckpointOptions { Directory = "x", Keep = -1 } }, "Checkpoints.Keep must be non-negative");
        Assert.That(() => new Trainer(net, opt, options: new TrainingOptions { Checkpoints = new CheckpointOptions { Directory = " " } }),
            Throws.ArgumentException.With.Message.Contains("Checkpoints.Directory must name a folder"));
    }

    [Test]
    public void Data_and_metrics_must_fit_the_model()
    {
        using var model = Mlp(4, 8, 3);
        using var net = model.Compile(Dev, new Shape(8, 4), Loss.CrossEntropy());
        using var opt = new Sgd(net.Parameters, new SgdOptions { LR = 0.1 });
        using var trainer = new Trainer(net, opt);
        Assert.That(() => trainer.Fit(Blobs(16, 5, 3, seed: 1)), Throws.ArgumentException.With.Message.Contains("The samples are [5] but the model takes [8, 4] (batch, 4)"));

        using var es = new Trainer(net, opt, options: new TrainingOptions { EarlyStopping = new EarlyStoppingOptions() });
        Assert.That(() => es.Fit(Blobs(16, 4, 3, seed: 1)), Throws.ArgumentException.With.Message.Contains("Early stopping watches ValidationLoss, but Fit got no validation data"));
        using var acc = new Trainer(net, opt, options: new TrainingOptions { EarlyStopping = new EarlyStoppingOptions { Monitor = TrainingMetric.TrainAccuracy } });
        Assert.That(() => acc.Fit(Blobs(16, 4, 5, seed: 1)), Throws.ArgumentException.With.Message.Contains("there is no accuracy"));

        using var regression = new Sequential(new Linear(4, 2));
        using var rnet = regression.Compile(Dev, new Shape(8, 4), Loss.Mse());
        using var ropt = new Sgd(rnet.Parameters, new SgdOptions { LR = 0.1 });
        using var rtrainer = new Trainer(rnet, ropt);
        Assert.That(() => rtrainer.Fit(Blobs(16, 4, 3, seed: 1)), Throws.ArgumentException.With.Message.Contains("The model's loss target is [8, 2]"));
        using var oneHot = new DeviceDataLoader(Dev, Blobs(16, 4, 3, seed: 1), new DataLoaderOptions { Labels = LabelFormat.OneHot });
        Assert.That(() => trainer.Fit(oneHot),
            Throws.ArgumentException.With.Message.Contains("labels are [64, 3] per batch but the loss target is [8]"));
    }
}
