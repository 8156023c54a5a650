// The host path gives bit-identical results run after run, even with chunks spread over worker threads.
using System;
using Engine.Nn;
using Engine.Optim;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Optim;

public sealed class DeterminismTests
{
    private static (float[] Values, float[] State, double Norm) Run(string optimizer)
    {
        var dev = TestDevices.Get(new DeviceConfig("cpu-host", DeviceKind.Cpu, ForceKernels: false));
        using var set = ParameterSet.Create(dev, [
            ("0.weight", new Shape(300, 401), ParameterRole.Weight), ("0.bias", new Shape(300), ParameterRole.Bias),
            ("1.weight", new Shape(7, 300), ParameterRole.Weight), ("1.bias", new Shape(7), ParameterRole.Bias)]);
        set.Values.CopyFrom(HostMath.Random((int)set.TotalLength, 3));
        using var opt = OptimizerTests.Make(optimizer, set);
        using var clip = new GradientClipper(set);
        double norm = 0;
        for (int t = 0; t < 4; t++)
        {
            set.Grads.CopyFrom(HostMath.Random((int)set.TotalLength, 50 + t, -3f, 3f));
            norm += clip.ClipByNorm(10.0);
            opt.Step();
        }

        string first = opt.StateNames is { Count: > 0 } names ? System.Linq.Enumerable.First(names) : throw new InvalidOperationException();
        return (set.Values.ToArray(), opt.GetState(first).ToArray(), norm);
    }

    [TestCase("adam")]
    [TestCase("sgd")]
    [TestCase("nadam")]
    public void Same_inputs_give_bit_identical_results_on_the_host_path(string optimizer)
    {
        var a = Run(optimizer);
        for (int rep = 0; rep < 2; rep++)
        {
            var b = Run(optimizer);
            Assert.That(BitConverter.DoubleToInt64Bits(b.Norm), Is.EqualTo(BitConverter.DoubleToInt64Bits(a.Norm)), "clip norm");
            Assert.That(b.Values.AsSpan().SequenceEqual(a.Values), Is.True, "weights");
            Assert.That(b.State.AsSpan().SequenceEqual(a.State), Is.True, "state");
        }
    }
}
