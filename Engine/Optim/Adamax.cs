// torch.optim.Adamax as one fused launch per parameter group (kernel) or a SIMD host loop.
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
/// Adamax with PyTorch 1.13's rule: g += wd * w; m = beta1 * m + (1 - beta1) * g; u = max(beta2 * u, |g| + eps);
/// w -= lr / (1 - beta1^t) * m / u. State: <c>exp_avg</c>, <c>exp_inf</c>.
/// </summary>
public sealed class Adamax : Optimizer
{
    /// <summary>Implementations: <c>kernel.fused</c>, <c>host.simd</c>.</summary>
    public static readonly OpRegistry<OptimStepImpl<AdamaxParams>> Registry = new OpRegistry<OptimStepImpl<AdamaxParams>>("optim.adamax")
        .Register("kernel.fused", ComputePath.Kernels, LaunchKernel, "ILGPU kernel over the group's chunk table")
        .Register("host.simd", ComputePath.Host, RunHost, "Vector<float> loop, chunks in parallel");

    private static readonly string[] StateNamesList = ["exp_avg", "exp_inf"];

    /// <summary>Creates the optimizer; <paramref name="groupOptions"/> override <paramref name="options"/> per group name.</summary>
    public Adamax(ParameterSet parameters, AdamaxOptions options, IReadOnlyDictionary<string, OptimizerOptions>? groupOptions = null)
        : base("adamax", parameters, options, groupOptions)
    {
    }

    /// <inheritdoc />
    public override IReadOnlyList<string> AllStateNames => StateNamesList;

    private protected override void Launch(StepUnit unit)
    {
        var o = (AdamaxOptions)unit.Group.Options;
        double step = ScalarArray("step")[unit.Representative];
        var p = new AdamaxParams
        {
            Reg = Reg(unit.Group),
            Clr = (float)(unit.Group.Lr / (1 - Math.Pow(o.Beta1, step))),
            Beta1 = (float)o.Beta1,
            OneMinusBeta1 = (float)(1 - o.Beta1),
            Beta2 = (float)o.Beta2,
            Eps = (float)o.Eps,
        };
        Registry.Select(Device, Variant)(Device, Args(unit, "exp_avg", "exp_inf"), p);
    }

    /// <summary>Launches <see cref="OptimizerKernels.Adamax"/>.</summary>
    public static void LaunchKernel(Device device, in OptimStepArgs a, AdamaxParams p) =>
        OptimKernelLaunch.Run(device, a, p, "optim.adamax", OptimizerKernels.Adamax);

    /// <summary>Runs the step on the host (CPU device).</summary>
    public static void RunHost(Device device, in OptimStepArgs a, AdamaxParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        HostOptim.Run(device, a, p.Reg, new Rule
        {
            Clr = Vec.B(p.Clr),
            Beta1 = Vec.B(p.Beta1),
            OneMinusBeta1 = Vec.B(p.OneMinusBeta1),
            Beta2 = Vec.B(p.Beta2),
            Eps = Vec.B(p.Eps),
        });
    }

    private struct Rule : IHostRule
    {
        public Vector<float> Clr, Beta1, OneMinusBeta1, Beta2, Eps;

        public readonly void Apply(ref Vector<float> w, Vector<float> g, ref Vector<float> m, ref Vector<float> u, ref Vector<float> s2)
        {
            m = (m * Beta1) + (OneMinusBeta1 * g);
            u = Vec.MaxNaN(u * Beta2, Vector.Abs(g) + Eps);
            w -= Clr * (m / u);
        }
    }
}
