// torch.optim.SGD as one fused launch per parameter group (kernel) or a SIMD host loop.
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
/// Stochastic gradient descent with PyTorch 1.13's rule: d = g + wd * w; with momentum, buf = d on the first step,
/// else buf = momentum * buf + (1 - dampening) * d; d = nesterov ? d + momentum * buf : buf; w -= lr * d.
/// State: <c>momentum_buffer</c> (allocated when a group has momentum).
/// </summary>
public sealed class Sgd : Optimizer
{
    /// <summary>Implementations: <c>kernel.fused</c>, <c>host.simd</c>.</summary>
    public static readonly OpRegistry<OptimStepImpl<SgdParams>> Registry = new OpRegistry<OptimStepImpl<SgdParams>>("optim.sgd")
        .Register("kernel.fused", ComputePath.Kernels, LaunchKernel, "ILGPU kernel over the group's chunk table")
        .Register("host.simd", ComputePath.Host, RunHost, "Vector<float> loop, chunks in parallel");

    private static readonly string[] StateNamesList = ["momentum_buffer"];

    /// <summary>Creates the optimizer; <paramref name="groupOptions"/> override <paramref name="options"/> per group name.</summary>
    public Sgd(ParameterSet parameters, SgdOptions options, IReadOnlyDictionary<string, OptimizerOptions>? groupOptions = null)
        : base("sgd", parameters, options, groupOptions)
    {
    }

    /// <inheritdoc />
    public override IReadOnlyList<string> AllStateNames => StateNamesList;

    private protected override void Launch(StepUnit unit)
    {
        var o = (SgdOptions)unit.Group.Options;
        bool mom = o.Momentum != 0;
        var p = new SgdParams
        {
            Reg = Reg(unit.Group),
            Lr = (float)unit.Group.Lr,
            Momentum = (float)o.Momentum,
            OneMinusDampening = (float)(1 - o.Dampening),
            HasMomentum = mom ? 1 : 0,
            Nesterov = o.Nesterov ? 1 : 0,
            First = ScalarArray("step")[unit.Representative] <= 1 ? 1 : 0,
        };
        var args = Args(unit, mom ? "momentum_buffer" : null);
        Registry.Select(Device, Variant)(Device, args, p);
    }

    /// <summary>Launches <see cref="OptimizerKernels.Sgd"/>.</summary>
    public static void LaunchKernel(Device device, in OptimStepArgs a, SgdParams p) =>
        OptimKernelLaunch.Run(device, a, p, "optim.sgd", OptimizerKernels.Sgd);

    /// <summary>Runs the step on the host (CPU device).</summary>
    public static void RunHost(Device device, in OptimStepArgs a, SgdParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        HostOptim.Run(device, a, p.Reg, new Rule
        {
            Lr = Vec.B(p.Lr),
            Momentum = Vec.B(p.Momentum),
            OneMinusDampening = Vec.B(p.OneMinusDampening),
            HasMomentum = p.HasMomentum != 0,
            Nesterov = p.Nesterov != 0,
            First = p.First != 0,
        });
    }

    private struct Rule : IHostRule
    {
        public Vector<float> Lr, Momentum, OneMinusDampening;
        public bool HasMomentum, Nesterov, First;

        public readonly void Apply(ref Vector<float> w, Vector<float> g, ref Vector<float> buf, ref Vector<float> s1, ref Vector<float> s2)
        {
            var d = g;
            if (HasMomentum)
            {
                var b = First ? d : (Momentum * buf) + (OneMinusDampening * d);
                buf = b;
                d = Nesterov ? d + (Momentum * b) : b;
            }

            w -= Lr * d;
        }
    }
}
