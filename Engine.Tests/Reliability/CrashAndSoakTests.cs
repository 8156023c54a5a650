// Crash consistency and the soak, short enough for the suite (docs/reliability.md has the long runs and their
// numbers): a checkpointing child killed with SIGKILL resumes bit for bit, and a run's memory, allocator and kernel
// cache stay flat.
using System.IO;
using System.Linq;
using Engine.Reliability.Runs;
using NUnit.Framework;

namespace Engine.Tests.Reliability;

public sealed class CrashAndSoakTests
{
    [Test]
    public void A_training_child_killed_mid_checkpoint_resumes_bit_for_bit()
    {
        using var log = new StringWriter();
        var r = CrashKill.Run(kills: 6, seed: 7, log);
        TestContext.Out.WriteLine(log.ToString());
        Assert.That(r.Problems, Is.Empty, log.ToString());
        Assert.That(r.Kills, Is.EqualTo(6));
        Assert.That(r.Completions, Is.GreaterThanOrEqualTo(1), "a killed run was resumed to its end and compared");
    }

    [Test]
    public void A_short_soak_holds_the_allocator_and_kernel_cache_flat()
    {
        using var log = new StringWriter();
        var r = Soak.Run(1200, log, samples: 10);
        TestContext.Out.WriteLine(log.ToString());
        Assert.That(r.Samples, Has.Count.EqualTo(10));
        // Exact: no allocator byte and no kernel more after warm-up. The managed heap is not asserted here: in the test
        // process other tests' threads allocate beside it (the trainer's own steps are checked by TrainerAllocationTests,
        // and `./build.sh soak` measures the heap in a process of its own).
        Assert.That((r.ReservedSlope, r.KernelGrowth), Is.EqualTo((0.0, 0)), log.ToString());
        Assert.That(r.Samples.Select(x => x.AllocatorReserved).Distinct().Count(), Is.EqualTo(1), log.ToString());
    }
}
