// torch.optim.RMSprop (plain, centered, with momentum) as one fused launch per parameter group or a SIMD host loop.
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
/// RMSprop with PyTorch 1.13's rule: g += wd * w; sq = alpha * sq + (1 - alpha) * g^2; centered: gavg = alpha * gavg +
/// (1 - alpha) * g, avg = sqrt(sq - gavg^2) + eps, else avg = sqrt(sq) + eps; with momentum buf = momentum * buf +
/// g / avg, w -= lr * buf, else w -= lr * g / avg. State: <c>square_avg</c>, <c>momentum_buffer</c>, <c>grad_avg</c>.
/// </summary>
public sealed class Rmsprop : Optimizer
{
    /// <summary>Implementations: <c>kernel.fused</c>, <c>host.simd</c>.</summary>
    public static readonly OpRegistry<OptimStepImpl<RmspropParams>> Registry = new OpRegistry<OptimStepImpl<RmspropParams>>("optim.rmsprop")
        .Register("kernel.fused", ComputePath.Kernels, LaunchKernel, "ILGPU kernel over the group's chunk table")
        .Register("host.simd", ComputePath.Host, RunHost, "Vector<float> loop, chunks in parallel");

    private static readonly string[] StateNamesList = ["square_avg", "momentum_buffer", "grad_avg"];

    /// <summary>Creates the optimizer; <paramref name="groupOptions"/> override <paramref name="options"/> per group name.</summary>
    public Rmsprop(ParameterSet parameters, RmspropOptions options, IReadOnlyDictionary<string, OptimizerOptions>? groupOptions = null)
        : base("rmsprop", parameters, options, groupOptions)
    {
    }

    /// <inheritdoc />
    public override IReadOnlyList<string> AllStateNames => StateNamesList;

    private protected override void Launch(StepUnit unit)
    {
        var o = (RmspropOptions)unit.Group.Options;
        bool mom = o.Momentum > 0;
        var p = new RmspropParams
        {
            Reg = Reg(unit.Group),
            Lr = (float)unit.Group.Lr,
            Alpha = (float)o.Alpha,
            OneMinusAlpha = (float)(1 - o.Alpha),
            Eps = (float)o.Eps,
            Momentum = (float)o.Momentum,
            HasMomentum = mom ? 1 : 0,
            Centered = o.Centered ? 1 : 0,
        };
        Registry.Select(Device, Variant)(Device, Args(unit, "square_avg", mom ? "momentum_buffer" : null, o.Centered ? "grad_avg" : null), p);
    }

    /// <summary>Launches <see cref="OptimizerKernels.Rmsprop"/>.</summary>
    public static void LaunchKernel(Device device, in OptimStepArgs a, RmspropParams p) =>
        OptimKernelLaunch.Run(device, a, p, "optim.rmsprop", OptimizerKernels.Rmsprop);

    /// <summary>Runs the step on the host (CPU device).</summary>
    public static void RunHost(Device device, in OptimStepArgs a, RmspropParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        HostOptim.Run(device, a, p.Reg, new Rule
        {
            Lr = Vec.B(p.Lr),
            Alpha = Vec.B(p.Alpha),
            OneMinusAlpha = Vec.B(p.OneMinusAlpha),
            Eps = Vec.B(p.Eps),
            Momentum = Vec.B(p.Momentum),
            HasMomentum = p.HasMomentum != 0,
            Centered = p.Centered != 0,
        });
    }

    private struct Rule : IHostRule
    {
        public Vector<float> Lr, Alpha, OneMinusAlpha, Eps, Momentum;
        public bool HasMomentum, Centered;

        public readonly void Apply(ref Vector<float> w, Vector<float> g, ref Vector<float> sq, ref Vector<float> mom, ref Vector<float> gavg)
        {
            sq = (sq * Alpha) + (OneMinusAlpha * g * g);
            Vector<float> avg;
            if (Centered)
            {
                gavg = (gavg * Alpha) + (OneMinusAlpha * g);
                avg = Vector.SquareRoot(sq - (gavg * gavg));
            }
            else
            {
                avg = Vector.SquareRoot(sq);
            }

            avg += Eps;
            if (HasMomentum)
            {
                mom = (mom * Momentum) + (g / avg);
                w -= Lr * mom;
            }
            else
            {
                w -= Lr * (g / avg);
            }
        }
    }
}
