// The sample's --ranks: the options, the mpirun command it builds (the built dll under dotnet, one thread per rank on a
// shared machine, a hostfile for several machines), and a real two-rank run on tiny digits that ends with the accuracy.
using System;
using System.IO;
using System.Linq;
using Engine.Data.Mnist;
using Engine.Tests.Data;
using Engine.Tests.Distributed;
using Engine.Training;
using MnistTrainer;
using NUnit.Framework;

namespace Engine.Tests.Samples;

[NonParallelizable]
public sealed class RankLaunchTests
{
    [Test]
    public void Ranks_hostfile_and_timeout_are_parsed_and_checked()
    {
        var o = TrainerOptions.Parse(["--ranks", "4", "--batch-size", "64", "--hostfile", "hosts", "--timeout", "30"]).Options!;
        Assert.That((o.Ranks, o.Hostfile, o.TimeoutSeconds), Is.EqualTo((4, "hosts", 30.0)));
        Assert.That(TrainerOptions.Parse([]).Options!.Ranks, Is.EqualTo(1));
        Assert.That(TrainerOptions.Parse(["--ranks", "3"]).Error, Is.EqualTo("--batch-size 32 must be divisible by --ranks 3: each rank trains on batch-size / ranks samples per step"));
        Assert.That(TrainerOptions.Parse(["--ranks", "0"]).Error, Is.EqualTo("--ranks must be a whole number from 1 to 1024; got '0'"));
        Assert.That(TrainerOptions.Parse(["--hostfile", "h"]).Error, Is.EqualTo("--hostfile needs --ranks N with N above 1"));
        Assert.That(TrainerOptions.Parse(["--timeout", "0"]).Error, Does.StartWith("--timeout must be a number of seconds above 0"));
        string help = TrainerOptions.Help;
        Assert.That(help, Does.Contain("--ranks N").And.Contain("--hostfile FILE").And.Contain("--timeout S"));
    }

    [Test]
    public void The_launcher_runs_the_built_dll_under_mpirun()
    {
        var o = TrainerOptions.Parse(["--ranks", "2", "--epochs", "3"]).Options!;
        var local = RankLauncher.Arguments(o.Ranks, o.Hostfile, ["--ranks", "2", "--epochs", "3"], "dotnet", "/app/MnistTrainer.dll", root: true, cores: 8);
        Assert.That(string.Join(' ', local), Is.EqualTo(
            "-np 2 --allow-run-as-root --oversubscribe -x ENGINE_THREADS=4 -x DOTNET_PROCESSOR_COUNT=4 -x TERM=dumb dotnet /app/MnistTrainer.dll --ranks 2 --epochs 3"));
        var several = RankLauncher.Arguments(4, "hosts", ["--ranks", "4", "--hostfile", "hosts"], "/usr/bin/dotnet", "/app/MnistTrainer.dll", root: false, cores: 2);
        Assert.That(string.Join(' ', several), Is.EqualTo("-np 4 --hostfile hosts -x TERM=dumb /usr/bin/dotnet /app/MnistTrainer.dll --ranks 4 --hostfile hosts"));
        var many = RankLauncher.Arguments(4, null, [], "dotnet", "x.dll", false, 2);
        Assert.That(many, Does.Contain("ENGINE_THREADS=1").And.Contain("DOTNET_PROCESSOR_COUNT=1"), "never below one thread");
    }

    [Test]
    public void Two_ranks_train_the_sample_end_to_end()
    {
        using var tmp = new TempDir();
        var rng = new Random(5);
        foreach (var (split, count) in new[] { (MnistSplit.Train, 64), (MnistSplit.Test, 30) })
        {
            var (images, labels) = Mnist.FileNamesOf(split);
            var px = new byte[count * 784];
            rng.NextBytes(px);
            IdxFile.Write(Path.Combine(tmp.Path, images), px, [count, 28, 28]);
            IdxFile.Write(Path.Combine(tmp.Path, labels), [.. Enumerable.Range(0, count).Select(i => (byte)(i % 10))], [count]);
        }

        string outDir = tmp["out"];
        var r = RankJob.Dotnet("MnistTrainer.dll", "--ranks", "2", "--data", tmp.Path, "--out", outDir, "--device", "cpu", "--epochs", "2", "--batch-size", "16", "--model", "mlp");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Output, Does.Contain("Starting 2 ranks:").And.Contain("Data-parallel training on 2 ranks (mpi)"), r.ToString());
        Assert.That(r.Output.TrimEnd().Split('\n').Last(), Does.Match(@"^test accuracy: \d+\.\d\d% \(30 samples\)$"), r.ToString());
        Assert.That(r.Output.Split('\n').Count(l => l.StartsWith("test accuracy:", StringComparison.Ordinal)), Is.EqualTo(1), "rank 0 alone reports");
        var log = TrainingLog.ReadJson(Path.Combine(outDir, "metrics.json"));
        Assert.That(log.Run["ranks"], Is.EqualTo("2"));
        Assert.That(log.Epochs.Select(e => e.Epoch), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(File.Exists(Path.Combine(outDir, "model.safetensors")), Is.True);
    }
}
