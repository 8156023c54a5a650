// torch.optim.Adagrad as one fused launch per parameter group (kernel) or a SIMD host loop.
using System.Collections.Generic;
using Engine.Kernels.Optim;
using Engine.Nn;

namespace Engine.Optim;

/// <summary>
/// Adagrad with PyTorch 1.13's rule: g += wd * w; clr = lr / (1 + (step - 1) * lr_decay); sum += g * g;
/// w -= clr * g / (sqrt(sum) + eps). State: <c>sum</c>, starting at initial_accumulator_value.
/// </summary>
public sealed class Adagrad : Optimizer
{
    /// <summary>Creates the optimizer; <paramref name="groupOptions"/> override <paramref name="options"/> per group name.</summary>
    public Adagrad(ParameterSet parameters, AdagradOptions options, IReadOnlyDictionary<string, OptimizerOptions>? groupOptions = null)
        : base(OptimizerTable.AdagradRow, parameters, options, groupOptions) => InitializeState();

    private protected override void InitializeState()
    {
        var sum = EnsureState("sum");
        foreach (var g in Groups)
        {
            float init = (float)((AdagradOptions)g.Options).InitialAccumulatorValue;
            if (init == 0f)
            {
                continue;
            }

            foreach (var p in g.Parameters)
            {
                using var view = sum.Slice((int)p.Offset, (int)p.Length);
                view.Fill(init);
            }
        }
    }

    private protected override void Launch(StepUnit unit)
    {
        var o = (AdagradOptions)unit.Group.Options;
        double step = ScalarArray("step")[unit.Representative];
        var rule = new AdagradRule
        {
            Clr = (float)(unit.Group.LR / (1 + ((step - 1) * o.LRDecay))),
            Eps = (float)o.Eps,
        };
        OptimizerTable.AdagradRow.Steps.Select(Device, Variant)(Device, Args(unit, "sum"), Reg(unit.Group), rule);
    }
}
