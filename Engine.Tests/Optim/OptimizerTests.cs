// Optimizer behaviour beyond the PyTorch fixtures: groups, frozen parameters, multi-chunk buffers, state, allocation.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Nn;
using Engine.Optim;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Optim;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class OptimizerTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    // 6,300 + 70 + 210 + 3 + 3 elements: the first weight spans two chunks, and groups interleave.
    private ParameterSet MakeSet() => MakeSet(Dev);

    private static ParameterSet MakeSet(Device dev)
    {
        var set = ParameterSet.Create(dev, [
            ("0.weight", new Shape(70, 90), ParameterRole.Weight), ("0.bias", new Shape(70), ParameterRole.Bias),
            ("1.weight", new Shape(3, 70), ParameterRole.Weight), ("2.weight", new Shape(3), ParameterRole.NormScale),
            ("2.bias", new Shape(3), ParameterRole.NormShift)]);
        set.Values.CopyFrom(HostMath.Random((int)set.TotalLength, 1));
        return set;
    }

    private static float[] Grads(ParameterSet set, int step) => HostMath.Random((int)set.TotalLength, 100 + step);

    [Test]
    public void AdamW_with_no_decay_group_matches_double_reference_in_one_launch_per_group()
    {
        using var set = MakeSet();
        var options = new AdamWOptions { LR = 0.01, WeightDecay = 0.1 };
        using var opt = new AdamW(set, options, ParamGroups.NoDecayForBiasAndNorm(set, options));
        Assert.That(opt.Groups.Select(g => g.Name), Is.EqualTo(new[] { "default", "no_decay" }));
        Assert.That(opt.Group("no_decay").Parameters.Select(p => p.Name), Is.EqualTo(new[] { "0.bias", "2.weight", "2.bias" }));
        var w = OptimRef.ToDouble(set.Values.ToArray());
        var m = new double[w.Length];
        var v = new double[w.Length];
        for (int t = 1; t <= 4; t++)
        {
            var g = Grads(set, t);
            set.Grads.CopyFrom(g);
            opt.Step();
            foreach (var p in set)
            {
                var (ws, ms, vs) = (OptimRef.Slice(w, p.Offset, p.Length), OptimRef.Slice(m, p.Offset, p.Length), OptimRef.Slice(v, p.Offset, p.Length));
                OptimRef.Adam(ws, OptimRef.ToDouble(g.AsSpan((int)p.Offset, (int)p.Length).ToArray()), ms, vs, t, 0.01, 0.9, 0.999, 1e-8, 0, p.Role == ParameterRole.Weight ? 0.1 : 0);
                ws.CopyTo(w, p.Offset);
                ms.CopyTo(m, p.Offset);
                vs.CopyTo(v, p.Offset);
            }
        }

        Assert.That(opt.LaunchUnitCount, Is.EqualTo(2));
        HostMath.AssertClose(set.Values.ToArray(), w, 1e-5, 1e-4, $"adamw groups on {config}");
        HostMath.AssertClose(opt.GetState("exp_avg_sq").ToArray(), v, 1e-7, 1e-4, "exp_avg_sq");
        Assert.That(opt.StateNames, Is.EquivalentTo(new[] { "exp_avg", "exp_avg_sq" }));
    }

    [Test]
    public void Frozen_parameters_are_never_touched_and_sgd_matches_reference()
    {
        using var set = MakeSet();
        set["1.weight"].RequiresGrad = false;
        var before = set["1.weight"].Value.ToArray();
        using var opt = new Sgd(set, new SgdOptions { LR = 0.05, Momentum = 0.9, Nesterov = true, WeightDecay = 0.01 });
        var w = OptimRef.ToDouble(set.Values.ToArray());
        var buf = new double[w.Length];
        for (int t = 1; t <= 3; t++)
        {
            var g = Grads(set, t);
            set.Grads.CopyFrom(g);
            opt.Step();
            var ref1 = (double[])w.Clone();
            OptimRef.Sgd(ref1, OptimRef.ToDouble(g), buf, t == 1, 0.05, 0.9, 0, true, 0.01);
            var p = set["1.weight"];
            Array.Copy(w, p.Offset, ref1, p.Offset, p.Length);
            Array.Clear(buf, (int)p.Offset, (int)p.Length);
            w = ref1;
        }

        Assert.That(set["1.weight"].Value.ToArray(), Is.EqualTo(before), "frozen values");
        Assert.That(opt.GetState("momentum_buffer").ToArray().AsSpan((int)set["1.weight"].Offset, 210).ToArray(), Is.All.EqualTo(0f), "frozen state");
        HostMath.AssertClose(set.Values.ToArray(), w, 1e-5, 1e-4, $"sgd nesterov on {config}");
        Assert.That(opt.GetScalarState("step"), Is.EqualTo(new double[] { 3, 3, 0, 3, 3 }));
    }

    [Test]
    public void A_parameter_unfrozen_later_starts_its_own_step_count()
    {
        using var set = MakeSet();
        using var opt = new Adam(set, new AdamOptions { LR = 0.02 });
        var bias = set["0.bias"];
        bias.RequiresGrad = false;
        var w = OptimRef.ToDouble(set.Values.ToArray());
        var m = new double[w.Length];
        var v = new double[w.Length];
        var steps = new int[set.Count];
        for (int t = 1; t <= 5; t++)
        {
            if (t == 4)
            {
                bias.RequiresGrad = true;
            }

            var g = Grads(set, t);
            set.Grads.CopyFrom(g);
            opt.Step();
            for (int k = 0; k < set.Count; k++)
            {
                var p = set[k];
                if (!p.RequiresGrad)
                {
                    continue;
                }

                steps[k]++;
                var (ws, ms, vs) = (OptimRef.Slice(w, p.Offset, p.Length), OptimRef.Slice(m, p.Offset, p.Length), OptimRef.Slice(v, p.Offset, p.Length));
                OptimRef.Adam(ws, OptimRef.ToDouble(g.AsSpan((int)p.Offset, (int)p.Length).ToArray()), ms, vs, steps[k], 0.02, 0.9, 0.999, 1e-8, 0, 0);
                ws.CopyTo(w, p.Offset);
                ms.CopyTo(m, p.Offset);
                vs.CopyTo(v, p.Offset);
            }
        }

        Assert.That(opt.GetScalarState("step"), Is.EqualTo(new double[] { 5, 2, 5, 5, 5 }));
        Assert.That(opt.LaunchUnitCount, Is.EqualTo(2), "the late parameter gets a launch of its own");
        HostMath.AssertClose(set.Values.ToArray(), w, 1e-5, 1e-4, $"adam with a late parameter on {config}");
    }

    public static IEnumerable<TestCaseData> AllOptimizers()
    {
        yield return new TestCaseData("sgd");
        yield return new TestCaseData("adagrad");
        yield return new TestCaseData("adadelta");
        yield return new TestCaseData("rmsprop");
        yield return new TestCaseData("adam");
        yield return new TestCaseData("adamw");
        yield return new TestCaseData("adamax");
        yield return new TestCaseData("nadam");
    }

    internal static Optimizer Make(string name, ParameterSet set, bool groups = true)
    {
        IReadOnlyDictionary<string, OptimizerOptions>? G(OptimizerOptions o) => groups ? ParamGroups.NoDecayForBiasAndNorm(set, o) : null;
        return name switch
        {
            "sgd" => new Sgd(set, new SgdOptions { LR = 0.05, Momentum = 0.9, Dampening = 0.1, WeightDecay = 0.01, L1 = 0.001 }, G(new SgdOptions { LR = 0.05, Momentum = 0.9, Dampening = 0.1, WeightDecay = 0.01 })),
            "adagrad" => new Adagrad(set, new AdagradOptions { LR = 0.1, LRDecay = 0.01, InitialAccumulatorValue = 0.1, WeightDecay = 0.01 }, G(new AdagradOptions { LR = 0.1, LRDecay = 0.01, InitialAccumulatorValue = 0.1, WeightDecay = 0.01 })),
            "adadelta" => new Adadelta(set, new AdadeltaOptions { WeightDecay = 0.01 }, G(new AdadeltaOptions { WeightDecay = 0.01 })),
            "rmsprop" => new Rmsprop(set, new RmspropOptions { Momentum = 0.5, Centered = true, DecoupledWeightDecay = 0.1 }, G(new RmspropOptions { Momentum = 0.5, Centered = true, DecoupledWeightDecay = 0.1 })),
            "adam" => new Adam(set, new AdamOptions { LR = 0.01, Amsgrad = true, WeightDecay = 0.01 }, G(new AdamOptions { LR = 0.01, Amsgrad = true, WeightDecay = 0.01 })),
            "adamw" => new AdamW(set, new AdamWOptions { LR = 0.01 }, G(new AdamWOptions { LR = 0.01 })),
            "adamax" => new Adamax(set, new AdamaxOptions { LR = 0.01, WeightDecay = 0.01 }, G(new AdamaxOptions { LR = 0.01, WeightDecay = 0.01 })),
            _ => new NAdam(set, new NAdamOptions { LR = 0.01, WeightDecay = 0.01 }, G(new NAdamOptions { LR = 0.01, WeightDecay = 0.01 })),
        };
    }

    [TestCaseSource(nameof(AllOptimizers))]
    public void Kernel_and_host_variants_agree_on_multi_chunk_groups(string name)
    {
        // The host variant needs host memory: off the CPU it runs on the cpu-host device, from the same values and gradients.
        var hostDevice = Dev.IsHostMemory ? Dev : TestDevices.Get(TestDevices.All().First(c => c.Name == "cpu-host"));
        float[]? first = null;
        foreach (var (device, variant) in new[] { (Dev, "kernel.fused"), (hostDevice, "host.simd") })
        {
            using var set = MakeSet(device);
            using var opt = Make(name, set);
            opt.Variant = variant;
            for (int t = 1; t <= 3; t++)
            {
                set.Grads.CopyFrom(Grads(set, t));
                opt.Step();
            }

            var got = set.Values.ToArray();
            Assert.That(got.All(float.IsFinite), Is.True, $"{name} {variant} finite");
            if (first is null)
            {
                first = got;
            }
            else
            {
                HostMath.AssertClose(got, OptimRef.ToDouble(first), 1e-6, 1e-5, $"{name}: host.simd vs kernel.fused");
            }
        }
    }

    [TestCaseSource(nameof(AllOptimizers))]
    public void Steady_state_steps_rent_no_device_memory(string name)
    {
        using var set = MakeSet();
        using var opt = Make(name, set);
        for (int t = 0; t < 2; t++)
        {
            opt.Step();
        }

        Dev.Synchronize();
        var before = Dev.Allocator.Stats;
        long managed = GC.GetAllocatedBytesForCurrentThread();
        for (int t = 0; t < 3; t++)
        {
            opt.Step();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - managed;
        Dev.Synchronize();
        var after = Dev.Allocator.Stats;
        Assert.That(after.Rents, Is.EqualTo(before.Rents), "rents");
        Assert.That(after.DeviceAllocations, Is.EqualTo(before.DeviceAllocations), "device allocations");
        if (Dev.Path == ComputePath.Host)
        {
            Assert.That(allocated, Is.Zero, "managed bytes allocated by three host steps");
        }
    }

    [Test]
    public void ZeroGrad_reset_and_state_names()
    {
        using var set = MakeSet();
        using var opt = new Adagrad(set, new AdagradOptions { InitialAccumulatorValue = 0.25 });
        set.Grads.CopyFrom(Grads(set, 1));
        opt.Step();
        Assert.That(opt.GetState("sum").ToArray(), Has.Some.Not.EqualTo(0.25f));
        opt.ZeroGrad();
        Assert.That(set.Grads.ToArray(), Is.All.EqualTo(0f));
        opt.ResetState();
        Assert.That(opt.GetState("sum").ToArray(), Is.All.EqualTo(0.25f));
        Assert.That(opt.GetScalarState("step"), Is.All.EqualTo(0.0));
        Assert.That(opt.StepCount, Is.Zero);
        Assert.That(() => opt.GetState("exp_avg"), Throws.InstanceOf<KeyNotFoundException>().With.Message.Contain("sum"));
        Assert.That(() => opt.EnsureState("exp_avg"), Throws.ArgumentException.With.Message.Contain("adagrad has no state 'exp_avg'"));
    }

    [Test]
    public void Bad_hyper_parameters_are_rejected_with_their_names()
    {
        using var set = MakeSet();
        Assert.That(() => new Sgd(set, new SgdOptions()), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("lr has no default"));
        Assert.That(() => new Sgd(set, new SgdOptions { LR = -1 }), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("lr"));
        Assert.That(() => new Sgd(set, new SgdOptions { LR = 0.1, Nesterov = true }), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("Nesterov momentum requires"));
        Assert.That(() => new Adam(set, new AdamOptions { Beta1 = 1.0 }), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("beta1").And.Message.Contain("[0, 1)"));
        Assert.That(() => new Adadelta(set, new AdadeltaOptions { Rho = 1.5 }), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("rho"));
        Assert.That(() => new Rmsprop(set, new RmspropOptions { Eps = -1 }), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("eps"));
        Assert.That(() => new Adam(set, new AdamWOptions()), Throws.ArgumentException.With.Message.Contain("use new AdamW"));
        Assert.That(() => new Adam(set, new AdamOptions(), new Dictionary<string, OptimizerOptions> { ["nope"] = new AdamOptions() }),
            Throws.ArgumentException.With.Message.Contain("group 'nope'").And.Message.Contain("default"));
        var grouped = ParamGroups.NoDecayForBiasAndNorm(set, new AdamOptions());
        Assert.That(() => new Adam(set, new AdamOptions(), new Dictionary<string, OptimizerOptions> { ["no_decay"] = new SgdOptions { LR = 1 } }),
            Throws.ArgumentException.With.Message.Contain("takes AdamOptions"));
        using var ok = new Adam(set, new AdamOptions(), grouped);
        Assert.That(() => ok.Groups[0].Options = new SgdOptions { LR = 1 }, Throws.ArgumentException.With.Message.Contain("takes AdamOptions"));
        Assert.That(((AdamOptions)ok.Group("no_decay").Options).WeightDecay, Is.Zero);
    }
}
