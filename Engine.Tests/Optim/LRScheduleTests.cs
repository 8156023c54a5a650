// Learning-rate schedules against torch.optim.lr_scheduler sequences (Fixtures/schedules, scripts/fixtures/lr_schedules.py).
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Engine.Nn;
using Engine.Optim;
using Engine.Optim.Schedules;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Optim;

public sealed class LRScheduleTests
{
    private static Device Dev => TestDevices.Get(new DeviceConfig("cpu-host", DeviceKind.Cpu, ForceKernels: false));

    private static JsonArray Fixture() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "schedules", "lr_schedules.json")))!["cases"]!.AsArray();

    public static IEnumerable<TestCaseData> Cases() => Fixture().Select((c, i) => new TestCaseData(i).SetName($"schedule[{i:D2}] {c!["label"]}"));

    /// <summary>An SGD over two parameters in groups "a" (lr 0.1) and "b" (lr 0.03), as the fixture script builds.</summary>
    private static (ParameterSet Set, Sgd Opt) TwoGroups(double[] baseLrs)
    {
        var set = ParameterSet.Create(Dev, [("a", new Shape(2), ParameterRole.Weight), ("b", new Shape(3), ParameterRole.Weight)]);
        set["a"].Group = "a";
        set["b"].Group = "b";
        var opt = new Sgd(set, new SgdOptions { LR = baseLrs[0] }, new Dictionary<string, OptimizerOptions>
        {
            ["a"] = new SgdOptions { LR = baseLrs[0] },
            ["b"] = new SgdOptions { LR = baseLrs[1] },
        });
        return (set, opt);
    }

    private static LRScheduler Build(Optimizer opt, JsonObject spec)
    {
        double D(string k, double d) => spec[k]?.GetValue<double>() ?? d;
        int I(string k, int d) => spec[k]?.GetValue<int>() ?? d;
        return spec["type"]!.GetValue<string>() switch
        {
            "step" => new StepLR(opt, I("step_size", 0), D("gamma", 0.1)),
            "exponential" => new ExponentialLR(opt, D("gamma", 0)),
            "cosine" => new CosineAnnealingLR(opt, I("T_max", 0), D("eta_min", 0)),
            "linear" => new LinearLR(opt, D("start_factor", 1.0 / 3), D("end_factor", 1.0), I("total_iters", 5)),
            var t => throw new FormatException(t),
        };
    }

    private static LRSchedulerBase BuildAny(Optimizer opt, JsonObject spec)
    {
        string type = spec["type"]!.GetValue<string>();
        switch (type)
        {
            case "sequential":
                var subs = spec["schedulers"]!.AsArray().Select(s => Build(opt, s!.AsObject())).ToList();
                return new SequentialLR(opt, subs, spec["milestones"]!.AsArray().Select(m => m!.GetValue<int>()).ToList());
            case "warmup_cosine":
                return LRSchedules.WarmupCosine(opt, spec["warmup"]!.GetValue<int>(), spec["total"]!.GetValue<int>(),
                    spec["start_factor"]!.GetValue<double>(), spec["eta_min"]!.GetValue<double>());
            case "plateau":
                return new ReduceLROnPlateau(opt,
                    spec["mode"]?.GetValue<string>() == "max" ? PlateauMode.Max : PlateauMode.Min,
                    spec["factor"]?.GetValue<double>() ?? 0.1,
                    spec["patience"]?.GetValue<int>() ?? 10,
                    spec["threshold"]?.GetValue<double>() ?? 1e-4,
                    spec["threshold_mode"]?.GetValue<string>() == "abs" ? ThresholdMode.Abs : ThresholdMode.Rel,
                    spec["cooldown"]?.GetValue<int>() ?? 0,
                    spec["min_lr"]?.AsArray().Select(x => x!.GetValue<double>()).ToArray(),
                    spec["eps"]?.GetValue<double>() ?? 1e-8);
            default:
                return Build(opt, spec);
        }
    }

    private static void StepOnce(LRSchedulerBase s, double? metric)
    {
        switch (s)
        {
            case ReduceLROnPlateau p:
                p.Step(metric!.Value);
                break;
            case SequentialLR q:
                q.Step();
                break;
            case LRScheduler l:
                l.Step();
                break;
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Matches_torch_sequence(int index)
    {
        var c = Fixture()[index]!;
        var baseLrs = c["base_lrs"]!.AsArray().Select(x => x!.GetValue<double>()).ToArray();
        var want = c["lrs"]!.AsArray().Select(r => r!.AsArray().Select(x => x!.GetValue<double>()).ToArray()).ToArray();
        var metrics = c["metrics"]?.AsArray().Select(x => x!.GetValue<double>()).ToArray();
        var (set, opt) = TwoGroups(baseLrs);
        using var _ = set;
        using var __ = opt;
        var sched = BuildAny(opt, c["params"]!.AsObject());
        for (int t = 0; t < want.Length; t++)
        {
            if (t > 0)
            {
                opt.Step();
                StepOnce(sched, metrics?[t - 1]);
            }

            for (int g = 0; g < 2; g++)
            {
                Assert.That(opt.Groups[g].LR, Is.EqualTo(want[t][g]).Within(1e-12).Percent.Or.EqualTo(want[t][g]).Within(1e-18), $"{c["label"]}: step {t}, group {g}");
                Assert.That(sched.LastLR[g], Is.EqualTo(opt.Groups[g].LR), "LastLr");
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void State_dict_round_trip_resumes_the_same_sequence(int index)
    {
        var c = Fixture()[index]!;
        var baseLrs = c["base_lrs"]!.AsArray().Select(x => x!.GetValue<double>()).ToArray();
        var want = c["lrs"]!.AsArray().Select(r => r!.AsArray().Select(x => x!.GetValue<double>()).ToArray()).ToArray();
        var metrics = c["metrics"]?.AsArray().Select(x => x!.GetValue<double>()).ToArray();
        int cut = want.Length / 2;
        var (set, opt) = TwoGroups(baseLrs);
        var sched = BuildAny(opt, c["params"]!.AsObject());
        for (int t = 1; t <= cut; t++)
        {
            StepOnce(sched, metrics?[t - 1]);
        }

        string saved = sched.StateDict().ToJsonString();
        var lrs = opt.Groups.Select(g => (g.LR, g.InitialLR)).ToArray();
        opt.Dispose();
        set.Dispose();

        var (set2, opt2) = TwoGroups(baseLrs);
        using var _ = set2;
        using var __ = opt2;
        var sched2 = BuildAny(opt2, c["params"]!.AsObject());
        sched2.LoadStateDict(JsonNode.Parse(saved)!.AsObject());
        for (int g = 0; g < 2; g++)
        {
            (opt2.Groups[g].LR, opt2.Groups[g].InitialLR) = lrs[g];
        }

        for (int t = cut + 1; t < want.Length; t++)
        {
            StepOnce(sched2, metrics?[t - 1]);
            Assert.That(opt2.Groups[0].LR, Is.EqualTo(want[t][0]).Within(1e-12).Percent.Or.EqualTo(want[t][0]).Within(1e-18), $"resumed step {t}");
        }
    }

    [Test]
    public void Bad_arguments_are_rejected()
    {
        var (set, opt) = TwoGroups([0.1, 0.01]);
        using var _ = set;
        using var __ = opt;
        Assert.That(() => new StepLR(opt, 0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("step_size"));
        Assert.That(() => new CosineAnnealingLR(opt, 0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("T_max"));
        Assert.That(() => new LinearLR(opt, startFactor: 1.5), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("start_factor"));
        Assert.That(() => new ReduceLROnPlateau(opt, factor: 1.0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("Factor should be < 1.0"));
        Assert.That(() => new ReduceLROnPlateau(opt, minLr: [0.1, 0.2, 0.3]), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("expected 2 min_lrs"));
        var a = new StepLR(opt, 2);
        Assert.That(() => new SequentialLR(opt, [a], [3]), Throws.ArgumentException.With.Message.Contain("one milestone fewer"));
        Assert.That(() => LRSchedules.WarmupCosine(opt, 10, 10), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => a.LoadStateDict(new ExponentialLR(opt, 0.5).StateDict()), Throws.InstanceOf<FormatException>().With.Message.Contain("'ExponentialLR'"));
    }
}
