// torch.optim.NAdam (PyTorch 1.13's rule) as one fused launch per parameter group or a SIMD host loop.
using System;
using System.Collections.Generic;
using Engine.Kernels.Optim;
using Engine.Nn;

namespace Engine.Optim;

/// <summary>
/// NAdam with PyTorch 1.13's rule: mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay)); mu_product *= mu_t;
/// mu_product_next = mu_product * mu_t * mu_{t+1} (sic, as 1.13 computes it); m, v as Adam;
/// denom = sqrt(v / (1 - beta2^t)) + eps; w -= lr * (1 - mu_t) / (1 - mu_product) * g / denom;
/// w -= lr * mu_{t+1} / (1 - mu_product_next) * m / denom. State: <c>exp_avg</c>, <c>exp_avg_sq</c>; scalar
/// <c>mu_product</c> per parameter.
/// </summary>
public sealed class NAdam : Optimizer
{
    /// <summary>Creates the optimizer; <paramref name="groupOptions"/> override <paramref name="options"/> per group name.</summary>
    public NAdam(ParameterSet parameters, NAdamOptions options, IReadOnlyDictionary<string, OptimizerOptions>? groupOptions = null)
        : base(OptimizerTable.NAdamRow, parameters, options, groupOptions) => AddScalarState("mu_product", 1.0);

    private protected override void AdvanceScalars(int index)
    {
        base.AdvanceScalars(index);
        var o = (NAdamOptions)Groups[GroupIndexOf(index)].Options;
        double step = ScalarArray("step")[index];
        ScalarArray("mu_product")[index] *= Mu(o, step);
    }

    private protected override void Launch(StepUnit unit)
    {
        var o = (NAdamOptions)unit.Group.Options;
        double step = ScalarArray("step")[unit.Representative];
        double muProduct = ScalarArray("mu_product")[unit.Representative];
        double mu = Mu(o, step);
        double muNext = Mu(o, step + 1);
        double muProductNext = muProduct * mu * muNext;
        double lr = unit.Group.LR;
        var rule = new NadamRule
        {
            Beta1 = (float)o.Beta1,
            OneMinusBeta1 = (float)(1 - o.Beta1),
            Beta2 = (float)o.Beta2,
            OneMinusBeta2 = (float)(1 - o.Beta2),
            Bc2 = (float)(1 - Math.Pow(o.Beta2, step)),
            Eps = (float)o.Eps,
            GradCoef = (float)(-lr * (1 - mu) / (1 - muProduct)),
            AvgCoef = (float)(-lr * muNext / (1 - muProductNext)),
        };
        OptimizerTable.NAdamRow.Steps.Select(Device, Variant)(Device, Args(unit, "exp_avg", "exp_avg_sq"), Reg(unit.Group), rule);
    }

    private static double Mu(NAdamOptions o, double step) => o.Beta1 * (1 - (0.5 * Math.Pow(0.96, step * o.MomentumDecay)));
}
