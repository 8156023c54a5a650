// torch.optim.Adadelta as one fused launch per parameter group (kernel) or a SIMD host loop.
using System.Collections.Generic;
using Engine.Kernels.Optim;
using Engine.Nn;

namespace Engine.Optim;

/// <summary>
/// Adadelta with PyTorch 1.13's rule: g += wd * w; sq = rho * sq + (1 - rho) * g^2;
/// delta = sqrt(acc + eps) / sqrt(sq + eps) * g; acc = rho * acc + (1 - rho) * delta^2; w -= lr * delta.
/// State: <c>square_avg</c>, <c>acc_delta</c>.
/// </summary>
public sealed class Adadelta : Optimizer
{
    /// <summary>Creates the optimizer; <paramref name="groupOptions"/> override <paramref name="options"/> per group name.</summary>
    public Adadelta(ParameterSet parameters, AdadeltaOptions options, IReadOnlyDictionary<string, OptimizerOptions>? groupOptions = null)
        : base(OptimizerTable.AdadeltaRow, parameters, options, groupOptions)
    {
    }

    private protected override void Launch(StepUnit unit)
    {
        var o = (AdadeltaOptions)unit.Group.Options;
        var rule = new AdadeltaRule
        {
            LR = (float)unit.Group.LR,
            Rho = (float)o.Rho,
            OneMinusRho = (float)(1 - o.Rho),
            Eps = (float)o.Eps,
        };
        OptimizerTable.AdadeltaRow.Steps.Select(Device, Variant)(Device, Args(unit, "square_avg", "acc_delta"), Reg(unit.Group), rule);
    }
}
