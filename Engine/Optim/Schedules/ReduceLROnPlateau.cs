// torch.optim.lr_scheduler.ReduceLROnPlateau: lowers the lr when a metric stops improving.
using System;
using System.Linq;
using System.Text.Json.Nodes;

namespace Engine.Optim.Schedules;

/// <summary>Whether a lower or a higher metric is better.</summary>
public enum PlateauMode
{
    /// <summary>Lower is better (a loss).</summary>
    Min,

    /// <summary>Higher is better (an accuracy).</summary>
    Max,
}

/// <summary>How the improvement threshold is applied.</summary>
public enum ThresholdMode
{
    /// <summary>Better means beyond best * (1 -/+ threshold).</summary>
    Rel,

    /// <summary>Better means beyond best -/+ threshold.</summary>
    Abs,
}

/// <summary>
/// Multiplies each group's lr by <see cref="Factor"/> (not below its min_lr) when the metric has not improved for
/// more than <see cref="Patience"/> steps, then waits <see cref="Cooldown"/> steps; PyTorch 1.13's rules, including
/// eps (changes smaller than eps are skipped).
/// </summary>
public sealed class ReduceLROnPlateau : LRSchedulerBase
{
    private double[] minLrs;

    /// <summary>Creates the scheduler (PyTorch's defaults: min, 0.1, 10, 1e-4, rel, 0, 0, 1e-8).</summary>
    /// <exception cref="ArgumentOutOfRangeException">factor is not below 1, or min_lr has the wrong count.</exception>
    public ReduceLROnPlateau(Optimizer optimizer, PlateauMode mode = PlateauMode.Min, double factor = 0.1, int patience = 10,
        double threshold = 1e-4, ThresholdMode thresholdMode = ThresholdMode.Rel, int cooldown = 0, double[]? minLr = null, double eps = 1e-8)
        : base(optimizer)
    {
        if (!(factor < 1.0))
        {
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "Factor should be < 1.0.");
        }

        int n = optimizer.Groups.Count;
        minLr ??= [0.0];
        if (minLr.Length != 1 && minLr.Length != n)
        {
            throw new ArgumentOutOfRangeException(nameof(minLr), $"expected {n} min_lrs (one per group) or one, got {minLr.Length}.");
        }

        minLrs = minLr.Length == n ? (double[])minLr.Clone() : Enumerable.Repeat(minLr[0], n).ToArray();
        Mode = mode;
        Factor = factor;
        Patience = patience;
        Threshold = threshold;
        ThresholdMode = thresholdMode;
        Cooldown = cooldown;
        Eps = eps;
        Best = mode == PlateauMode.Min ? double.PositiveInfinity : double.NegativeInfinity;
    }

    /// <summary>Min or max.</summary>
    public PlateauMode Mode { get; private set; }

    /// <summary>Factor applied on a plateau.</summary>
    public double Factor { get; private set; }

    /// <summary>Bad steps tolerated before a reduction.</summary>
    public int Patience { get; private set; }

    /// <summary>Improvement threshold.</summary>
    public double Threshold { get; private set; }

    /// <summary>Relative or absolute threshold.</summary>
    public ThresholdMode ThresholdMode { get; private set; }

    /// <summary>Steps to wait after a reduction.</summary>
    public int Cooldown { get; private set; }

    /// <summary>Minimal change of an lr; smaller ones are skipped.</summary>
    public double Eps { get; private set; }

    /// <summary>Lower bounds of the groups' lrs.</summary>
    public double[] MinLRs => (double[])minLrs.Clone();

    /// <summary>Best metric so far.</summary>
    public double Best { get; private set; }

    /// <summary>Consecutive steps without improvement.</summary>
    public int NumBadEpochs { get; private set; }

    /// <summary>Remaining cooldown steps.</summary>
    public int CooldownCounter { get; private set; }

    /// <summary>Steps taken.</summary>
    public int LastEpoch { get; private set; }

    /// <summary>Feeds one metric value (call once per epoch or evaluation).</summary>
    public void Step(double metric)
    {
        LastEpoch++;
        if (IsBetter(metric, Best))
        {
            Best = metric;
            NumBadEpochs = 0;
        }
        else
        {
            NumBadEpochs++;
        }

        if (CooldownCounter > 0)
        {
            CooldownCounter--;
            NumBadEpochs = 0;
        }

        if (NumBadEpochs > Patience)
        {
            var gs = Optimizer.Groups;
            for (int i = 0; i < gs.Count; i++)
            {
                double old = gs[i].LR;
                double lr = Math.Max(old * Factor, minLrs[i]);
                if (old - lr > Eps)
                {
                    gs[i].LR = lr;
                }
            }

            CooldownCounter = Cooldown;
            NumBadEpochs = 0;
        }

        for (int i = 0; i < LastLR.Length; i++)
        {
            LastLR[i] = Optimizer.Groups[i].LR;
        }
    }

    private bool IsBetter(double a, double best) => (Mode, ThresholdMode) switch
    {
        (PlateauMode.Min, ThresholdMode.Rel) => a < best * (1.0 - Threshold),
        (PlateauMode.Min, ThresholdMode.Abs) => a < best - Threshold,
        (PlateauMode.Max, ThresholdMode.Rel) => a > best * (Threshold + 1.0),
        _ => a > best + Threshold,
    };

    /// <inheritdoc />
    public override JsonObject StateDict() => new()
    {
        ["type"] = "ReduceLROnPlateau",
        ["mode"] = Mode == PlateauMode.Min ? "min" : "max",
        ["factor"] = Factor,
        ["patience"] = Patience,
        ["threshold"] = Threshold,
        ["threshold_mode"] = ThresholdMode == ThresholdMode.Rel ? "rel" : "abs",
        ["cooldown"] = Cooldown,
        ["min_lrs"] = Arr(minLrs),
        ["eps"] = Eps,
        ["best"] = double.IsInfinity(Best) ? (Best > 0 ? "inf" : "-inf") : Best,
        ["num_bad_epochs"] = NumBadEpochs,
        ["cooldown_counter"] = CooldownCounter,
        ["last_epoch"] = LastEpoch,
        ["_last_lr"] = Arr(LastLR),
    };

    /// <inheritdoc />
    public override void LoadStateDict(JsonObject state)
    {
        CheckType(state, "ReduceLROnPlateau");
        Mode = state["mode"]?.GetValue<string>() == "max" ? PlateauMode.Max : PlateauMode.Min;
        Factor = Num(state, "factor");
        Patience = (int)Num(state, "patience");
        Threshold = Num(state, "threshold");
        ThresholdMode = state["threshold_mode"]?.GetValue<string>() == "abs" ? ThresholdMode.Abs : ThresholdMode.Rel;
        Cooldown = (int)Num(state, "cooldown");
        minLrs = Nums(state, "min_lrs");
        Eps = Num(state, "eps");
        Best = state["best"] is JsonValue b && b.TryGetValue<string>(out var s)
            ? (s == "inf" ? double.PositiveInfinity : double.NegativeInfinity)
            : Num(state, "best");
        NumBadEpochs = (int)Num(state, "num_bad_epochs");
        CooldownCounter = (int)Num(state, "cooldown_counter");
        LastEpoch = (int)Num(state, "last_epoch");
        LastLR = Nums(state, "_last_lr");
    }
}
