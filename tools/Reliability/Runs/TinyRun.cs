// The small, fully deterministic training run the reliability checks share: the crash-kill child and its checker, the
// soak and the checkpoint fuzz target. Shuffling, batch norm's buffers, Adam and a per-step schedule are all in it, so
// a resume that loses any piece of state ends with other weights (dropout's random stream too).
using System;
using System.Linq;
using System.Security.Cryptography;
using System.Runtime.InteropServices;
using Engine.Data;
using Engine.Nn;
using Engine.Optim;
using Engine.Optim.Schedules;
using Engine.Training;

namespace Engine.Reliability.Runs;

/// <summary>A model, optimizer, schedule and trainer on the CPU device; dispose to free them.</summary>
internal sealed class TinyRun : IDisposable
{
    private readonly bool ownsDevice;

    /// <summary>Creates the run on <paramref name="device"/> (shared, not disposed here) or on a CPU device of its own.</summary>
    public TinyRun(int epochs, CheckpointOptions? checkpoints, EarlyStoppingOptions? earlyStopping = null, int batchSize = 4, bool kernels = false, Device? device = null)
    {
        ownsDevice = device is null;
        Device = device ?? Device.Create(DeviceKind.Cpu, new DeviceOptions { HonorEnvironment = false, ForceKernelsOnCpu = kernels });
        Model = new Sequential(new Linear(Features, 12), new BatchNorm1d(12), new Relu(), new Dropout(0.3f), new Linear(12, Classes));
        Net = Model.Compile(Device, new Shape(batchSize, Features), Loss.CrossEntropy(), new CompileOptions { Seed = 1 });
        Optimizer = new Adam(Net.Parameters, new AdamOptions { LR = 0.05 });
        Trainer = new Trainer(Net, Optimizer, new ExponentialLR(Optimizer, 0.97), new TrainingOptions
        {
            Epochs = epochs, BatchSize = batchSize, Seed = 3, ScheduleStepping = ScheduleStepping.PerStep,
            EarlyStopping = earlyStopping, Checkpoints = checkpoints,
        });
    }

    public const int Features = 4;

    public const int Classes = 3;

    public Device Device { get; }

    public Sequential Model { get; }

    public CompiledModel Net { get; }

    public Adam Optimizer { get; }

    public Trainer Trainer { get; }

    /// <summary><paramref name="n"/> samples of three separable blobs, the same every call.</summary>
    public static InMemoryDataset Blobs(int n)
    {
        var f = new float[n * Features];
        var l = new int[n];
        for (int i = 0; i < n; i++)
        {
            l[i] = i % Classes;
            for (int j = 0; j < Features; j++)
            {
                f[(i * Features) + j] = (l[i] - 1) + (0.1f * (((i * 7) + (j * 3)) % 5));
            }
        }

        return new InMemoryDataset(f, l, new Shape(Features), Classes);
    }

    /// <summary>SHA-256 of the model's parameters and buffers, as hex: equal hashes are bit-identical weights.</summary>
    public string WeightsHash()
    {
        var values = Net.Parameters.Values.ToArray().Concat(Net.Buffers.Values?.ToArray() ?? []).ToArray();
        return Convert.ToHexString(SHA256.HashData(MemoryMarshal.AsBytes(values.AsSpan())));
    }

    public void Dispose()
    {
        Trainer.Dispose();
        Optimizer.Dispose();
        Net.Dispose();
        Model.Dispose();
        if (ownsDevice)
        {
            Device.Dispose();
        }
    }
}
