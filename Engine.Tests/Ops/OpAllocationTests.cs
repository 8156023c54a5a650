// Warm forward and backward calls of the activation, softmax, maxout, loss and broadcast binary ops allocate no device memory and
// grow no scratch; on the host path they allocate no managed memory either.
using System;
using Engine.Backends;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class OpAllocationTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    [Test]
    public void Warm_calls_allocate_nothing()
    {
        const int n = 37, c = 5;
        using var x = Tensor.FromHost(Dev, HostMath.Random(n * c, 1, -2f, 2f), new Shape(n, c));
        using var probs = Tensor.FromHost(Dev, HostMath.Random(n * c, 2, 0.05f, 0.95f), x.Shape);
        using var idx = Tensor.FromHost(Dev, Array.ConvertAll(HostMath.Random(n, 3, 0f, 4.99f), MathF.Floor), new Shape(n));
        using var w = Tensor.FromHost(Dev, HostMath.Random(c, 4, 0.5f, 2f), new Shape(c));
        using var y = Tensor.Empty(Dev, x.Shape);
        using var dx = Tensor.Empty(Dev, x.Shape);
        using var y3 = Tensor.Empty(Dev, new Shape(n, 1));
        using var loss = Tensor.Empty(Dev, new Shape(1));
        using var up = Tensor.FromHost(Dev, [2f], new Shape(1));
        var gelu = ActivationSpec.Gelu();
        var ce = LossSpec.CrossEntropy(CrossEntropyTarget.Indices, 0.1f);
        var dice = LossSpec.Dice();
        var trip = LossSpec.Triplet();
        var focal = LossSpec.Focal();
        var focalSoftmax = LossSpec.FocalSoftmax();
        using var dw = Tensor.Empty(Dev, w.Shape);
        var dev = Dev; // the Dev property looks the device up through a capturing lambda, which allocates

        void Step()
        {
            gelu.Forward(x, y);
            gelu.Backward(x, y, probs, dx);
            SoftmaxOp.Forward(x, y, 1, log: true);
            SoftmaxOp.Backward(y, probs, dx, 0);
            MaxoutOp.Forward(x, y3, 5);
            MaxoutOp.Backward(x, y3, dx, 5);
            Losses.Forward(ce, x, idx, loss, w);
            Losses.Backward(ce, x, idx, dx, w, up);
            Losses.Forward(dice, probs, probs, loss);
            Losses.Backward(dice, probs, probs, dx, null, up, 0.5f);
            Losses.Forward(focal, x, probs, loss);
            Losses.Backward(focal, x, probs, dx);
            Losses.Forward(focalSoftmax, x, idx, loss);
            Losses.Backward(focalSoftmax, x, idx, dx, null, up);
            BinaryOps.Forward(BinaryOp.Multiply, x, w, y);
            BinaryOps.Backward(BinaryOp.Multiply, x, w, probs, dx, dw, accumulateB: true);
            BinaryOps.Forward(BinaryOp.Divide, y3, x, y);
            BinaryOps.Backward(BinaryOp.Divide, y3, x, probs, null, dx);
            Losses.TripletForward(trip, x, probs, y, loss);
            Losses.TripletBackward(trip, x, probs, y, dx, dx, dx, up);
            dev.Synchronize();
        }

        Step();
        Step();
        var scratch = OpScratch.For(Dev);
        int grows = scratch.Grows;
        var before = Dev.Allocator.Stats;
        long managed = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++)
        {
            Step();
        }

        managed = GC.GetAllocatedBytesForCurrentThread() - managed;
        var after = Dev.Allocator.Stats;
        Assert.That(after.Rents, Is.EqualTo(before.Rents), "device buffers rented by warm calls");
        Assert.That(after.DeviceAllocations, Is.EqualTo(before.DeviceAllocations));
        Assert.That(scratch.Grows, Is.EqualTo(grows), "scratch grew on a warm call");
        if (Dev.Path == ComputePath.Host)
        {
            Assert.That(managed, Is.Zero, "managed bytes allocated by warm host-path calls");
        }
        else
        {
            TestContext.Out.WriteLine($"{config}: {managed} managed bytes in 5 warm steps (ILGPU launch machinery)");
        }
    }
}
