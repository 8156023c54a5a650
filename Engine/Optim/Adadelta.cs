// torch.optim.Adadelta as one fused launch per parameter group (kernel) or a SIMD host loop.
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
/// Adadelta with PyTorch 1.13's rule: g += wd * w; sq = rho * sq + (1 - rho) * g^2;
/// delta = sqrt(acc + eps) / sqrt(sq + eps) * g; acc = rho * acc + (1 - rho) * delta^2; w -= lr * delta.
/// State: <c>square_avg</c>, <c>acc_delta</c>.
/// </summary>
public sealed class Adadelta : Optimizer
{
    /// <summary>Implementations: <c>kernel.fused</c>, <c>host.simd</c>.</summary>
    public static readonly OpRegistry<OptimStepImpl<AdadeltaParams>> Registry = new OpRegistry<OptimStepImpl<AdadeltaParams>>("optim.adadelta")
        .Register("kernel.fused", ComputePath.Kernels, LaunchKernel, "ILGPU kernel over the group's chunk table")
        .Register("host.simd", ComputePath.Host, RunHost, "Vector<float> loop, chunks in parallel");

    private static readonly string[] StateNamesList = ["square_avg", "acc_delta"];

    /// <summary>Creates the optimizer; <paramref name="groupOptions"/> override <paramref name="options"/> per group name.</summary>
    public Adadelta(ParameterSet parameters, AdadeltaOptions options, IReadOnlyDictionary<string, OptimizerOptions>? groupOptions = null)
        : base("adadelta", parameters, options, groupOptions)
    {
    }

    /// <inheritdoc />
    public override IReadOnlyList<string> AllStateNames => StateNamesList;

    private protected override void Launch(StepUnit unit)
    {
        var o = (AdadeltaOptions)unit.Group.Options;
        var p = new AdadeltaParams
        {
            Reg = Reg(unit.Group),
            Lr = (float)unit.Group.Lr,
            Rho = (float)o.Rho,
            OneMinusRho = (float)(1 - o.Rho),
            Eps = (float)o.Eps,
        };
        Registry.Select(Device, Variant)(Device, Args(unit, "square_avg", "acc_delta"), p);
    }

    /// <summary>Launches <see cref="OptimizerKernels.Adadelta"/>.</summary>
    public static void LaunchKernel(Device device, in OptimStepArgs a, AdadeltaParams p) =>
        OptimKernelLaunch.Run(device, a, p, "optim.adadelta", OptimizerKernels.Adadelta);

    /// <summary>Runs the step on the host (CPU device).</summary>
    public static void RunHost(Device device, in OptimStepArgs a, AdadeltaParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        HostOptim.Run(device, a, p.Reg, new Rule { Lr = Vec.B(p.Lr), Rho = Vec.B(p.Rho), OneMinusRho = Vec.B(p.OneMinusRho), Eps = Vec.B(p.Eps) });
    }

    private struct Rule : IHostRule
    {
        public Vector<float> Lr, Rho, OneMinusRho, Eps;

        public readonly void Apply(ref Vector<float> w, Vector<float> g, ref Vector<float> sq, ref Vector<float> acc, ref Vector<float> s2)
        {
            sq = (sq * Rho) + (OneMinusRho * g * g);
            var std = Vector.SquareRoot(sq + Eps);
            var delta = Vector.SquareRoot(acc + Eps) / std * g;
            acc = (acc * Rho) + (OneMinusRho * delta * delta);
            w -= Lr * delta;
        }
    }
}
