// torch.optim.RMSprop (plain, centered, with momentum) as one fused launch per parameter group or a SIMD host loop.
using System.Collections.Generic;
using Engine.Kernels.Optim;
using Engine.Nn;

namespace Engine.Optim;

/// <summary>
/// RMSprop with PyTorch 1.13's rule: g += wd * w; sq = alpha * sq + (1 - alpha) * g^2; centered: gavg = alpha * gavg +
/// (1 - alpha) * g, avg = sqrt(sq - gavg^2) + eps, else avg = sqrt(sq) + eps; with momentum buf = momentum * buf +
/// g / avg, w -= lr * buf, else w -= lr * g / avg. State: <c>square_avg</c>, <c>momentum_buffer</c>, <c>grad_avg</c>.
/// </summary>
public sealed class Rmsprop : Optimizer
{
    /// <summary>Creates the optimizer; <paramref name="groupOptions"/> override <paramref name="options"/> per group name.</summary>
    public Rmsprop(ParameterSet parameters, RmspropOptions options, IReadOnlyDictionary<string, OptimizerOptions>? groupOptions = null)
        : base(OptimizerTable.RmspropRow, parameters, options, groupOptions)
    {
    }

    private protected override void Launch(StepUnit unit)
    {
        var o = (RmspropOptions)unit.Group.Options;
        bool mom = o.Momentum > 0;
        var rule = new RmspropRule
        {
            LR = (float)unit.Group.LR,
            Alpha = (float)o.Alpha,
            OneMinusAlpha = (float)(1 - o.Alpha),
            Eps = (float)o.Eps,
            Momentum = (float)o.Momentum,
            HasMomentum = mom ? 1 : 0,
            Centered = o.Centered ? 1 : 0,
        };
        OptimizerTable.RmspropRow.Steps.Select(Device, Variant)(Device, Args(unit, "square_avg", mom ? "momentum_buffer" : null, o.Centered ? "grad_avg" : null), Reg(unit.Group), rule);
    }
}
