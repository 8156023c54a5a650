// The data-parallel example of docs/distributed.md: the rank host runs it under mpirun (scenario "example"), and a test
// checks that the doc shows this exact code.
using System;
using Engine.Data;
using Engine.Distributed;
using Engine.Nn;
using Engine.Optim;
using Engine.Training;

namespace Engine.Tests.RankHost;

public static class DistributedExample
{
    /// <summary>Trains (or resumes) a small classifier on every rank of the job; returns the result.</summary>
    public static TrainingResult Run(IDataset train, IDataset validation, string checkpointDir)
    {
        // DISTRIBUTED-EXAMPLE-START
        using var group = ProcessGroup.FromEnvironment(TimeSpan.FromSeconds(60));   // MPI under mpirun, else one process
        using var device = Device.Create(DeviceKind.Cpu);
        using var model = new Sequential(new Linear(4, 32), new BatchNorm1d(32), new Relu(), new Linear(32, 3));
        using var net = model.Compile(device, inputShape: [16, 4], loss: Loss.CrossEntropy());   // 16 samples per rank
        using var opt = new Adam(net.Parameters, new AdamOptions { LR = 1e-2 });
        using var trainer = new Trainer(net, opt, null, new TrainingOptions
        {
            Epochs = 10, BatchSize = 16, Seed = 1,                             // the same seed everywhere: one shared order
            Distributed = new DistributedOptions { Group = group },            // each rank its shard, gradients averaged
            Checkpoints = new CheckpointOptions { Directory = checkpointDir }, // rank 0 writes them
        });
        if (Trainer.FindLatestCheckpoint(checkpointDir) is { } latest)
        {
            trainer.LoadCheckpoint(latest);                                    // on this or another number of ranks
        }

        TrainingResult result = trainer.Fit(train, validation);               // loss and accuracy over all ranks
        if (group.IsRoot)
        {
            Console.WriteLine($"{group.Size} ranks: validation accuracy {result.History[^1].ValidationAccuracy:P1}");
        }
        // DISTRIBUTED-EXAMPLE-END
        return result;
    }
}
