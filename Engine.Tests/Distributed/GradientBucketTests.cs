// Gradient buckets: parameters from the last to the first, each bucket a contiguous range of the flat gradient buffer
// of about the bucket size (the first at most 1 MiB), and per compiled plan which buckets are final after each backward
// step, so the last layers' all-reduce starts while the first layers' backward still runs.
using System.Linq;
using Engine.Nn;
using Engine.Tests.Infrastructure;
using Engine.Training;
using NUnit.Framework;

namespace Engine.Tests.Distributed;

public sealed class GradientBucketTests
{
    private static Device Host => TestDevices.Get(new DeviceConfig("cpu-host", DeviceKind.Cpu, ForceKernels: false));

    [Test]
    public void Buckets_take_parameters_from_the_last_and_cover_the_buffer_contiguously()
    {
        // Parameters of 1000, 10, 300000, 20, 500000 floats.
        using var set = ParameterSet.Create(Host, new[] { 1000, 10, 300000, 20, 500000 }.Select((n, i) => ($"p{i}", new Shape(n), ParameterRole.Weight)));
        var buckets = GradientBuckets.Layout(set, 4 << 20);

        // The first bucket closes at 1 MiB (262,144 floats): p4 alone. The next at 4 MiB: p3, p2, p1, p0 (the rest).
        Assert.That(buckets, Is.EqualTo(new[]
        {
            new GradientBucket(301030, 500000, 4, 4),
            new GradientBucket(0, 301030, 0, 3),
        }));

        var small = GradientBuckets.Layout(set, 4000);   // 1,000 floats per bucket
        Assert.That(small.Select(b => (b.FirstParameter, b.LastParameter)), Is.EqualTo(new[] { (4, 4), (2, 3), (0, 1) }));
        Assert.That(small.Sum(b => b.Length), Is.EqualTo(set.TotalLength));
        for (int i = 1; i < small.Length; i++)
        {
            Assert.That(small[i].Start + small[i].Length, Is.EqualTo(small[i - 1].Start), "contiguous, from the end of the buffer");
        }
    }

    [Test]
    public void The_last_layers_bucket_is_final_before_backward_ends()
    {
        using var model = new Sequential(new Linear(6, 32), new Relu(), new Linear(32, 32), new Relu(), new Linear(32, 3));
        using var net = model.Compile(Host, [4, 6], Loss.CrossEntropy());
        var buckets = GradientBuckets.Layout(net.Parameters, 64 * sizeof(float));
        var ready = GradientBuckets.ReadyAfterStep(net, buckets);
        Assert.That(ready.Length, Is.EqualTo(net.BackwardStepCount));
        Assert.That(ready[^1], Is.EqualTo(buckets.Length));
        Assert.That(ready, Is.Ordered, "buckets only become final");
        Assert.That(buckets.Length, Is.GreaterThanOrEqualTo(3));

        // The loss and the last Linear run first in backward: its bucket (the first) is final after a few steps,
        // while the first Linear's gradients are written only at the end.
        int firstFinal = System.Array.FindIndex(ready, n => n >= 1);
        Assert.That(firstFinal, Is.LessThan(ready.Length - 2), string.Join(",", ready));
        Assert.That(ready[^2], Is.LessThan(buckets.Length), "the first layer's bucket is final only after the last step");
    }
}
