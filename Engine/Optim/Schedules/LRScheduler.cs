// Learning-rate schedulers on the host, mirroring torch.optim.lr_scheduler (chainable forms, initial_lr, state dicts).
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;

namespace Engine.Optim.Schedules;

/// <summary>Anything that sets an optimizer's learning rates and can be saved in a checkpoint.</summary>
public abstract class LRSchedulerBase
{
    private protected LRSchedulerBase(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        LastLR = optimizer.Groups.Select(g => g.LR).ToArray();
    }

    /// <summary>The optimizer whose group learning rates this scheduler sets.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The learning rates of the groups after the last step (PyTorch's <c>get_last_lr()</c>).</summary>
    public double[] LastLR { get; private protected set; }

    /// <summary>The scheduler's state (PyTorch's <c>state_dict()</c> fields), as JSON.</summary>
    public abstract JsonObject StateDict();

    /// <summary>Restores a state from <see cref="StateDict"/>.</summary>
    /// <exception cref="FormatException">The state is of another scheduler type or misses a field.</exception>
    public abstract void LoadStateDict(JsonObject state);

    /// <summary>Throws unless the state was written by a scheduler of <paramref name="type"/>.</summary>
    private protected static void CheckType(JsonObject state, string type)
    {
        ArgumentNullException.ThrowIfNull(state);
        string? got = state["type"]?.GetValue<string>();
        if (got != type)
        {
            throw new FormatException($"Scheduler state is for '{got ?? "(none)"}', but this scheduler is '{type}'.");
        }
    }

    /// <summary>Reads a required number.</summary>
    private protected static double Num(JsonObject state, string key) =>
        state[key] is JsonValue v && v.TryGetValue<double>(out double d) && double.IsFinite(d) ? d : throw new FormatException($"Scheduler state has no finite number '{key}'.");

    /// <summary>Reads a required array of numbers.</summary>
    private protected double[] Nums(JsonObject state, string key)
    {
        var values = (state[key] as JsonArray)?.Select(x => x is JsonValue v && v.TryGetValue<double>(out double d) && double.IsFinite(d) ? d : double.NaN).ToArray();
        if (values is null || values.Any(double.IsNaN) || values.Length != Optimizer.Groups.Count)
        {
            throw new FormatException($"Scheduler state has no '{key}' of {Optimizer.Groups.Count} finite number(s), one per parameter group.");
        }

        return values;
    }

    /// <summary>An array of numbers as JSON.</summary>
    private protected static JsonArray Arr(IEnumerable<double> values) => new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
}

/// <summary>
/// Base of the epoch-based schedulers, as PyTorch's <c>_LRScheduler</c>: on creation each group's
/// <see cref="ParamGroup.InitialLR"/> is set (if unset) to its lr, <see cref="BaseLRs"/> are those, and one step runs
/// (epoch 0). <see cref="Step()"/> advances <see cref="LastEpoch"/> and sets the groups' lr with the chainable
/// form; <see cref="Step(int)"/> jumps to an epoch with the closed form where one exists.
/// </summary>
public abstract class LRScheduler : LRSchedulerBase
{
    private readonly double[] values;

    /// <summary>Attaches to <paramref name="optimizer"/>; subclasses call <see cref="InitialStep"/> when set up.</summary>
    /// <exception cref="ArgumentException">Resuming (<paramref name="lastEpoch"/> != -1) without initial lrs.</exception>
    private protected LRScheduler(Optimizer optimizer, int lastEpoch)
        : base(optimizer)
    {
        foreach (var g in optimizer.Groups)
        {
            if (lastEpoch == -1)
            {
                g.InitialLR ??= g.LR;
            }
            else if (g.InitialLR is null)
            {
                throw new ArgumentException($"Group '{g.Name}' has no initial lr; resuming a schedule (last_epoch {lastEpoch}) needs one.", nameof(lastEpoch));
            }
        }

        BaseLRs = optimizer.Groups.Select(g => g.InitialLR!.Value).ToArray();
        LastEpoch = lastEpoch;
        values = new double[optimizer.Groups.Count];
    }

    /// <summary>The groups' initial learning rates.</summary>
    public double[] BaseLRs { get; private set; }

    /// <summary>The epoch (step) index of the last step; 0 right after creation.</summary>
    public int LastEpoch { get; internal set; }

    /// <summary>How many times the scheduler stepped (PyTorch's <c>_step_count</c>).</summary>
    public int StepCount { get; private set; }

    /// <summary>The name used in state dicts.</summary>
    public abstract string TypeName { get; }

    /// <summary>Advances one epoch (call after <see cref="Optim.Optimizer.Step"/>, as in PyTorch).</summary>
    public void Step()
    {
        StepCount++;
        LastEpoch++;
        ChainableLr(values);
        Apply();
    }

    /// <summary>Jumps to <paramref name="epoch"/>, using the closed form when the scheduler has one (PyTorch's step(epoch)).</summary>
    public void Step(int epoch)
    {
        StepCount++;
        LastEpoch = epoch;
        if (!ClosedFormLr(values))
        {
            ChainableLr(values);
        }

        Apply();
    }

    /// <summary>Runs the first step (PyTorch's <c>_initial_step</c>): resets <see cref="StepCount"/> and steps to epoch LastEpoch + 1.</summary>
    private protected void InitialStep()
    {
        StepCount = 0;
        Step();
    }

    internal void RerunInitialStep() => InitialStep();

    /// <summary>The chainable form (PyTorch's <c>get_lr</c>): new lrs from the groups' current lrs.</summary>
    private protected abstract void ChainableLr(double[] lrs);

    /// <summary>The closed form, if any (PyTorch's <c>_get_closed_form_lr</c>).</summary>
    private protected virtual bool ClosedFormLr(double[] lrs) => false;

    /// <summary>The current lr of group <paramref name="i"/>.</summary>
    private protected double GroupLr(int i) => Optimizer.Groups[i].LR;

    /// <inheritdoc />
    public override JsonObject StateDict()
    {
        var j = new JsonObject
        {
            ["type"] = TypeName,
            ["last_epoch"] = LastEpoch,
            ["_step_count"] = StepCount,
            ["base_lrs"] = Arr(BaseLRs),
            ["_last_lr"] = Arr(LastLR),
        };
        WriteFields(j);
        return j;
    }

    /// <inheritdoc />
    public override void LoadStateDict(JsonObject state)
    {
        CheckType(state, TypeName);
        LastEpoch = (int)Num(state, "last_epoch");
        StepCount = (int)Num(state, "_step_count");
        BaseLRs = Nums(state, "base_lrs");
        LastLR = Nums(state, "_last_lr");
        ReadFields(state);
    }

    /// <summary>Adds the subclass's hyper-parameters to a state dict.</summary>
    private protected virtual void WriteFields(JsonObject state)
    {
    }

    /// <summary>Reads the subclass's hyper-parameters from a state dict.</summary>
    private protected virtual void ReadFields(JsonObject state)
    {
    }

    private void Apply()
    {
        var gs = Optimizer.Groups;
        for (int i = 0; i < gs.Count; i++)
        {
            gs[i].LR = values[i];
        }

        if (LastLR.Length != gs.Count)
        {
            LastLR = new double[gs.Count];
        }

        for (int i = 0; i < gs.Count; i++)
        {
            LastLR[i] = gs[i].LR;
        }
    }
}
