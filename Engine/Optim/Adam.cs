// torch.optim.Adam and AdamW (with AMSGrad) as one fused launch per parameter group or a SIMD host loop.
using System;
using System.Collections.Generic;
using Engine.Kernels.Optim;
using Engine.Nn;

namespace Engine.Optim;

/// <summary>
/// Adam with PyTorch 1.13's rule: g += wd * w; m = beta1 * m + (1 - beta1) * g; v = beta2 * v + (1 - beta2) * g^2;
/// (AMSGrad: vmax = max(vmax, v), used instead of v); denom = sqrt(v) / sqrt(1 - beta2^t) + eps;
/// w -= lr / (1 - beta1^t) * m / denom. State: <c>exp_avg</c>, <c>exp_avg_sq</c>, <c>max_exp_avg_sq</c>.
/// </summary>
public class Adam : Optimizer
{
    private readonly bool decoupled;
    private readonly OptimizerDefinition<AdamRule> row;

    /// <summary>Creates the optimizer; <paramref name="groupOptions"/> override <paramref name="options"/> per group name.</summary>
    public Adam(ParameterSet parameters, AdamOptions options, IReadOnlyDictionary<string, OptimizerOptions>? groupOptions = null)
        : this(OptimizerTable.AdamRow, parameters, options, groupOptions, decoupled: false)
    {
        if (options is AdamWOptions)
        {
            throw new ArgumentException("AdamWOptions belong to AdamW; use new AdamW(...) for decoupled weight decay.", nameof(options));
        }
    }

    private protected Adam(OptimizerDefinition<AdamRule> definition, ParameterSet parameters, AdamOptions options, IReadOnlyDictionary<string, OptimizerOptions>? groupOptions, bool decoupled)
        : base(definition, parameters, options, groupOptions)
    {
        this.decoupled = decoupled;
        row = definition;
    }

    private protected override void Launch(StepUnit unit)
    {
        var o = (AdamOptions)unit.Group.Options;
        double step = ScalarArray("step")[unit.Representative];
        double bc1 = 1 - Math.Pow(o.Beta1, step);
        double bc2 = 1 - Math.Pow(o.Beta2, step);
        var rule = new AdamRule
        {
            StepSize = (float)(unit.Group.LR / bc1),
            Beta1 = (float)o.Beta1,
            OneMinusBeta1 = (float)(1 - o.Beta1),
            Beta2 = (float)o.Beta2,
            OneMinusBeta2 = (float)(1 - o.Beta2),
            Bc2Sqrt = (float)Math.Sqrt(bc2),
            Eps = (float)o.Eps,
            Amsgrad = o.Amsgrad ? 1 : 0,
        };
        row.Steps.Select(Device, Variant)(Device, Args(unit, "exp_avg", "exp_avg_sq", o.Amsgrad ? "max_exp_avg_sq" : null), Reg(unit.Group, decoupled), rule);
    }
}

/// <summary>
/// AdamW: Adam whose <see cref="OptimizerOptions.WeightDecay"/> (default 1e-2) is decoupled, w *= 1 - lr * wd before
/// the Adam update, as torch.optim.AdamW. Same kernels and state as <see cref="Adam"/>.
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates the optimizer; <paramref name="groupOptions"/> override <paramref name="options"/> per group name.</summary>
    public AdamW(ParameterSet parameters, AdamWOptions options, IReadOnlyDictionary<string, OptimizerOptions>? groupOptions = null)
        : base(OptimizerTable.AdamWRow, parameters, options, groupOptions, decoupled: true)
    {
    }
}
