// Composition of schedulers (torch's SequentialLR) and the usual "linear warm-up, then cosine" schedule.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;

namespace Engine.Optim.Schedules;

/// <summary>
/// torch.optim.lr_scheduler.SequentialLR: runs <c>schedulers[i]</c> between milestones i-1 and i. At a milestone the
/// next scheduler restarts at epoch 0 with its closed form, exactly as PyTorch 1.13 does.
/// </summary>
public sealed class SequentialLR : LRSchedulerBase
{
    private readonly LRScheduler[] schedulers;
    private readonly int[] milestones;

    /// <summary>Composes <paramref name="schedulers"/> (created on <paramref name="optimizer"/>) at <paramref name="milestones"/>.</summary>
    /// <exception cref="ArgumentException">A scheduler belongs to another optimizer, or the milestone count is not schedulers - 1.</exception>
    public SequentialLR(Optimizer optimizer, IReadOnlyList<LRScheduler> schedulers, IReadOnlyList<int> milestones, int lastEpoch = -1)
        : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(schedulers);
        ArgumentNullException.ThrowIfNull(milestones);
        if (schedulers.Count == 0)
        {
            throw new ArgumentException("SequentialLR needs at least one scheduler.", nameof(schedulers));
        }

        for (int i = 0; i < schedulers.Count; i++)
        {
            if (!ReferenceEquals(schedulers[i].Optimizer, optimizer))
            {
                throw new ArgumentException($"Scheduler {i} belongs to another optimizer than the one passed in.", nameof(schedulers));
            }
        }

        if (milestones.Count != schedulers.Count - 1)
        {
            throw new ArgumentException($"SequentialLR needs one milestone fewer than schedulers: {schedulers.Count} schedulers, {milestones.Count} milestones.", nameof(milestones));
        }

        this.schedulers = schedulers.ToArray();
        this.milestones = milestones.ToArray();
        LastEpoch = lastEpoch + 1;
        foreach (var g in optimizer.Groups)
        {
            g.LR = g.InitialLR ?? g.LR;
        }

        foreach (var s in this.schedulers)
        {
            s.LastEpoch -= 1;
        }

        this.schedulers[0].RerunInitialStep();
        LastLR = (double[])this.schedulers[0].LastLR.Clone();
    }

    /// <summary>Epochs stepped so far.</summary>
    public int LastEpoch { get; private set; }

    /// <summary>The composed schedulers.</summary>
    public IReadOnlyList<LRScheduler> Schedulers => schedulers;

    /// <summary>Advances one epoch.</summary>
    public void Step()
    {
        LastEpoch++;
        int idx = 0;
        while (idx < milestones.Length && milestones[idx] <= LastEpoch)
        {
            idx++;
        }

        var s = schedulers[idx];
        if (idx > 0 && milestones[idx - 1] == LastEpoch)
        {
            s.Step(0);
        }
        else
        {
            s.Step();
        }

        LastLR = (double[])s.LastLR.Clone();
    }

    /// <inheritdoc />
    public override JsonObject StateDict() => new()
    {
        ["type"] = "SequentialLR",
        ["last_epoch"] = LastEpoch,
        ["_milestones"] = new JsonArray(milestones.Select(m => (JsonNode?)JsonValue.Create(m)).ToArray()),
        ["_last_lr"] = Arr(LastLR),
        ["_schedulers"] = new JsonArray(schedulers.Select(s => (JsonNode?)s.StateDict()).ToArray()),
    };

    /// <inheritdoc />
    public override void LoadStateDict(JsonObject state)
    {
        CheckType(state, "SequentialLR");
        var subs = state["_schedulers"] as JsonArray ?? throw new FormatException("Scheduler state has no '_schedulers'.");
        if (subs.Count != schedulers.Length)
        {
            throw new FormatException($"Scheduler state has {subs.Count} schedulers; this SequentialLR has {schedulers.Length}.");
        }

        LastEpoch = (int)Num(state, "last_epoch");
        LastLR = Nums(state, "_last_lr");
        for (int i = 0; i < schedulers.Length; i++)
        {
            schedulers[i].LoadStateDict(subs[i] as JsonObject ?? throw new FormatException($"Scheduler state {i} is not an object."));
        }
    }
}

/// <summary>Ready-made schedule compositions.</summary>
public static class LRSchedules
{
    /// <summary>
    /// Linear warm-up from <paramref name="startFactor"/> * lr to lr over <paramref name="warmupSteps"/> steps, then
    /// cosine annealing to <paramref name="etaMin"/> over the remaining <paramref name="totalSteps"/> - warmupSteps
    /// steps: PyTorch's <c>SequentialLR([LinearLR(start_factor, 1, warmup), CosineAnnealingLR(total - warmup,
    /// eta_min)], milestones=[warmup])</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">warmupSteps is not in [1, totalSteps).</exception>
    public static SequentialLR WarmupCosine(Optimizer optimizer, int warmupSteps, int totalSteps, double startFactor = 0.01, double etaMin = 0)
    {
        if (warmupSteps < 1 || warmupSteps >= totalSteps)
        {
            throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, $"warmup steps must be in [1, total steps {totalSteps}).");
        }

        var warm = new LinearLR(optimizer, startFactor, 1.0, warmupSteps);
        var cos = new CosineAnnealingLR(optimizer, totalSteps - warmupSteps, etaMin);
        return new SequentialLR(optimizer, [warm, cos], [warmupSteps]);
    }
}
