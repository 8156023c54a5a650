// Hyper-parameters of each optimizer under PyTorch 1.13's names and defaults, plus the engine's regularizers.
using System;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Engine.Optim;

/// <summary>
/// Hyper-parameters shared by every optimizer. <see cref="DecoupledWeightDecay"/> first scales the weights by
/// 1 - lr * decay (AdamW style, usable with any optimizer); then <see cref="WeightDecay"/>, PyTorch's coupled L2 term,
/// adds wd * w to the gradient (AdamW reads it as decoupled decay instead) and <see cref="L1"/> adds l1 * sign(w).
/// The stored gradients are not modified. Options are immutable records: derive group overrides with <c>with</c>.
/// </summary>
public abstract record OptimizerOptions
{
    /// <summary>Learning rate (the initial one; the live value is <see cref="ParamGroup.LR"/>).</summary>
    public abstract double LR { get; init; }

    /// <summary>Coupled L2 weight decay (PyTorch's <c>weight_decay</c>).</summary>
    public double WeightDecay { get; init; }

    /// <summary>L1 regularization: adds <c>L1 * sign(w)</c> to the gradient.</summary>
    public double L1 { get; init; }

    /// <summary>Decoupled weight decay: <c>w *= 1 - lr * DecoupledWeightDecay</c> before the update.</summary>
    public double DecoupledWeightDecay { get; init; }

    /// <summary>Checks every value like PyTorch's constructors do.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range; the message names it.</exception>
    public virtual void Validate()
    {
        NonNegative(LR, "lr");
        NonNegative(WeightDecay, "weight_decay");
        NonNegative(L1, "l1");
        NonNegative(DecoupledWeightDecay, "decoupled_weight_decay");
    }

    /// <summary>A copy with every weight decay and L1 term set to zero (for bias and norm parameters).</summary>
    public OptimizerOptions WithoutDecay() => this with { WeightDecay = 0, L1 = 0, DecoupledWeightDecay = 0 };

    /// <summary>The options as JSON under PyTorch's names (for checkpoints and messages).</summary>
    public virtual JsonObject ToJson() => new()
    {
        ["lr"] = LR,
        ["weight_decay"] = WeightDecay,
        ["l1"] = L1,
        ["decoupled_weight_decay"] = DecoupledWeightDecay,
    };

    /// <summary>Throws when <paramref name="value"/> is negative or NaN.</summary>
    protected static void NonNegative(double value, string name)
    {
        if (!(value >= 0))
        {
            throw new ArgumentOutOfRangeException(name, value, $"Invalid {name}: {value.ToString(CultureInfo.InvariantCulture)}; it must be >= 0.");
        }
    }

    /// <summary>Throws unless 0 &lt;= value &lt; 1 (or &lt;= 1 when <paramref name="inclusive"/>).</summary>
    protected static void UnitInterval(double value, string name, bool inclusive = false)
    {
        if (!(value >= 0 && (inclusive ? value <= 1 : value < 1)))
        {
            throw new ArgumentOutOfRangeException(name, value,
                $"Invalid {name}: {value.ToString(CultureInfo.InvariantCulture)}; it must be in [0, 1{(inclusive ? "]" : ")")}.");
        }
    }
}

/// <summary>torch.optim.SGD: lr (required), momentum 0, dampening 0, nesterov false, weight_decay 0.</summary>
public sealed record SgdOptions : OptimizerOptions
{
    /// <inheritdoc />
    public override double LR { get; init; } = double.NaN;

    /// <summary>Momentum factor.</summary>
    public double Momentum { get; init; }

    /// <summary>Dampening of the momentum.</summary>
    public double Dampening { get; init; }

    /// <summary>Nesterov momentum (needs momentum &gt; 0 and dampening 0).</summary>
    public bool Nesterov { get; init; }

    /// <inheritdoc />
    public override void Validate()
    {
        if (double.IsNaN(LR))
        {
            throw new ArgumentOutOfRangeException("lr", "SGD needs a learning rate (lr has no default, as in PyTorch).");
        }

        base.Validate();
        NonNegative(Momentum, "momentum");
        if (Nesterov && (Momentum <= 0 || Dampening != 0))
        {
            throw new ArgumentOutOfRangeException("nesterov", $"Nesterov momentum requires a momentum > 0 and zero dampening (momentum {Momentum}, dampening {Dampening}).");
        }
    }

    /// <inheritdoc />
    public override JsonObject ToJson()
    {
        var j = base.ToJson();
        j["momentum"] = Momentum;
        j["dampening"] = Dampening;
        j["nesterov"] = Nesterov;
        return j;
    }
}

/// <summary>torch.optim.Adagrad: lr 1e-2, lr_decay 0, weight_decay 0, initial_accumulator_value 0, eps 1e-10.</summary>
public sealed record AdagradOptions : OptimizerOptions
{
    /// <inheritdoc />
    public override double LR { get; init; } = 1e-2;

    /// <summary>Learning-rate decay: clr = lr / (1 + (step - 1) * lr_decay).</summary>
    public double LRDecay { get; init; }

    /// <summary>Starting value of the squared-gradient accumulator.</summary>
    public double InitialAccumulatorValue { get; init; }

    /// <summary>Added to the square root of the accumulator.</summary>
    public double Eps { get; init; } = 1e-10;

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        NonNegative(LRDecay, "lr_decay");
        NonNegative(InitialAccumulatorValue, "initial_accumulator_value");
        NonNegative(Eps, "eps");
    }

    /// <inheritdoc />
    public override JsonObject ToJson()
    {
        var j = base.ToJson();
        j["lr_decay"] = LRDecay;
        j["initial_accumulator_value"] = InitialAccumulatorValue;
        j["eps"] = Eps;
        return j;
    }
}

/// <summary>torch.optim.Adadelta: lr 1.0, rho 0.9, eps 1e-6, weight_decay 0.</summary>
public sealed record AdadeltaOptions : OptimizerOptions
{
    /// <inheritdoc />
    public override double LR { get; init; } = 1.0;

    /// <summary>Decay of the running averages.</summary>
    public double Rho { get; init; } = 0.9;

    /// <summary>Added inside the square roots.</summary>
    public double Eps { get; init; } = 1e-6;

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        UnitInterval(Rho, "rho", inclusive: true);
        NonNegative(Eps, "eps");
    }

    /// <inheritdoc />
    public override JsonObject ToJson()
    {
        var j = base.ToJson();
        j["rho"] = Rho;
        j["eps"] = Eps;
        return j;
    }
}

/// <summary>torch.optim.RMSprop: lr 1e-2, alpha 0.99, eps 1e-8, weight_decay 0, momentum 0, centered false.</summary>
public sealed record RmspropOptions : OptimizerOptions
{
    /// <inheritdoc />
    public override double LR { get; init; } = 1e-2;

    /// <summary>Smoothing constant of the squared-gradient average.</summary>
    public double Alpha { get; init; } = 0.99;

    /// <summary>Added to the root of the second moment.</summary>
    public double Eps { get; init; } = 1e-8;

    /// <summary>Momentum factor.</summary>
    public double Momentum { get; init; }

    /// <summary>Normalize by the estimated variance (keeps a running mean of the gradient).</summary>
    public bool Centered { get; init; }

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        NonNegative(Alpha, "alpha");
        NonNegative(Eps, "eps");
        NonNegative(Momentum, "momentum");
    }

    /// <inheritdoc />
    public override JsonObject ToJson()
    {
        var j = base.ToJson();
        j["alpha"] = Alpha;
        j["eps"] = Eps;
        j["momentum"] = Momentum;
        j["centered"] = Centered;
        return j;
    }
}

/// <summary>torch.optim.Adam: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0, amsgrad false.</summary>
public record AdamOptions : OptimizerOptions
{
    /// <inheritdoc />
    public override double LR { get; init; } = 1e-3;

    /// <summary>First-moment decay (betas[0]).</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>Second-moment decay (betas[1]).</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>Added to the corrected root of the second moment.</summary>
    public double Eps { get; init; } = 1e-8;

    /// <summary>AMSGrad: normalize by the running maximum of the second moment.</summary>
    public bool Amsgrad { get; init; }

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        UnitInterval(Beta1, "beta1");
        UnitInterval(Beta2, "beta2");
        NonNegative(Eps, "eps");
    }

    /// <inheritdoc />
    public override JsonObject ToJson()
    {
        var j = base.ToJson();
        j["beta1"] = Beta1;
        j["beta2"] = Beta2;
        j["eps"] = Eps;
        j["amsgrad"] = Amsgrad;
        return j;
    }
}

/// <summary>torch.optim.AdamW: as Adam, but weight_decay (default 1e-2) is decoupled: w *= 1 - lr * weight_decay.</summary>
public sealed record AdamWOptions : AdamOptions
{
    /// <summary>AdamW's defaults (weight_decay 1e-2).</summary>
    public AdamWOptions() => WeightDecay = 1e-2;
}

/// <summary>torch.optim.Adamax: lr 2e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0.</summary>
public sealed record AdamaxOptions : OptimizerOptions
{
    /// <inheritdoc />
    public override double LR { get; init; } = 2e-3;

    /// <summary>First-moment decay.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>Decay of the infinity norm.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>Added to |g| before the maximum.</summary>
    public double Eps { get; init; } = 1e-8;

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        UnitInterval(Beta1, "beta1");
        UnitInterval(Beta2, "beta2");
        NonNegative(Eps, "eps");
    }

    /// <inheritdoc />
    public override JsonObject ToJson()
    {
        var j = base.ToJson();
        j["beta1"] = Beta1;
        j["beta2"] = Beta2;
        j["eps"] = Eps;
        return j;
    }
}

/// <summary>torch.optim.NAdam: lr 2e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0, momentum_decay 4e-3.</summary>
public sealed record NAdamOptions : OptimizerOptions
{
    /// <inheritdoc />
    public override double LR { get; init; } = 2e-3;

    /// <summary>First-moment decay.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>Second-moment decay.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>Added to the corrected root of the second moment.</summary>
    public double Eps { get; init; } = 1e-8;

    /// <summary>Momentum decay psi of the schedule mu_t = beta1 * (1 - 0.5 * 0.96^(t * psi)).</summary>
    public double MomentumDecay { get; init; } = 4e-3;

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        UnitInterval(Beta1, "beta1");
        UnitInterval(Beta2, "beta2");
        NonNegative(Eps, "eps");
        NonNegative(MomentumDecay, "momentum_decay");
    }

    /// <inheritdoc />
    public override JsonObject ToJson()
    {
        var j = base.ToJson();
        j["beta1"] = Beta1;
        j["beta2"] = Beta2;
        j["eps"] = Eps;
        j["momentum_decay"] = MomentumDecay;
        return j;
    }
}
