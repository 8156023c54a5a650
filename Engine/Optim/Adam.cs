// torch.optim.Adam and AdamW (with AMSGrad) as one fused launch per parameter group or a SIMD host loop.
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
/// Adam with PyTorch 1.13's rule: g += wd * w; m = beta1 * m + (1 - beta1) * g; v = beta2 * v + (1 - beta2) * g^2;
/// (AMSGrad: vmax = max(vmax, v), used instead of v); denom = sqrt(v) / sqrt(1 - beta2^t) + eps;
/// w -= lr / (1 - beta1^t) * m / denom. State: <c>exp_avg</c>, <c>exp_avg_sq</c>, <c>max_exp_avg_sq</c>.
/// </summary>
public class Adam : Optimizer
{
    /// <summary>Implementations: <c>kernel.fused</c>, <c>host.simd</c> (shared by AdamW).</summary>
    public static readonly OpRegistry<OptimStepImpl<AdamParams>> Registry = new OpRegistry<OptimStepImpl<AdamParams>>("optim.adam")
        .Register("kernel.fused", ComputePath.Kernels, LaunchKernel, "ILGPU kernel over the group's chunk table")
        .Register("host.simd", ComputePath.Host, RunHost, "Vector<float> loop, chunks in parallel");

    private static readonly string[] StateNamesList = ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];
    private readonly bool decoupled;

    /// <summary>Creates the optimizer; <paramref name="groupOptions"/> override <paramref name="options"/> per group name.</summary>
    public Adam(ParameterSet parameters, AdamOptions options, IReadOnlyDictionary<string, OptimizerOptions>? groupOptions = null)
        : this("adam", parameters, options, groupOptions, decoupled: false)
    {
        if (options is AdamWOptions)
        {
            throw new ArgumentException("AdamWOptions belong to AdamW; use new AdamW(...) for decoupled weight decay.", nameof(options));
        }
    }

    private protected Adam(string name, ParameterSet parameters, AdamOptions options, IReadOnlyDictionary<string, OptimizerOptions>? groupOptions, bool decoupled)
        : base(name, parameters, options, groupOptions) => this.decoupled = decoupled;

    /// <inheritdoc />
    public override IReadOnlyList<string> AllStateNames => StateNamesList;

    private protected override void Launch(StepUnit unit)
    {
        var o = (AdamOptions)unit.Group.Options;
        double step = ScalarArray("step")[unit.Representative];
        double bc1 = 1 - Math.Pow(o.Beta1, step);
        double bc2 = 1 - Math.Pow(o.Beta2, step);
        var p = new AdamParams
        {
            Reg = Reg(unit.Group, decoupled),
            StepSize = (float)(unit.Group.Lr / bc1),
            Beta1 = (float)o.Beta1,
            OneMinusBeta1 = (float)(1 - o.Beta1),
            Beta2 = (float)o.Beta2,
            OneMinusBeta2 = (float)(1 - o.Beta2),
            Bc2Sqrt = (float)Math.Sqrt(bc2),
            Eps = (float)o.Eps,
            Amsgrad = o.Amsgrad ? 1 : 0,
        };
        Registry.Select(Device, Variant)(Device, Args(unit, "exp_avg", "exp_avg_sq", o.Amsgrad ? "max_exp_avg_sq" : null), p);
    }

    /// <summary>Launches <see cref="OptimizerKernels.Adam"/>.</summary>
    public static void LaunchKernel(Device device, in OptimStepArgs a, AdamParams p) =>
        OptimKernelLaunch.Run(device, a, p, "optim.adam", OptimizerKernels.Adam);

    /// <summary>Runs the step on the host (CPU device).</summary>
    public static void RunHost(Device device, in OptimStepArgs a, AdamParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        HostOptim.Run(device, a, p.Reg, new Rule
        {
            StepSize = Vec.B(p.StepSize),
            Beta1 = Vec.B(p.Beta1),
            OneMinusBeta1 = Vec.B(p.OneMinusBeta1),
            Beta2 = Vec.B(p.Beta2),
            OneMinusBeta2 = Vec.B(p.OneMinusBeta2),
            Bc2Sqrt = Vec.B(p.Bc2Sqrt),
            Eps = Vec.B(p.Eps),
            Amsgrad = p.Amsgrad != 0,
        });
    }

    private struct Rule : IHostRule
    {
        public Vector<float> StepSize, Beta1, OneMinusBeta1, Beta2, OneMinusBeta2, Bc2Sqrt, Eps;
        public bool Amsgrad;

        public readonly void Apply(ref Vector<float> w, Vector<float> g, ref Vector<float> m, ref Vector<float> v, ref Vector<float> vmax)
        {
            m = (m * Beta1) + (OneMinusBeta1 * g);
            v = (v * Beta2) + (OneMinusBeta2 * g * g);
            var vv = v;
            if (Amsgrad)
            {
                vmax = Vec.MaxNaN(vmax, v);
                vv = vmax;
            }

            var denom = (Vector.SquareRoot(vv) / Bc2Sqrt) + Eps;
            w -= StepSize * (m / denom);
        }
    }
}

/// <summary>
/// AdamW: Adam whose <see cref="OptimizerOptions.WeightDecay"/> (default 1e-2) is decoupled, w *= 1 - lr * wd before
/// the Adam update, as torch.optim.AdamW. Same kernels and state as <see cref="Adam"/>.
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates the optimizer; <paramref name="groupOptions"/> override <paramref name="options"/> per group name.</summary>
    public AdamW(ParameterSet parameters, AdamWOptions options, IReadOnlyDictionary<string, OptimizerOptions>? groupOptions = null)
        : base("adamw", parameters, options, groupOptions, decoupled: true)
    {
    }
}
