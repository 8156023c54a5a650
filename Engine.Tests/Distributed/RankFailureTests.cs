// A rank that dies or hangs mid-training must not leave the others waiting: the job ends with an error naming the rank
// (Open MPI's when a process dies under a plain mpirun; the trainer's timeout when it hangs, or when mpirun keeps the
// job alive after a death), and the last checkpoint loads and training resumes from it.
using System;
using System.Text.RegularExpressions;
using Engine.Tests.Data;
using NUnit.Framework;

namespace Engine.Tests.Distributed;

[NonParallelizable]
public sealed class RankFailureTests
{
    private const int TimeoutSeconds = 8;

    /// <summary>Training that checkpoints every 3 steps and whose rank 1 fails at step 10 (after the checkpoint of step 9).</summary>
    private static string[] Training(TempDir dir, string failure) =>
        ["train", "--model", "mlp", "--epochs", "6", "--out", dir.Path, "--checkpoints", dir["ck"], "--every-steps", "3", failure, "10", "--timeout", TimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)];

    [Test]
    public void A_killed_rank_ends_the_job_naming_it_and_the_last_checkpoint_resumes()
    {
        using var dir = new TempDir();
        var r = RankJob.Mpi(2, Training(dir, "--die-at-step"));
        Assert.That(r.ExitCode, Is.Not.EqualTo(0), r.ToString());
        Assert.That(r.Output, Does.Contain("tripwire: killing this rank at step 10"));
        Assert.That(r.Output, Does.Match(@"process rank 1 with PID \d+ on node \S+ exited on signal 9"), r.ToString());
        Assert.That(r.Elapsed.TotalSeconds, Is.LessThan(TimeoutSeconds + 60), r.ToString());

        // Rank 1 does not wait for rank 0 to finish writing the checkpoint of step 9 before it dies in step 10, so mpirun
        // may kill rank 0 mid-write: then the "latest" pointer still names the checkpoint of step 8 (the end of epoch 1), complete and loadable.
        var resumed = Resume(dir);
        Assert.That(resumed.Output, Does.Match(@"rank 0 resumed from ckpt-00000(3-e0001-s000000008|4-e0001-s000000009)\.safetensors at step (8|9)"), resumed.ToString());
    }

    [Test]
    public void With_recovery_the_survivor_times_out_naming_the_dead_rank()
    {
        // mpirun --enable-recovery keeps the job alive when a process dies, so the trainer's own timeout must end it.
        using var dir = new TempDir();
        var r = RankJob.Mpi(2, ["--enable-recovery"], Training(dir, "--die-at-step"));
        Assert.That(r.Output, Does.Contain("tripwire: killing this rank at step 10"));
        var m = Regex.Match(r.Output, @"rank 0 error: ProcessGroupException: Data-parallel training stopped at step 10 \(epoch 2, batch 2\): Rank 0 of 2 timed out after 8 s in allreduce: rank 1 has sent no heartbeat for [\d.]+ s \(it died, was stopped, or cannot be reached\)\. The last checkpoint, \S+ckpt-000004-e0001-s000000009\.safetensors, is intact\.");
        Assert.That(m.Success, Is.True, r.ToString());
        Assert.That(r.Elapsed.TotalSeconds, Is.LessThan(TimeoutSeconds + 60), r.ToString());
        AssertResumesFromStep9(dir);
    }

    [Test]
    public void A_hung_rank_is_named_when_the_timeout_ends_the_job()
    {
        using var dir = new TempDir();
        var r = RankJob.Mpi(2, Training(dir, "--hang-at-step"));
        Assert.That(r.ExitCode, Is.Not.EqualTo(0), r.ToString());
        Assert.That(r.Output, Does.Contain("tripwire: this rank hangs at step 10"));
        Assert.That(r.Output, Does.Contain("rank 0 error: ProcessGroupException: Data-parallel training stopped at step 10 (epoch 2, batch 2): Rank 0 of 2 timed out after 8 s in allreduce: " +
            "rank 1 is alive but not inside any collective call (stuck or busy outside communication)."), r.ToString());
        // The timed-out rank ends the job, the hung one with it (the faulted group's disposal calls MPI_Abort): mpirun
        // exits non-zero (above) within the limit (below), though rank 1 never returns by itself. Open MPI's own
        // "MPI_ABORT was invoked" help text is not asserted: its ORTE layer sometimes fails to deliver it ("Data unpack
        // would read past end of buffer ... show_help.c"), seen in 2 of 5 full runs here.
        Assert.That(r.Elapsed.TotalSeconds, Is.LessThan(TimeoutSeconds + 60), r.ToString());
        AssertResumesFromStep9(dir);
    }

    private static void AssertResumesFromStep9(TempDir dir) =>
        Assert.That(Resume(dir).Output, Does.Contain("rank 0 resumed from ckpt-000004-e0001-s000000009.safetensors at step 9"));

    /// <summary>Loads the latest checkpoint in one process and trains to the end.</summary>
    private static RankJobResult Resume(TempDir dir)
    {
        var resumed = RankJob.Single("train", "--model", "mlp", "--epochs", "6", "--out", dir["resumed"], "--checkpoints", dir["ck"], "--resume");
        Assert.That(resumed.ExitCode, Is.EqualTo(0), resumed.ToString());
        Assert.That(resumed.Output, Does.Contain("rank 0 done: Completed after 48 steps"));
        return resumed;
    }
}
