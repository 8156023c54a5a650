// The sample's --ranks: the options, the mpirun command it builds (the built dll under dotnet, the host threads split
// between the ranks of one machine, a hostfile for several machines), and a real two-rank run on tiny digits that ends
// with the accuracy.
using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
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
        var local = RankLauncher.Arguments(o.Ranks, o.Hostfile, ["--ranks", "2", "--epochs", "3"], "dotnet", "/app/MnistTrainer.dll", root: true, threads: 8);
        Assert.That(string.Join(' ', local), Is.EqualTo(
            "-np 2 --allow-run-as-root --oversubscribe -x ENGINE_THREADS=4 -x DOTNET_PROCESSOR_COUNT=4 -x TERM=dumb dotnet /app/MnistTrainer.dll --ranks 2 --epochs 3"));
        var several = RankLauncher.Arguments(4, "hosts", ["--ranks", "4", "--hostfile", "hosts"], "/usr/bin/dotnet", "/app/MnistTrainer.dll", root: false, threads: 2);
        Assert.That(string.Join(' ', several), Is.EqualTo("-np 4 --hostfile hosts -x TERM=dumb /usr/bin/dotnet /app/MnistTrainer.dll --ranks 4 --hostfile hosts"));
        var many = RankLauncher.Arguments(4, null, [], "dotnet", "x.dll", false, 2);
        Assert.That(many, Does.Contain("ENGINE_THREADS=1").And.Contain("DOTNET_PROCESSOR_COUNT=1"), "never below one thread");
        var capped = RankLauncher.Arguments(2, null, [], "dotnet", "x.dll", false, threads: 3);
        Assert.That(capped, Does.Contain("ENGINE_THREADS=1"), "a launcher capped at 3 threads gives 2 ranks one each, not 4 cores' worth");
    }

    [Test]
    public void A_rank_takes_its_share_of_its_machine_unless_a_cap_is_set()
    {
        // 16 cores, 4 of the job's ranks on this machine: 4 threads each; never below one.
        Assert.That(RankLauncher.Share(limit: null, variable: null, cores: 16, localRanks: 4), Is.EqualTo(4));
        Assert.That(RankLauncher.Share(null, " ", 2, 3), Is.EqualTo(1));
        Assert.That(RankLauncher.Share(null, null, 8, 1), Is.EqualTo(8));

        // The user's (or --ranks's) ENGINE_THREADS, or a limit the host set, stays.
        Assert.That(RankLauncher.Share(null, "6", 16, 4), Is.Null);
        Assert.That(RankLauncher.Share(2, null, 16, 4), Is.Null);
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

    [Test]
    public void A_task_sample_on_two_ranks_reports_the_metrics_of_one_process()
    {
        // The regression sample on a written CSV (240 training rows, 60 test rows: 30 per rank), once in one process and
        // once with --ranks 2 (16 of every batch of 32 per rank): the same epochs, the same metrics to float rounding.
        using var tmp = new TempDir();
        var rng = new Random(9);
        var csv = new StringBuilder("a,b,y\n");
        for (int i = 0; i < 300; i++)
        {
            double a = rng.NextDouble() * 4, b = (rng.NextDouble() * 2) - 1;
            csv.Append(CultureInfo.InvariantCulture, $"{a:F4},{b:F4},{(3 * a) - (2 * b * b) + (0.1 * rng.NextDouble()):F4}\n");
        }

        File.WriteAllText(tmp["data.csv"], csv.ToString());
        string[] common = ["regression", "--csv", tmp["data.csv"], "--target", "y", "--device", "cpu", "--epochs", "4"];
        var one = RankJob.Dotnet("MnistTrainer.dll", [.. common, "--out", tmp["one"]]);
        Assert.That(one.ExitCode, Is.EqualTo(0), one.ToString());
        var two = RankJob.Dotnet("MnistTrainer.dll", [.. common, "--out", tmp["two"], "--ranks", "2"]);
        Assert.That(two.ExitCode, Is.EqualTo(0), two.ToString());
        Assert.That(two.Output, Does.Contain("Starting 2 ranks:").And.Contain("Data-parallel training on 2 ranks (mpi)"), two.ToString());
        Assert.That(two.Output.Split('\n').Count(l => l.StartsWith("test RMSE:", StringComparison.Ordinal)), Is.EqualTo(1), "rank 0 alone reports");

        var want = TrainingLog.ReadJson(Path.Combine(tmp["one"], "metrics.json"));
        var got = TrainingLog.ReadJson(Path.Combine(tmp["two"], "metrics.json"));
        Assert.That((want.Run["ranks"], got.Run["ranks"]), Is.EqualTo(("1", "2")));
        Assert.That(got.Epochs.Select(e => e.Epoch), Is.EqualTo(want.Epochs.Select(e => e.Epoch)));
        for (int e = 0; e < want.Epochs.Count; e++)
        {
            foreach (var (kind, w, g) in new[] { ("train", want.Epochs[e].TrainMetrics, got.Epochs[e].TrainMetrics), ("validation", want.Epochs[e].ValidationMetrics, got.Epochs[e].ValidationMetrics) })
            {
                Assert.That(g.Keys, Is.EqualTo(new[] { "mae", "rmse", "r2" }), kind);
                foreach (var (name, value) in w)
                {
                    Assert.That(g[name], Is.EqualTo(value).Within(1e-4 * Math.Max(1, Math.Abs(value))), $"epoch {e + 1} {kind} {name}");
                }
            }

            Assert.That(got.Epochs[e].ValidationLoss, Is.EqualTo(want.Epochs[e].ValidationLoss).Within(1e-4), $"epoch {e + 1} validation loss");
        }
    }
}
