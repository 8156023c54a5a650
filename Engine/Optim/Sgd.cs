// torch.optim.SGD: the step's scalars for SgdRule, one fused launch per parameter group (kernel) or a SIMD host loop.
using System.Collections.Generic;
using Engine.Kernels.Optim;
using Engine.Nn;

namespace Engine.Optim;

/// <summary>
/// Stochastic gradient descent with PyTorch 1.13's rule: d = g + wd * w; with momentum, buf = d on the first step,
/// else buf = momentum * buf + (1 - dampening) * d; d = nesterov ? d + momentum * buf : buf; w -= lr * d.
/// State: <c>momentum_buffer</c> (allocated when a group has momentum).
/// </summary>
public sealed class Sgd : Optimizer
{
    /// <summary>Creates the optimizer; <paramref name="groupOptions"/> override <paramref name="options"/> per group name.</summary>
    public Sgd(ParameterSet parameters, SgdOptions options, IReadOnlyDictionary<string, OptimizerOptions>? groupOptions = null)
        : base(OptimizerTable.SgdRow, parameters, options, groupOptions)
    {
    }

    private protected override void Launch(StepUnit unit)
    {
        var o = (SgdOptions)unit.Group.Options;
        bool mom = o.Momentum != 0;
        var rule = new SgdRule
        {
            LR = (float)unit.Group.LR,
            Momentum = (float)o.Momentum,
            OneMinusDampening = (float)(1 - o.Dampening),
            HasMomentum = mom ? 1 : 0,
            Nesterov = o.Nesterov ? 1 : 0,
            First = ScalarArray("step")[unit.Representative] <= 1 ? 1 : 0,
        };
        OptimizerTable.SgdRow.Steps.Select(Device, Variant)(Device, Args(unit, mom ? "momentum_buffer" : null), Reg(unit.Group), rule);
    }
}
