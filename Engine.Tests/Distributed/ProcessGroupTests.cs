// Process groups in this process: the one-process group's collectives and argument checks, the choice made from the
// environment, Open MPI and NCCL libraries that are missing (the error says what to install), NCCL on a non-CUDA device,
// and a trainer given a group of one rank training exactly as without one.
using System;
using Engine.Data;
using Engine.Distributed;
using Engine.Nn;
using Engine.Optim;
using Engine.Tests.Infrastructure;
using Engine.Training;
using NUnit.Framework;
using static Engine.Tests.Training.TrainingTestUtil;

namespace Engine.Tests.Distributed;

public sealed class ProcessGroupTests
{
    private static Device Host => TestDevices.Get(new DeviceConfig("cpu-host", DeviceKind.Cpu, ForceKernels: false));

    [Test]
    public void The_single_process_group_is_rank_0_of_1_and_its_collectives_keep_the_values()
    {
        using var g = ProcessGroup.Single();
        Assert.That((g.Rank, g.Size, g.LocalRank, g.LocalSize, g.Backend, g.IsRoot), Is.EqualTo((0, 1, 0, 1, "single", true)));
        float[] f = [1.5f, -2f];
        g.AllReduceSum(f);
        Assert.That(f, Is.EqualTo(new[] { 1.5f, -2f }));
        double[] d = [3.25];
        g.AllReduceSum(d);
        Assert.That(d[0], Is.EqualTo(3.25));
        float[] b = [7f];
        g.Broadcast(b, 0);
        Assert.That(b[0], Is.EqualTo(7f));
        var all = new float[2];
        g.AllGather([4f, 5f], all);
        Assert.That(all, Is.EqualTo(new[] { 4f, 5f }));
        using var t = Tensor.FromHost(Host, [1f, 2f], new Shape(2));
        g.AllReduceSum(t);
        g.Broadcast(t, 0);
        Assert.That(t.ToArray(), Is.EqualTo(new[] { 1f, 2f }));
        g.Barrier();
        Assert.That(g.IsFaulted, Is.False);
    }

    [Test]
    public void Bad_arguments_are_named()
    {
        using var g = ProcessGroup.Single();
        var root = Assert.Throws<ArgumentOutOfRangeException>(() => g.Broadcast(new float[1], 1));
        Assert.That(root!.ParamName, Is.EqualTo("root"));
        var gather = Assert.Throws<ArgumentException>(() => g.AllGather([1f], new float[3]));
        Assert.That(gather!.ParamName, Is.EqualTo("all"));
        Assert.That(gather.Message, Does.Contain("Size * mine.Length = 1 * 4"));
        Assert.Throws<ArgumentOutOfRangeException>(() => g.Timeout = TimeSpan.Zero);
        g.Timeout = TimeSpan.FromSeconds(3);
        Assert.That(g.Timeout, Is.EqualTo(TimeSpan.FromSeconds(3)));
    }

    [Test]
    public void Outside_mpirun_the_environment_gives_one_process()
    {
        Assert.That(MpiProcessGroup.LaunchedByMpirun, Is.False, "the test process was not started by mpirun");
        using var g = ProcessGroup.FromEnvironment(TimeSpan.FromSeconds(5));
        Assert.That((g.Backend, g.Size, g.Timeout), Is.EqualTo(("single", 1, TimeSpan.FromSeconds(5))));
    }

    [Test]
    public void Open_mpi_is_installed_here_and_a_missing_library_says_what_to_install()
    {
        Assert.DoesNotThrow(() => MpiLibrary.Load(), "libmpi.so.40 loads (CI installs openmpi-bin; install it locally too)");
        var e = Assert.Throws<DllNotFoundException>(() => MpiLibrary.Load("/nonexistent/libmpi.so.40"));
        Assert.That(e!.Message, Does.Contain("apt-get install -y openmpi-bin"));
        Assert.That(e.Message, Does.Contain("libopenmpi3"));
        Assert.That(e.Message, Does.Contain("/nonexistent/libmpi.so.40"));
    }

    [Test]
    public void Nccl_needs_a_cuda_device_and_a_missing_library_says_what_to_install()
    {
        using var g = ProcessGroup.Single();
        var device = Assert.Throws<ArgumentException>(() => NcclProcessGroup.Create(Host, g));
        Assert.That(device!.ParamName, Is.EqualTo("device"));
        Assert.That(device.Message, Does.Contain("is Cpu"));
        Assert.Throws<ArgumentNullException>(() => NcclProcessGroup.Create(Host, null!));
        var lib = Assert.Throws<DllNotFoundException>(() => NcclLibrary.Load("/nonexistent/libnccl.so.2"));
        Assert.That(lib!.Message, Does.Contain("apt-get install -y libnccl2"));
        Assert.That(lib.Message, Does.Contain("MpiProcessGroup"));
    }

    [Test]
    public void Distributed_options_are_validated()
    {
        using var g = ProcessGroup.Single();
        using var model = Mlp(4, 8, 3);
        using var net = model.Compile(Host, [8, 4], Loss.CrossEntropy());
        using var opt = new Sgd(net.Parameters, new SgdOptions { LR = 0.1 });
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Trainer(net, opt, null, new TrainingOptions { Distributed = new DistributedOptions { Group = g, BucketBytes = 2 } }));
        Assert.That(e!.Message, Does.Contain("TrainingOptions.Distributed.BucketBytes must be at least 4 (got 2)"));
    }

    [Test]
    public void A_trainer_on_a_group_of_one_trains_exactly_as_without_one()
    {
        var data = Blobs(64, 4, 3, 2);
        float[] Train(ProcessGroup? g)
        {
            using var model = Mlp(4, 8, 3, batchNorm: true);
            using var net = model.Compile(Host, [16, 4], Loss.CrossEntropy(), new CompileOptions { Seed = 5 });
            using var opt = new Sgd(net.Parameters, new SgdOptions { LR = 0.1, Momentum = 0.9 });
            using var trainer = new Trainer(net, opt, null, new TrainingOptions
            {
                Epochs = 2, BatchSize = 16, Seed = 3, Distributed = g is null ? null : new DistributedOptions { Group = g },
            });
            // One rank reduces nothing: no gradient reducer, so no communication thread (HostOptionsTests lists it).
            Assert.That(trainer.Reducer, Is.Null);
            trainer.Fit(data, data);
            return State(net);
        }

        using var one = ProcessGroup.Single();
        AssertBitwise(Train(one), Train(null), "parameters and buffers with a one-rank group against none");
    }
}
