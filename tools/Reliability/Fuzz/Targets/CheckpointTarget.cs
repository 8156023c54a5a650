// Fuzz target: a training checkpoint folder (latest pointer, weights, training state, early stopping's best weights)
// loaded by Trainer.LoadCheckpoint. The first input byte picks the file the rest replaces in a valid folder. A refused
// load must leave the model, optimizer, schedule and trainer exactly as they were.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Engine.Checkpoints;
using Engine.Reliability.Runs;
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
            string dir = Path.Combine(Path.GetTempPath(), $"engine-fuzz-seed-{Guid.NewGuid():N}");
            try
            {
                Run = new TinyRun(2, new CheckpointOptions { Directory = dir, EveryEpochs = 0, EverySteps = 3, AtEnd = false, Keep = 1 },
                    new EarlyStoppingOptions { Monitor = TrainingMetric.ValidationLoss, Patience = 5 });
                Run.Trainer.Fit(TinyRun.Blobs(8), TinyRun.Blobs(4));
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

        public TinyRun Run { get; }

        public Trainer Trainer => Run.Trainer;

        /// <summary>Role, file name and valid bytes of each file of the folder.</summary>
        public (string Role, string Name, byte[] Data)[] Files { get; }

        /// <summary>Everything a load may write, as one string (compared before and after a refused load).</summary>
        public string Snapshot()
        {
            var opt = Trainer.Optimizer;
            var parts = new List<string>
            {
                Run.WeightsHash(),
                $"{opt.StepCount} {string.Join(",", opt.Groups.Select(g => $"{g.LR:R}/{g.InitialLR:R}"))} {Trainer.Epoch} {Trainer.BatchInEpoch} {Trainer.StepCount} {Trainer.History.Count}",
                Trainer.Schedule!.StateDict().ToJsonString(),
            };
            parts.AddRange(opt.StateNames.Order(StringComparer.Ordinal).Select(n => Hash(opt.GetState(n).ToArray())));
            parts.AddRange(opt.ScalarStateNames.Select(n => string.Join(",", opt.GetScalarState(n))));
            return string.Join("|", parts);
        }

        private static string Hash(float[] v) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan())));
    }
}
