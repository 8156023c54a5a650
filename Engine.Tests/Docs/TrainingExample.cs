// The trainer example of docs/training.md, compiled and run by a test; the test also checks the doc shows this exact code.
using System;
using System.Threading;
using Engine.Data;
using Engine.Nn;
using Engine.Optim;
using Engine.Optim.Schedules;
using Engine.Training;

namespace Engine.Tests.Docs;

public static class TrainingExample
{
    /// <summary>Trains (or resumes training) a small classifier; returns the result.</summary>
    public static TrainingResult Run(Device device, IDataset train, IDataset validation, string checkpointDir, CancellationToken cancellationToken)
    {
        // TRAINING-EXAMPLE-START
        using var model = new Sequential(new Linear(4, 32), new Relu(), new Dropout(0.1f), new Linear(32, 3));
        using var net = model.Compile(device, inputShape: [32, 4], loss: Loss.CrossEntropy());
        using var opt = new AdamW(net.Parameters, new AdamWOptions { LR = 1e-2 });
        var schedule = new ReduceLROnPlateau(opt, factor: 0.5, patience: 2);   // on the validation loss, once per epoch
        using var trainer = new Trainer(net, opt, schedule, new TrainingOptions
        {
            Epochs = 30, BatchSize = 32, Seed = 1,                              // mini-batches, reshuffled every epoch
            ClipGradNorm = 1.0,
            EarlyStopping = new EarlyStoppingOptions { Patience = 4, MinDelta = 1e-3 },   // best weights restored at the end
            Checkpoints = new CheckpointOptions { Directory = checkpointDir, EveryEpochs = 5 },
        });
        if (Trainer.FindLatestCheckpoint(checkpointDir) is { } latest)
        {
            trainer.LoadCheckpoint(latest);                                    // continue an interrupted run exactly
        }

        var progress = new Progress<TrainingProgress>(p => Console.Write(
            $"\repoch {p.Epoch}/{p.Epochs} batch {p.Batch}/{p.Batches} loss {p.Loss:F4} acc {p.Accuracy:P1} {p.SamplesPerSecond:N0}/s ETA {p.Eta:mm\\:ss}"));
        TrainingResult result = trainer.Fit(train, validation, progress, cancellationToken);
        Console.WriteLine($"\n{result.Reason} after {result.History.Count} epochs; best val loss {result.BestMetric:F4} (epoch {result.BestEpoch})");
        // TRAINING-EXAMPLE-END
        return result;
    }
}
