// The memory planner: buffers live at once never overlap, memory is reused, inference plans keep nothing for
// backward, and a warm training step allocates neither device nor managed memory.
using System;
using System.Linq;
using Engine.Nn;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Graph;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class MemoryPlanTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    internal static Module DeepMlp() => new Sequential(
        new Linear(16, 64), new Linear(64, 64), new Linear(64, 64), new Linear(64, 64), new Flatten(), new Linear(64, 64), new Linear(64, 4));

    internal static void AssertNoLiveOverlap(MemoryPlan plan)
    {
        var b = plan.Buffers;
        for (int i = 0; i < b.Count; i++)
        {
            Assert.That(b[i].Offset + b[i].Bytes, Is.LessThanOrEqualTo(plan.PeakBytes), b[i].Label);
            Assert.That(b[i].Offset % 256, Is.Zero, $"{b[i].Label} is aligned");
            for (int j = i + 1; j < b.Count; j++)
            {
                bool together = b[i].FirstStep <= b[j].LastStep && b[j].FirstStep <= b[i].LastStep;
                bool overlap = b[i].Offset < b[j].Offset + b[j].Bytes && b[j].Offset < b[i].Offset + b[i].Bytes;
                Assert.That(together && overlap, Is.False, $"{b[i]} and {b[j]} are live together and share memory\n{plan}");
            }
        }
    }

    [Test]
    public void Live_buffers_never_share_memory_and_dead_ones_are_reused()
    {
        using var model = DeepMlp();
        using var train = model.Compile(Dev, [8, 16]);
        using var infer = model.Compile(Dev, [8, 16], options: new CompileOptions { Training = false });
        AssertNoLiveOverlap(train.Memory);
        AssertNoLiveOverlap(infer.Memory);
        Assert.That(train.Memory.PeakBytes, Is.LessThan(train.Memory.UnsharedBytes), train.Memory.ToString());
        Assert.That(train.Memory.PeakBytes, Is.GreaterThanOrEqualTo(train.Memory.LiveBytesLowerBound));
        Assert.That(infer.Memory.PeakBytes, Is.LessThan(train.Memory.PeakBytes), "inference keeps nothing for backward");
        TestContext.Out.WriteLine(train.Memory.ToString());
        TestContext.Out.WriteLine(infer.Memory.ToString());
    }

    [Test]
    public void An_inference_plan_keeps_no_activation_for_backward()
    {
        using var model = new Sequential(new Linear(16, 64), new Linear(64, 64), new Linear(64, 64), new Linear(64, 64), new Linear(64, 4));
        using var infer = model.Compile(Dev, [8, 16], options: new CompileOptions { Training = false });
        var plan = infer.Memory;
        Assert.That(plan.Steps, Is.EqualTo(plan.ForwardSteps));
        Assert.That(plan.Buffers.Select(b => b.Kind), Has.None.EqualTo(BufferKind.Gradient).And.None.EqualTo(BufferKind.PartialGradient));
        foreach (var b in plan.Buffers.Where(b => b.Kind == BufferKind.Activation))
        {
            Assert.That(b.LastStep - b.FirstStep, Is.LessThanOrEqualTo(1), $"{b.Label} lives only until its consumer");
        }

        // Two 8x64 activations at a time in a chain, plus the input; the output reuses a dead activation.
        Assert.That(plan.PeakBytes, Is.EqualTo((2 * 8 * 64 * 4) + (8 * 16 * 4)));
    }

    [Test]
    public void Flatten_is_a_view_and_shares_its_gradient()
    {
        using var model = new Sequential(new Linear(6, 6), new Flatten(), new Linear(6, 2));
        using var net = model.Compile(Dev, [3, 6]);
        Assert.That(net.Memory.Buffers.Select(b => b.Label), Has.None.EqualTo("1"), "Flatten has no buffer of its own");
        Assert.That(net.Memory.Buffers.Select(b => b.Label), Has.None.EqualTo("grad 0"), "its input's gradient is its output's");
        GraphTestUtil.Randomize(net.Parameters, 1);
        GraphTestUtil.RandomInputs(net, 2);
        GraphTestUtil.AssertGradients(net);
    }

    [Test]
    public void A_warm_training_step_allocates_no_device_memory()
    {
        using var model = DeepMlp();
        using var net = model.Compile(Dev, [8, 16]);
        using var seed = ExecutorTests.Seed(net);
        GraphTestUtil.RandomInputs(net, 3);
        net.Forward();
        net.Backward(seed);
        Dev.Synchronize();
        var before = Dev.Allocator.Stats;
        for (int i = 0; i < 3; i++)
        {
            net.Forward();
            net.Backward();
        }

        Dev.Synchronize();
        var after = Dev.Allocator.Stats;
        // Some kernel-path ops rent scratch per call from the allocator's cache: that is no device allocation.
        Assert.That(after.DeviceAllocations, Is.EqualTo(before.DeviceAllocations));
        Assert.That(after.BytesInUse, Is.EqualTo(before.BytesInUse));
    }
}

/// <summary>On the CPU host path a warm training step allocates no managed memory either.</summary>
public sealed class HostStepAllocationTests
{
    [Test]
    public void A_warm_cnn_training_step_with_loss_and_optimizer_allocates_nothing()
    {
        var dev = TestDevices.Get(new DeviceConfig("cpu-host", DeviceKind.Cpu, ForceKernels: false));
        using var model = new Sequential(
            new Conv2d(1, 4, 3, padding: 1), new BatchNorm2d(4), new Relu(), new MaxPool2d(2),
            new Residual(new Conv2d(4, 4, 3, padding: 1), new Relu()), new Dropout(0.2f),
            new Flatten(), new Linear(4 * 4 * 4, 10));
        using var net = model.Compile(dev, [16, 1, 8, 8], Loss.CrossEntropy());
        using var opt = new Engine.Optim.Adam(net.Parameters, new Engine.Optim.AdamOptions { LR = 1e-3 });
        var x = HostMath.Random(16 * 64, 6);
        var y = Enumerable.Range(0, 16).Select(i => (float)(i % 10)).ToArray();
        // Warm up past tiered JIT compilation (its call counting and rewrites allocate).
        for (int i = 0; i < 60; i++)
        {
            net.ForwardBackward(x, y);
            opt.Step();
        }

        dev.Synchronize();
        var stats = dev.Allocator.Stats;
        long total = GC.GetTotalAllocatedBytes(precise: true);
        long thread = GC.GetAllocatedBytesForCurrentThread();
        float loss = 0;
        for (int i = 0; i < 5; i++)
        {
            net.ForwardBackward(x, y);
            opt.Step();
            loss = net.ReadLoss();
        }

        dev.Synchronize();
        long threadDelta = GC.GetAllocatedBytesForCurrentThread() - thread;
        long totalDelta = GC.GetTotalAllocatedBytes(precise: true) - total;   // read both before any assertion allocates
        Assert.That(threadDelta, Is.Zero, "bytes allocated on the stepping thread");
        Assert.That(totalDelta, Is.Zero, "bytes allocated by any thread");
        Assert.That(dev.Allocator.Stats.DeviceAllocations, Is.EqualTo(stats.DeviceAllocations));
        Assert.That(float.IsFinite(loss), Is.True);
    }

    [Test]
    public void A_warm_training_step_allocates_no_managed_memory()
    {
        var dev = TestDevices.Get(new DeviceConfig("cpu-host", DeviceKind.Cpu, ForceKernels: false));
        var g = new GraphModule();
        var x = g.Input();
        var h = g.Apply(new Linear(16, 32), x);
        var shared = new Linear(32, 32);
        var a = g.Apply(shared, h);
        var b = g.Apply(shared, a);
        g.Output(g.Apply(new Linear(32, 4), g.Apply(new Flatten(), g.Add(g.Add(h, b), h))));
        using (g)
        {
            using var net = g.Compile(dev, [8, 16], options: new CompileOptions { InputGradients = true });
            GraphTestUtil.RandomInputs(net, 4);
            net.OutputGrad()!.CopyFrom(HostMath.Random(32, 5));
            // Warm up past tiered compilation (tier 0, instrumented tier 0, then a background re-JIT, each stage after
            // 30 calls and a quiet 100 ms): the runtime allocates a little on its own threads while it switches tiers.
            for (int round = 0; round < 4; round++)
            {
                for (int i = 0; i < 40; i++)
                {
                    net.Forward();
                    net.Backward();
                }

                dev.Synchronize();
                System.Threading.Thread.Sleep(100);
            }

            var stats = dev.Allocator.Stats;
            long total = GC.GetTotalAllocatedBytes(precise: true);
            long thread = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 5; i++)
            {
                net.Forward();
                net.Backward();
            }

            dev.Synchronize();
            long threadDelta = GC.GetAllocatedBytesForCurrentThread() - thread;
            long totalDelta = GC.GetTotalAllocatedBytes(precise: true) - total;
            Assert.That(threadDelta, Is.Zero, "bytes allocated on the stepping thread");
            Assert.That(totalDelta, Is.Zero, "bytes allocated by any thread");
            Assert.That(dev.Allocator.Stats.DeviceAllocations, Is.EqualTo(stats.DeviceAllocations));
            Assert.That(dev.Allocator.Stats.BytesInUse, Is.EqualTo(stats.BytesInUse));
        }
    }

    [Test]
    public void Picking_a_compiled_plan_for_a_batch_size_allocates_nothing()
    {
        var dev = TestDevices.Get(new DeviceConfig("cpu-host", DeviceKind.Cpu, ForceKernels: false));
        using var model = new Sequential(new Linear(3, 2));
        using var net = model.Compile(dev, [4, 3], options: new CompileOptions { Training = false });
        var last = net.ForBatchSize(1);
        for (int i = 0; i < 60; i++)
        {
            net.ForBatchSize(4);
            net.ForBatchSize(1);
        }

        long thread = GC.GetAllocatedBytesForCurrentThread();
        var own = net.ForBatchSize(4);
        var again = net.ForBatchSize(1);
        long delta = GC.GetAllocatedBytesForCurrentThread() - thread;
        Assert.That(delta, Is.Zero, "bytes allocated by ForBatchSize for its own and a compiled size");
        Assert.That(own, Is.SameAs(net));
        Assert.That(again, Is.SameAs(last));
    }
}
