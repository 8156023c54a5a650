// Data-parallel training end to end under mpirun: R ranks with batch B/R train to the parameters one process reaches
// with batch B (an MLP, and a CNN with synchronized batch norm, whose running statistics are compared too; a regression
// on float targets and a triplet embedding too), with the task metrics of training and of a sharded validation those of
// one process; every rank ends bit-identical; resuming works on the same and on another number of ranks; a stop on one rank stops all; a rank
// with another model is named; the collectives return what they should; and a step allocates nothing once warm.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Engine.Tests.Data;
using Engine.Tests.Training;
using NUnit.Framework;

namespace Engine.Tests.Distributed;

[NonParallelizable]
public sealed class DataParallelTests
{
    // Gradients are summed over the ranks by Open MPI (for 2 ranks one float addition, the same on both) and scaled by
    // 1 / R; one process sums the same samples' gradients inside its GEMMs in another order. Batch norm's statistics
    // are combined from per-rank means and variances in double. So parameters agree to float rounding, not bit for bit.
    private const float Tolerance = 2e-5f;

    [Test]
    public void Collectives_give_every_rank_the_right_values()
    {
        var r = RankJob.Mpi(3, "collectives");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        foreach (string name in new[] { "allreduce-float", "allreduce-double", "allreduce-int64", "allreduce-12MiB", "broadcast", "allgather", "allreduce-tensor", "broadcast-tensor", "barrier" })
        {
            for (int rank = 0; rank < 3; rank++)
            {
                Assert.That(r.Output, Does.Contain($"rank {rank} ok {name}"), r.ToString());
            }
        }

        Assert.That(r.Output, Does.Contain("rank 2 of 3 local 2 of 3 backend mpi"));
    }

    [TestCase("mlp", 2, 2)]
    [TestCase("cnn", 2, 4)]
    [TestCase("cnn", 4, 2)]
    public void Ranks_with_a_share_of_the_batch_reach_the_parameters_of_one_process(string model, int ranks, int epochs)
    {
        using var dir = new TempDir();
        string e = epochs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var one = RankJob.Single("train", "--model", model, "--batch", "32", "--epochs", e, "--out", dir["one"]);
        Assert.That(one.ExitCode, Is.EqualTo(0), one.ToString());

        // Ranks other than 0 start from other weights: the trainer's broadcast from rank 0 must make them equal.
        var many = RankJob.Mpi(ranks, "train", "--model", model, "--batch", "32", "--epochs", e, "--out", dir["many"], "--scramble-init");
        Assert.That(many.ExitCode, Is.EqualTo(0), many.ToString());
        var reference = RankJob.State(dir["one"], 0);
        var rank0 = RankJob.State(dir["many"], 0);
        for (int r = 1; r < ranks; r++)
        {
            TrainingTestUtil.AssertBitwise(RankJob.State(dir["many"], r), rank0, $"rank {r}'s parameters and buffers against rank 0's");
        }

        AssertClose(rank0, reference, $"{ranks} ranks with batch {32 / ranks} against one process with batch 32 ({model}, {epochs} epochs)");
        Assert.That(File.ReadAllText(Path.Combine(dir["many"], "summary.rank0.txt")), Does.Contain("reason Completed"));
        Assert.That(reference.Skip(1).Any(v => v != reference[0]), Is.True, "the state is not trivially constant");
    }

    [TestCase("mlp", 2)]
    [TestCase("reg", 2)]
    [TestCase("triplet", 2)]
    [TestCase("reg", 3)]
    public void Task_metrics_of_ranks_are_those_of_one_process(string model, int ranks)
    {
        // The validation set has 101 samples: uneven shards (51 and 50 on two ranks, 34, 34 and 33 on three). Training
        // metrics are summed over the ranks after every step; validation metrics combine the ranks' shard contributions
        // (counts and sums; for the triplet model also kNN accuracy, whose embeddings are gathered to every rank).
        using var dir = new TempDir();
        string[] common = ["train", "--model", model, "--batch", "24", "--epochs", "2", "--val-samples", "101", "--samples", "192", "--lr", model == "mlp" ? "0.1" : "0.02"];
        var one = RankJob.Single([.. common, "--out", dir["one"]]);
        Assert.That(one.ExitCode, Is.EqualTo(0), one.ToString());
        var many = RankJob.Mpi(ranks, [.. common, "--out", dir["many"]]);
        Assert.That(many.ExitCode, Is.EqualTo(0), many.ToString());

        AssertClose(RankJob.State(dir["many"], 0), RankJob.State(dir["one"], 0), $"{model}: {ranks} ranks against one process");
        var want = Metrics(dir["one"], 0);
        var got = Metrics(dir["many"], 0);
        for (int r = 1; r < ranks; r++)
        {
            Assert.That(Metrics(dir["many"], r), Is.EqualTo(got), $"rank {r} reports rank 0's metrics");
        }

        string[] expected = model switch
        {
            "reg" => ["train mae", "train rmse", "train r2", "val mae", "val rmse", "val r2", "val_loss"],
            "triplet" => ["train triplet_accuracy", "val triplet_accuracy", "val knn_accuracy", "val_loss"],
            _ => ["train accuracy", "val accuracy", "val_loss"],
        };
        Assert.That(want.Keys.Select(k => k[(k.IndexOf(' ', StringComparison.Ordinal) + 1)..]).Distinct(), Is.EquivalentTo(expected), "the task's metrics");
        Assert.That(got.Keys, Is.EqualTo(want.Keys));
        foreach (var (name, w) in want)
        {
            double g = got[name];
            Assert.That(double.IsFinite(w), Is.True, $"{name} is measured");

            // Accuracies are counts of the same decisions: equal. Losses and errors follow parameters equal to float rounding.
            double tolerance = name.EndsWith("accuracy", StringComparison.Ordinal) ? 0 : 1e-4 * Math.Max(1, Math.Abs(w));
            Assert.That(g, Is.EqualTo(w).Within(tolerance), $"{model}, {ranks} ranks: {name}");
        }
    }

    /// <summary>"epoch name" -> value for every metric of every epoch in a rank's summary (train_, val_ and val_loss).</summary>
    private static Dictionary<string, double> Metrics(string dir, int rank)
    {
        var found = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string line in File.ReadAllLines(Path.Combine(dir, $"summary.rank{rank}.txt")))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f[0] == "epoch")
            {
                found[$"{f[1]} val_loss"] = double.Parse(f[7], CultureInfo.InvariantCulture);
            }
            else if (f[0] == "metrics")
            {
                string part = string.Empty;
                foreach (string field in f[2..])
                {
                    int eq = field.IndexOf('=', StringComparison.Ordinal);
                    if (eq < 0)
                    {
                        part = field;
                        continue;
                    }

                    found[$"{f[1]} {part} {field[..eq]}"] = double.Parse(field[(eq + 1)..], CultureInfo.InvariantCulture);
                }
            }
        }

        return found;
    }

    [Test]
    public void A_stop_on_rank_0_stops_every_rank_and_training_resumes_on_one_two_or_four_ranks()
    {
        using var dir = new TempDir();
        var one = RankJob.Single("train", "--model", "cnn", "--epochs", "4", "--out", dir["one"]);
        Assert.That(one.ExitCode, Is.EqualTo(0), one.ToString());

        // Rank 0's token is cancelled after step 2; the ranks agree on it with step 3 and all stop there (mid-epoch:
        // 4 steps per epoch), writing a checkpoint at the end of Fit.
        var stopped = RankJob.Mpi(2, "train", "--model", "cnn", "--epochs", "4", "--out", dir["stopped"], "--checkpoints", dir["ck"], "--stop-at-step", "2");
        Assert.That(stopped.ExitCode, Is.EqualTo(0), stopped.ToString());
        Assert.That(stopped.Output, Does.Contain("rank 0 done: Cancelled after 3 steps"));
        Assert.That(stopped.Output, Does.Contain("rank 1 done: Cancelled after 3 steps"));
        CopyDirectory(dir["ck"], dir["ck4"]);

        var onOne = RankJob.Single("train", "--model", "cnn", "--epochs", "4", "--out", dir["one-resumed"], "--checkpoints", dir["ck"], "--resume");
        Assert.That(onOne.ExitCode, Is.EqualTo(0), onOne.ToString());
        Assert.That(onOne.Output, Does.Contain("resumed from ckpt-000001-e0000-s000000003.safetensors at step 3"));
        var onFour = RankJob.Mpi(4, "train", "--model", "cnn", "--epochs", "4", "--out", dir["four-resumed"], "--checkpoints", dir["ck4"], "--resume");
        Assert.That(onFour.ExitCode, Is.EqualTo(0), onFour.ToString());
        Assert.That(onFour.Output, Does.Contain("rank 3 resumed from ckpt-000001-e0000-s000000003.safetensors at step 3"));

        var reference = RankJob.State(dir["one"], 0);
        AssertClose(RankJob.State(dir["one-resumed"], 0), reference, "2 ranks for 3 steps, then 1 rank, against 1 rank throughout");
        AssertClose(RankJob.State(dir["four-resumed"], 0), reference, "2 ranks for 3 steps, then 4 ranks, against 1 rank throughout");
    }

    [Test]
    public void A_rank_with_another_model_is_named_before_training()
    {
        using var dir = new TempDir();
        var r = RankJob.Mpi(2, "train", "--model", "mlp", "--out", dir.Path, "--mismatch");
        Assert.That(r.ExitCode, Is.Not.EqualTo(0), r.ToString());
        Assert.That(r.Output, Does.Contain("rank 1's model is not rank 0's: 6 parameters (492 values)"), r.ToString());
        Assert.That(r.Output, Does.Contain("against 6 parameters (467 values) and 0 buffers (0 values) on rank 0"));
    }

    [Test]
    public void A_data_parallel_step_allocates_nothing_once_warm()
    {
        using var dir = new TempDir();
        var r = RankJob.Mpi(2, "train", "--model", "cnn", "--out", dir.Path, "--alloc", "--samples", "512");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        for (int rank = 0; rank < 2; rank++)
        {
            // "rank R alloc thread A B process C D": one-epoch Fits of 3 and of 16 steps.
            var f = File.ReadAllText(Path.Combine(dir.Path, $"alloc.rank{rank}.txt")).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long threadFew = long.Parse(f[4]), threadMany = long.Parse(f[5]), processFew = long.Parse(f[7]), processMany = long.Parse(f[8]);
            Assert.That(threadMany, Is.EqualTo(threadFew), $"rank {rank}: bytes the training thread allocated in a warm Fit of 16 steps and of 3");
            Assert.That(processMany, Is.EqualTo(processFew), $"rank {rank}: bytes every thread (communication, heartbeats, loader) allocated in a warm Fit of 16 steps and of 3");
        }
    }

    internal static void AssertClose(float[] got, float[] want, string what)
    {
        Assert.That(got.Length, Is.EqualTo(want.Length), what);
        for (int i = 0; i < got.Length; i++)
        {
            float bound = Tolerance * Math.Max(1f, Math.Abs(want[i]));
            if (!(Math.Abs(got[i] - want[i]) <= bound))
            {
                Assert.Fail($"{what}: element {i} of {got.Length} is {got[i]:R}, expected {want[i]:R} (within {bound:G3})");
            }
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string f in Directory.EnumerateFiles(from))
        {
            File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        }
    }
}
