// torch.optim.Adamax as one fused launch per parameter group (kernel) or a SIMD host loop.
using System;
using System.Collections.Generic;
using Engine.Kernels.Optim;
using Engine.Nn;

namespace Engine.Optim;

/// <summary>
/// Adamax with PyTorch 1.13's rule: g += wd * w; m = beta1 * m + (1 - beta1) * g; u = max(beta2 * u, |g| + eps);
/// w -= lr / (1 - beta1^t) * m / u. State: <c>exp_avg</c>, <c>exp_inf</c>.
/// </summary>
public sealed class Adamax : Optimizer
{
    /// <summary>Creates the optimizer; <paramref name="groupOptions"/> override <paramref name="options"/> per group name.</summary>
    public Adamax(ParameterSet parameters, AdamaxOptions options, IReadOnlyDictionary<string, OptimizerOptions>? groupOptions = null)
        : base(OptimizerTable.AdamaxRow, parameters, options, groupOptions)
    {
    }

    private protected override void Launch(StepUnit unit)
    {
        var o = (AdamaxOptions)unit.Group.Options;
        double step = ScalarArray("step")[unit.Representative];
        var rule = new AdamaxRule
        {
            Clr = (float)(unit.Group.LR / (1 - Math.Pow(o.Beta1, step))),
            Beta1 = (float)o.Beta1,
            OneMinusBeta1 = (float)(1 - o.Beta1),
            Beta2 = (float)o.Beta2,
            Eps = (float)o.Eps,
        };
        OptimizerTable.AdamaxRow.Steps.Select(Device, Variant)(Device, Args(unit, "exp_avg", "exp_inf"), Reg(unit.Group), rule);
    }
}
