// StepLR, ExponentialLR, CosineAnnealingLR and LinearLR with PyTorch 1.13's chainable and closed forms.
using System;
using System.Text.Json.Nodes;

namespace Engine.Optim.Schedules;

/// <summary>torch.optim.lr_scheduler.StepLR: multiplies the lr by gamma every step_size epochs.</summary>
public sealed class StepLR : LRScheduler
{
    /// <summary>Creates the scheduler and runs its initial step.</summary>
    /// <exception cref="ArgumentOutOfRangeException">step_size is not positive.</exception>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1, int lastEpoch = -1)
        : base(optimizer, lastEpoch)
    {
        StepSize = stepSize > 0 ? stepSize : throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, "step_size must be positive.");
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>Epochs between decays.</summary>
    public int StepSize { get; private set; }

    /// <summary>Decay factor.</summary>
    public double Gamma { get; private set; }

    /// <inheritdoc />
    public override string TypeName => "StepLR";

    private protected override void ChainableLr(double[] lrs)
    {
        bool decay = LastEpoch != 0 && LastEpoch % StepSize == 0;
        for (int i = 0; i < lrs.Length; i++)
        {
            lrs[i] = decay ? GroupLr(i) * Gamma : GroupLr(i);
        }
    }

    private protected override bool ClosedFormLr(double[] lrs)
    {
        for (int i = 0; i < lrs.Length; i++)
        {
            lrs[i] = BaseLRs[i] * Math.Pow(Gamma, Math.Floor((double)LastEpoch / StepSize));
        }

        return true;
    }

    private protected override void WriteFields(JsonObject state)
    {
        state["step_size"] = StepSize;
        state["gamma"] = Gamma;
    }

    private protected override void ReadFields(JsonObject state)
    {
        StepSize = (int)Num(state, "step_size");
        Gamma = Num(state, "gamma");
    }
}

/// <summary>torch.optim.lr_scheduler.ExponentialLR: multiplies the lr by gamma every epoch.</summary>
public sealed class ExponentialLR : LRScheduler
{
    /// <summary>Creates the scheduler and runs its initial step.</summary>
    public ExponentialLR(Optimizer optimizer, double gamma, int lastEpoch = -1)
        : base(optimizer, lastEpoch)
    {
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>Decay factor per epoch.</summary>
    public double Gamma { get; private set; }

    /// <inheritdoc />
    public override string TypeName => "ExponentialLR";

    private protected override void ChainableLr(double[] lrs)
    {
        for (int i = 0; i < lrs.Length; i++)
        {
            lrs[i] = LastEpoch == 0 ? GroupLr(i) : GroupLr(i) * Gamma;
        }
    }

    private protected override bool ClosedFormLr(double[] lrs)
    {
        for (int i = 0; i < lrs.Length; i++)
        {
            lrs[i] = BaseLRs[i] * Math.Pow(Gamma, LastEpoch);
        }

        return true;
    }

    private protected override void WriteFields(JsonObject state) => state["gamma"] = Gamma;

    private protected override void ReadFields(JsonObject state) => Gamma = Num(state, "gamma");
}

/// <summary>
/// torch.optim.lr_scheduler.CosineAnnealingLR: eta_min + (base - eta_min) * (1 + cos(pi * t / T_max)) / 2, computed
/// with PyTorch's recursive form (which keeps following the cosine past T_max).
/// </summary>
public sealed class CosineAnnealingLR : LRScheduler
{
    /// <summary>Creates the scheduler and runs its initial step.</summary>
    /// <exception cref="ArgumentOutOfRangeException">T_max is not positive.</exception>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0, int lastEpoch = -1)
        : base(optimizer, lastEpoch)
    {
        TMax = tMax > 0 ? tMax : throw new ArgumentOutOfRangeException(nameof(tMax), tMax, "T_max must be positive.");
        EtaMin = etaMin;
        InitialStep();
    }

    /// <summary>Half period in epochs.</summary>
    public int TMax { get; private set; }

    /// <summary>Minimum learning rate.</summary>
    public double EtaMin { get; private set; }

    /// <inheritdoc />
    public override string TypeName => "CosineAnnealingLR";

    private protected override void ChainableLr(double[] lrs)
    {
        int t = LastEpoch;
        for (int i = 0; i < lrs.Length; i++)
        {
            double lr = GroupLr(i);
            if (t == 0)
            {
                lrs[i] = lr;
            }
            else if (StepCount == 1 && t > 0)
            {
                lrs[i] = EtaMin + ((BaseLRs[i] - EtaMin) * (1 + Math.Cos(t * Math.PI / TMax)) / 2);
            }
            else if (PyMod(t - 1 - TMax, 2 * TMax) == 0)
            {
                lrs[i] = lr + ((BaseLRs[i] - EtaMin) * (1 - Math.Cos(Math.PI / TMax)) / 2);
            }
            else
            {
                lrs[i] = ((1 + Math.Cos(Math.PI * t / TMax)) / (1 + Math.Cos(Math.PI * (t - 1) / TMax)) * (lr - EtaMin)) + EtaMin;
            }
        }
    }

    private protected override bool ClosedFormLr(double[] lrs)
    {
        for (int i = 0; i < lrs.Length; i++)
        {
            lrs[i] = EtaMin + ((BaseLRs[i] - EtaMin) * (1 + Math.Cos(Math.PI * LastEpoch / TMax)) / 2);
        }

        return true;
    }

    private protected override void WriteFields(JsonObject state)
    {
        state["T_max"] = TMax;
        state["eta_min"] = EtaMin;
    }

    private protected override void ReadFields(JsonObject state)
    {
        TMax = (int)Num(state, "T_max");
        EtaMin = Num(state, "eta_min");
    }

    private static int PyMod(int a, int m) => ((a % m) + m) % m;
}

/// <summary>
/// torch.optim.lr_scheduler.LinearLR (linear warm-up): the factor goes linearly from start_factor to end_factor
/// over total_iters epochs, then stays.
/// </summary>
public sealed class LinearLR : LRScheduler
{
    /// <summary>Creates the scheduler and runs its initial step (PyTorch's defaults: 1/3, 1.0, 5).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A factor is outside [0, 1] (start must be &gt; 0) or total_iters is not positive.</exception>
    public LinearLR(Optimizer optimizer, double startFactor = 1.0 / 3, double endFactor = 1.0, int totalIters = 5, int lastEpoch = -1)
        : base(optimizer, lastEpoch)
    {
        if (!(startFactor > 0 && startFactor <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(startFactor), startFactor, "start_factor must be in (0, 1].");
        }

        if (!(endFactor >= 0 && endFactor <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(endFactor), endFactor, "end_factor must be in [0, 1].");
        }

        StartFactor = startFactor;
        EndFactor = endFactor;
        TotalIters = totalIters > 0 ? totalIters : throw new ArgumentOutOfRangeException(nameof(totalIters), totalIters, "total_iters must be positive.");
        InitialStep();
    }

    /// <summary>Factor at epoch 0.</summary>
    public double StartFactor { get; private set; }

    /// <summary>Factor from epoch total_iters on.</summary>
    public double EndFactor { get; private set; }

    /// <summary>Length of the ramp in epochs.</summary>
    public int TotalIters { get; private set; }

    /// <inheritdoc />
    public override string TypeName => "LinearLR";

    private protected override void ChainableLr(double[] lrs)
    {
        int t = LastEpoch;
        for (int i = 0; i < lrs.Length; i++)
        {
            double lr = GroupLr(i);
            lrs[i] = t == 0 ? lr * StartFactor
                : t > TotalIters ? lr
                : lr * (1.0 + ((EndFactor - StartFactor) / ((TotalIters * StartFactor) + ((t - 1) * (EndFactor - StartFactor)))));
        }
    }

    private protected override bool ClosedFormLr(double[] lrs)
    {
        for (int i = 0; i < lrs.Length; i++)
        {
            lrs[i] = BaseLRs[i] * (StartFactor + ((EndFactor - StartFactor) * Math.Min(TotalIters, LastEpoch) / TotalIters));
        }

        return true;
    }

    private protected override void WriteFields(JsonObject state)
    {
        state["start_factor"] = StartFactor;
        state["end_factor"] = EndFactor;
        state["total_iters"] = TotalIters;
    }

    private protected override void ReadFields(JsonObject state)
    {
        StartFactor = Num(state, "start_factor");
        EndFactor = Num(state, "end_factor");
        TotalIters = (int)Num(state, "total_iters");
    }
}
