// Inverted dropout with a Philox counter-based mask that kernels and host code compute identically from (seed, offset).
using System;
using Engine.Backends.Cpu;
using Engine.Dispatch;
using Engine.Kernels.Elementwise;
using Engine.Kernels.Rng;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Ops;

/// <summary>A dropout implementation: y = mask(seed, offset) * x (the backward is the same map on dy).</summary>
internal delegate void DropoutImpl(Tensor x, Tensor y, DropoutParams p);

/// <summary>A dropout-mask implementation: mask = keep ? 1 / (1 - p) : 0.</summary>
internal delegate void DropoutMaskImpl(Tensor mask, DropoutParams p);

/// <summary>
/// Inverted dropout: in training, element i is kept with probability 1 - p and scaled by 1 / (1 - p), else zeroed;
/// in inference it is the identity. The mask is a pure function of (seed, offset, i): element i is kept when the top
/// 24 bits of word i % 4 of Philox4x32-10 with key = seed and counter = (i / 4, offset) are below
/// round((1 - p) * 2^24). So no mask is stored: backward recomputes it from the same seed and offset, and every
/// path (kernels, host) produces the same mask bit for bit. Use a fresh offset (e.g. step * layers + layer) per call.
/// Variants: <c>kernel.philox</c>, <c>host.philox</c>.
/// </summary>
public static class DropoutOp
{
    /// <summary>Apply implementations (forward, and backward on dy).</summary>
    internal static readonly OpRegistry<DropoutImpl> Registry = new OpRegistry<DropoutImpl>("dropout")
        .Register("kernel.philox", ComputePath.Kernels, KernelApply, "ILGPU: one thread per four elements, one Philox4x32-10 block each")
        .Register("host.philox", ComputePath.Host, HostApply, "managed: the same Philox function, parallel over element blocks");

    /// <summary>Mask implementations.</summary>
    internal static readonly OpRegistry<DropoutMaskImpl> MaskRegistry = new OpRegistry<DropoutMaskImpl>("dropout_mask")
        .Register("kernel.philox", ComputePath.Kernels, KernelMask, "ILGPU: the mask the apply kernel uses")
        .Register("host.philox", ComputePath.Host, HostMask, "managed: the same mask on the host");

    /// <summary>
    /// y = x * mask / (1 - p) in training, y = x in inference (a copy unless y is x). p in [0, 1]; p = 1 zeroes y.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes or devices differ, or p is outside [0, 1].</exception>
    public static void Forward(Tensor x, Tensor y, float p, ulong seed, ulong offset, bool training, string? variant = null)
    {
        var dp = Describe(x, y, p, seed, offset, "dropout", nameof(x), nameof(y));
        Run(x, y, dp, training, variant);
    }

    /// <summary>dx = dy * mask / (1 - p) with the mask of the <see cref="Forward"/> call that used the same p, seed and offset; dx = dy in inference.</summary>
    /// <exception cref="ArgumentException">Shapes or devices differ, or p is outside [0, 1].</exception>
    public static void Backward(Tensor dy, Tensor dx, float p, ulong seed, ulong offset, bool training, string? variant = null)
    {
        var dp = Describe(dy, dx, p, seed, offset, "dropout_backward", nameof(dy), nameof(dx));
        Run(dy, dx, dp, training, variant);
    }

    /// <summary>Writes the scaled mask (1 / (1 - p) where kept, 0 where dropped) that Forward with the same arguments applies.</summary>
    /// <exception cref="ArgumentException">p is outside [0, 1].</exception>
    public static void Mask(Tensor mask, float p, ulong seed, ulong offset, string? variant = null)
    {
        var dp = Describe(mask, mask, p, seed, offset, "dropout_mask", nameof(mask), nameof(mask));
        MaskRegistry.Select(mask.Device, variant)(mask, dp);
    }

    /// <summary>The keep threshold on the top 24 bits: round((1 - p) * 2^24).</summary>
    public static uint Threshold(float p) => (uint)Math.Round((1.0 - p) * 16777216.0);

    private static void Run(Tensor x, Tensor y, DropoutParams dp, bool training, string? variant)
    {
        if (!training || dp.Threshold == 1u << 24)
        {
            if (!ReferenceEquals(x, y) && !(x.Buffer == y.Buffer && x.Offset == y.Offset))
            {
                y.CopyFrom(x);
            }

            return;
        }

        Registry.Select(x.Device, variant)(x, y, dp);
    }

    private static DropoutParams Describe(Tensor x, Tensor y, float p, ulong seed, ulong offset, string op, string xName, string yName)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (!(p >= 0f && p <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, $"{op}: p is the probability of dropping an element and must be in [0, 1].");
        }

        if (y.Shape != x.Shape)
        {
            // The message is built only on failure: warm calls allocate nothing.
            TensorChecks.SameShape(y, x.Shape, op, yName, $"the shape of {xName}");
        }

        TensorChecks.OnDevice(y, x.Device, op, yName);
        TensorChecks.Indexable(x, op, xName);
        return new DropoutParams
        {
            Length = (int)x.Length,
            Seed = seed,
            Offset = offset,
            Threshold = Threshold(p),
            Scale = p >= 1f ? 0f : 1f / (1f - p),
        };
    }

    private static int Blocks(int length) => (length + 3) / 4;

    private static void KernelApply(Tensor x, Tensor y, DropoutParams p)
    {
        var device = x.Device;
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, DropoutParams>>(
            "dropout.apply", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, DropoutParams>(DropoutKernels.Apply));
        k(device.Stream, Blocks(p.Length), x.View, y.View, p);
    }

    private static void KernelMask(Tensor mask, DropoutParams p)
    {
        var device = mask.Device;
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, DropoutParams>>(
            "dropout.mask", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, DropoutParams>(DropoutKernels.Mask));
        k(device.Stream, Blocks(p.Length), mask.View, p);
    }

    private static unsafe void HostApply(Tensor x, Tensor y, DropoutParams p)
    {
        x.Device.Synchronize();
        var body = new HostBody { X = HostSimd.Ptr(x), Y = HostSimd.Ptr(y), P = p };
        HostParallel.For(Blocks(p.Length), ref body, 1024);
    }

    private static unsafe void HostMask(Tensor mask, DropoutParams p)
    {
        mask.Device.Synchronize();
        var body = new HostBody { X = null, Y = HostSimd.Ptr(mask), P = p };
        HostParallel.For(Blocks(p.Length), ref body, 1024);
    }

    private unsafe struct HostBody : IRangeBody
    {
        public float* X, Y;
        public DropoutParams P;

        public readonly void Run(int start, int end)
        {
            int length = P.Length;
            uint threshold = P.Threshold;
            float scale = P.Scale;
            for (int b = start; b < end; b++)
            {
                var r = Philox.Block(P.Seed, P.Offset, (ulong)b);
                int i0 = b * 4;
                int stop = Math.Min(i0 + 4, length);
                for (int i = i0; i < stop; i++)
                {
                    bool keep = DropoutKernels.Keep(r, i, threshold);
                    Y[i] = X == null ? (keep ? scale : 0f) : (keep ? X[i] * scale : 0f);
                }
            }
        }
    }
}
