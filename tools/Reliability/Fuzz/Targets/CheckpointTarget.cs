// Fuzz target: a training checkpoint folder (latest pointer, weights, training state, early stopping's best weights)
// loaded by Trainer.LoadCheckpoint. The first input byte picks the file the rest replaces in a valid folder. A refused
// load must leave the model, optimizer, schedule and trainer exactly as they were.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Engine.Checkpoints;
using Engine.Data;
using Engine.Nn;
using Engine.Optim;
using Engine.Optim.Schedules;
using Engine.Training;

namespace Engine.Reliability.Fuzz.Targets;

internal static class CheckpointTarget
{
    private static readonly Lazy<Setup> Shared = new(() => new Setup());

    public static FuzzTarget Target { get; } = new(
        "checkpoint",
        "Trainer.LoadCheckpoint of a folder whose latest pointer, weights, training state or best weights (first byte % 4) is the input",
        Run,
        [typeof(CheckpointMismatchException), typeof(SafeTensorsFormatException), typeof(FileNotFoundException)],
        ["Engine.dll:Engine.Checkpoints", "Engine.dll:Engine.Training", "Engine.dll:Engine.Optim.Schedules"],
        Seeds);

    private static void Run(byte[] data, FuzzWorkspace w)
    {
        var s = Shared.Value;
        for (int i = 0; i < s.Files.Length; i++)
        {
            File.WriteAllBytes(w.Path(s.Files[i].Name), s.Files[i].Data);
        }

        if (data.Length > 0)
        {
            File.WriteAllBytes(w.Path(s.Files[data[0] % s.Files.Length].Name), data[1..]);
        }

        var before = s.Snapshot();
        try
        {
            s.Trainer.LoadCheckpoint(w.Root);
        }
        catch (Exception) when (s.Snapshot() != before)
        {
            throw new FuzzContractException("a refused checkpoint changed the model, optimizer, schedule or trainer");
        }
    }

    private static IEnumerable<(string, byte[])> Seeds()
    {
        var files = Shared.Value.Files;
        for (int i = 0; i < files.Length; i++)
        {
            yield return ($"valid-{files[i].Role}", [(byte)i, .. files[i].Data]);
        }

        yield return ("hostile-latest-outside", [0, .. "../../etc/passwd"u8]);
        yield return ("hostile-latest-absolute", [0, .. "/etc/passwd"u8]);
        yield return ("truncated-state", [2, .. files[2].Data[..(files[2].Data.Length / 2)]]);
    }

    /// <summary>A small trained model with a managed checkpoint folder; the trainer every input is loaded into.</summary>
    private sealed class Setup
    {
        public Setup()
        {
            var device = Device.Create(DeviceKind.Cpu, new DeviceOptions { HonorEnvironment = false });
            Model = new Sequential(new Linear(4, 6), new BatchNorm1d(6), new ReLU(), new Linear(6, 3));
            var net = Model.Compile(device, new Shape(4, 4), Loss.CrossEntropy(), new CompileOptions { Seed = 1 });
            var opt = new Adam(net.Parameters, new AdamOptions { Lr = 0.05 });
            string dir = Path.Combine(Path.GetTempPath(), $"engine-fuzz-seed-{Guid.NewGuid():N}");
            try
            {
                Trainer = new Trainer(net, opt, new ExponentialLR(opt, 0.9), new TrainingOptions
                {
                    Epochs = 2, BatchSize = 4, Seed = 3, ScheduleStepping = ScheduleStepping.PerStep,
                    EarlyStopping = new EarlyStoppingOptions { Monitor = TrainingMetric.ValidationLoss, Patience = 5 },
                    Checkpoints = new CheckpointOptions { Directory = dir, EveryEpochs = 0, EverySteps = 3, AtEnd = false, Keep = 1 },
                });
                var data = Blobs(8);
                Trainer.Fit(data, Blobs(4));
                string weights = Trainer.FindLatestCheckpoint(dir) ?? throw new InvalidOperationException("the seed run wrote no checkpoint");
                Files =
                [
                    ("latest", "latest", File.ReadAllBytes(Path.Combine(dir, "latest"))),
                    ("weights", Path.GetFileName(weights), File.ReadAllBytes(weights)),
                    ("state", Path.GetFileName(Checkpoint.TrainingStatePath(weights)), File.ReadAllBytes(Checkpoint.TrainingStatePath(weights))),
                    ("best", Path.GetFileName(Trainer.BestWeightsPath(weights)), File.ReadAllBytes(Trainer.BestWeightsPath(weights))),
                ];
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        public Sequential Model { get; }

        public Trainer Trainer { get; }

        /// <summary>Role, file name and valid bytes of each file of the folder.</summary>
        public (string Role, string Name, byte[] Data)[] Files { get; }

        /// <summary>Everything a load may write, as one string (compared before and after a refused load).</summary>
        public string Snapshot()
        {
            var net = Trainer.Model;
            var opt = Trainer.Optimizer;
            var parts = new List<string>
            {
                Hash(net.Parameters.Values.ToArray()), Hash(net.Buffers.Values?.ToArray() ?? []),
                $"{opt.StepCount} {string.Join(",", opt.Groups.Select(g => $"{g.Lr:R}/{g.InitialLr:R}"))} {Trainer.Epoch} {Trainer.BatchInEpoch} {Trainer.StepCount} {Trainer.History.Count}",
                Trainer.Schedule!.StateDict().ToJsonString(),
            };
            parts.AddRange(opt.StateNames.Order(StringComparer.Ordinal).Select(n => Hash(opt.GetState(n).ToArray())));
            parts.AddRange(opt.ScalarStateNames.Select(n => string.Join(",", opt.GetScalarState(n))));
            return string.Join("|", parts);
        }

        private static string Hash(float[] v) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan())));

        private static InMemoryDataset Blobs(int n)
        {
            var f = new float[n * 4];
            var l = new int[n];
            for (int i = 0; i < n; i++)
            {
                l[i] = i % 3;
                for (int j = 0; j < 4; j++)
                {
                    f[(i * 4) + j] = (l[i] - 1) + (0.1f * (((i * 7) + (j * 3)) % 5));
                }
            }

            return new InMemoryDataset(f, l, new Shape(4), 3);
        }
    }
}
