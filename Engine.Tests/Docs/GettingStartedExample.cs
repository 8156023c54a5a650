// The embedding examples of docs/getting-started.md (classification on MNIST files, a regression on float arrays),
// compiled and run by tests; the tests also check the doc shows them.
using System;
using System.IO;
using Engine.Checkpoints;
using Engine.Data;
using Engine.Data.Mnist;
using Engine.Nn;
using Engine.Optim;
using Engine.Optim.Schedules;
using Engine.Training;

namespace Engine.Tests.Docs;

public static class GettingStartedExample
{
    /// <summary>Trains the LeNet-style CNN on the IDX files in <paramref name="dataDir"/>, saves it in <paramref name="outDir"/>.</summary>
    public static TrainingResult Run(string dataDir, string outDir, int epochs)
    {
        // GETTING-STARTED-EXAMPLE-START
        using var device = Device.Create();                      // CUDA, then OpenCL, then the CPU
        var train = Mnist.Load(dataDir, MnistSplit.Train);       // the four IDX files, plain or .gz
        var test = Mnist.Load(dataDir, MnistSplit.Test);
        var norm = Normalization.Compute(train);                 // mean and std of the training pixels

        using var model = new Sequential(
            new Conv2d(1, 32, 3, padding: 1), new Relu(), new MaxPool2d(2),
            new Conv2d(32, 64, 3, padding: 1), new Relu(), new MaxPool2d(2),
            new Flatten(), new Linear(64 * 7 * 7, 128), new Relu(), new Linear(128, 10));
        using var net = model.Compile(device, inputShape: [64, 1, 28, 28], loss: Loss.CrossEntropy());
        using var adam = new Adam(net.Parameters, new AdamOptions { LR = 1e-3 });
        int steps = epochs * (int)Math.Ceiling(train.Count / 64.0);
        var cosine = new CosineAnnealingLR(adam, tMax: steps);   // decays the learning rate to 0 over the run
        using var trainer = new Trainer(net, adam, cosine, new TrainingOptions
        {
            Epochs = epochs, BatchSize = 64, Seed = 1, ScheduleStepping = ScheduleStepping.PerStep,
            Transforms = [new RandomShift(2), new Normalize(norm)],   // augmentation, training only
            ValidationTransforms = [new Normalize(norm)],
        });

        TrainingResult result = trainer.Fit(train, validation: test);   // validates after every epoch
        Console.WriteLine($"test accuracy: {result.History[^1].ValidationAccuracy:P2}");
        net.SaveWeights(Path.Combine(outDir, "model.safetensors"));    // PyTorch's state-dict names
        // GETTING-STARTED-EXAMPLE-END
        return result;
    }

    /// <summary>Trains a small MLP regression on <paramref name="features"/> (3 per sample) and one target per sample.</summary>
    public static TrainingResult RunRegression(float[] features, float[] targets)
    {
        // REGRESSION-EXAMPLE-START
        using var device = Device.Create();
        var data = new InMemoryDataset(features, new Shape(3), targets, new Shape(1));   // float targets, one per sample
        var (train, test) = data.Split(data.Count * 4 / 5, seed: 1);                      // 80% train, 20% test

        using var model = new Sequential(new Linear(3, 64), new Relu(), new Linear(64, 1));
        using var net = model.Compile(device, inputShape: [32, 3], loss: Loss.Mse());
        using var adam = new Adam(net.Parameters, new AdamOptions { LR = 1e-2 });
        using var trainer = new Trainer(net, adam, options: new TrainingOptions { Epochs = 30, BatchSize = 32, Seed = 1 });

        TrainingResult result = trainer.Fit(train, validation: test);   // mae, rmse and r2 after every epoch
        var metrics = result.History[^1].ValidationMetrics;
        Console.WriteLine($"test RMSE {metrics["rmse"]:F3}, R² {metrics["r2"]:F3}");
        // REGRESSION-EXAMPLE-END
        return result;
    }
}
