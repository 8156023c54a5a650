// Forward-mode tangents of the pooling ops that are not linear: the gather at the saved indices (max pooling and every
// pooling that saves the element it picked) and power-average pooling. Average pooling is linear: its tangent is its forward.
using System;
using Engine.Backends.Cpu;
using Engine.Backends.Kernel;
using Engine.Dispatch;
using Engine.Kernels.Pool;

namespace Engine.Ops;

/// <summary>
/// Tangents (forward mode) of pooling. <see cref="Gather"/>: dy[o] = dx at the element forward saved for output o (max
/// pooling's argmax), so dy is the input tangent picked at the same places; <see cref="Lp"/>: dy = s^(1/p - 1) * sum of
/// x^(p-1) dx over the window (s = sum x^p; 0 where s = 0), the adjoint of lp pooling's backward. Variants
/// <c>kernel.gather</c> (a thread per output) and <c>host.planes</c>.
/// </summary>
public static class PoolTangent
{
    /// <summary>Gather implementations, arguments (p, dx, indices, dy).</summary>
    internal static readonly OpRegistry<MaxPoolBackwardImpl> GatherRegistry = new OpRegistry<MaxPoolBackwardImpl>("pool_tangent.gather")
        .Register("kernel.gather", ComputePath.Kernels, PoolLaunchers.MaxTangent, "ILGPU kernel: one thread per output reads the tangent at its saved index")
        .Register("host.planes", ComputePath.Host, CpuPool.MaxTangent, "managed loops, parallel over planes");

    /// <summary>Lp pooling implementations, arguments (p, x, dx, dy).</summary>
    internal static readonly OpRegistry<LpPoolBackwardImpl> LpRegistry = new OpRegistry<LpPoolBackwardImpl>("pool_tangent.lp")
        .Register("kernel.gather", ComputePath.Kernels, PoolLaunchers.LpTangent, "ILGPU kernel: one thread per output, window sums recomputed")
        .Register("host.planes", ComputePath.Host, CpuPool.LpTangent, "managed loops, parallel over planes");

    /// <summary>dy = dx at <paramref name="indices"/> (saved by <see cref="MaxPool2dOp.Forward"/> with <paramref name="options"/>).</summary>
    /// <exception cref="ArgumentException">Shapes, window or devices do not fit; nothing was launched.</exception>
    public static void Gather(Tensor dx, Tensor indices, Tensor dy, Pool2dOptions options, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(dx);
        var p = PoolChecks.Describe("max_pool2d", dx.Shape, options, allowPadding: true, "dx");
        var o = PoolChecks.Output(dx.Shape, p);
        PoolChecks.Expect("max_pool2d", dy, o, "dy", dx.Device, $"dx {dx.Shape}, {options}");
        PoolChecks.Expect("max_pool2d", indices, o, "indices", dx.Device, "same as dy");
        GatherRegistry.Select(dx.Device, variant)(dx.Device, p, dx.View, indices.View, dy.View);
    }

    /// <summary>The tangent of <see cref="LPPool2dOp.Forward"/> at x along dx.</summary>
    /// <exception cref="ArgumentException">Shapes, window, norm type or devices do not fit; nothing was launched.</exception>
    public static void Lp(Tensor x, Tensor dx, Tensor dy, double normType, Pool2dOptions options, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (!double.IsFinite(normType) || normType <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(normType), normType, "lp_pool2d: norm_type must be a positive finite number.");
        }

        var p = PoolChecks.Describe("lp_pool2d", x.Shape, options, false);
        p.NormType = (float)normType;
        PoolChecks.Expect("lp_pool2d", dx, x.Shape, "dx", x.Device, "same as x");
        PoolChecks.Expect("lp_pool2d", dy, PoolChecks.Output(x.Shape, p), "dy", x.Device, $"x {x.Shape}, {options}");
        LpRegistry.Select(x.Device, variant)(x.Device, p, x.View, dx.View, dy.View);
    }
}
