// torch.optim.Adagrad as one fused launch per parameter group (kernel) or a SIMD host loop.
using System;
using System.Collections.Generic;
using System.Numerics;
using Engine.Dispatch;
using Engine.Kernels.Optim;
using Engine.Nn;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Optim;

/// <summary>
/// Adagrad with PyTorch 1.13's rule: g += wd * w; clr = lr / (1 + (step - 1) * lr_decay); sum += g * g;
/// w -= clr * g / (sqrt(sum) + eps). State: <c>sum</c>, starting at initial_accumulator_value.
/// </summary>
public sealed class Adagrad : Optimizer
{
    /// <summary>Implementations: <c>kernel.fused</c>, <c>host.simd</c>.</summary>
    public static readonly OpRegistry<OptimStepImpl<AdagradParams>> Registry = new OpRegistry<OptimStepImpl<AdagradParams>>("optim.adagrad")
        .Register("kernel.fused", ComputePath.Kernels, LaunchKernel, "ILGPU kernel over the group's chunk table")
        .Register("host.simd", ComputePath.Host, RunHost, "Vector<float> loop, chunks in parallel");

    private static readonly string[] StateNamesList = ["sum"];

    /// <summary>Creates the optimizer; <paramref name="groupOptions"/> override <paramref name="options"/> per group name.</summary>
    public Adagrad(ParameterSet parameters, AdagradOptions options, IReadOnlyDictionary<string, OptimizerOptions>? groupOptions = null)
        : base("adagrad", parameters, options, groupOptions) => InitializeState();

    /// <inheritdoc />
    public override IReadOnlyList<string> AllStateNames => StateNamesList;

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
        var p = new AdagradParams
        {
            Reg = Reg(unit.Group),
            Clr = (float)(unit.Group.Lr / (1 + ((step - 1) * o.LrDecay))),
            Eps = (float)o.Eps,
        };
        Registry.Select(Device, Variant)(Device, Args(unit, "sum"), p);
    }

    /// <summary>Launches <see cref="OptimizerKernels.Adagrad"/>.</summary>
    public static void LaunchKernel(Device device, in OptimStepArgs a, AdagradParams p) =>
        OptimKernelLaunch.Run(device, a, p, "optim.adagrad", OptimizerKernels.Adagrad);

    /// <summary>Runs the step on the host (CPU device).</summary>
    public static void RunHost(Device device, in OptimStepArgs a, AdagradParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        HostOptim.Run(device, a, p.Reg, new Rule { Clr = Vec.B(p.Clr), Eps = Vec.B(p.Eps) });
    }

    private struct Rule : IHostRule
    {
        public Vector<float> Clr, Eps;

        public readonly void Apply(ref Vector<float> w, Vector<float> g, ref Vector<float> sum, ref Vector<float> s1, ref Vector<float> s2)
        {
            sum += g * g;
            w -= Clr * (g / (Vector.SquareRoot(sum) + Eps));
        }
    }
}
