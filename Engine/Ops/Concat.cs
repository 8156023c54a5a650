// Concatenation along any axis and its backward (the split of the gradient), by strided slab copies.
using System;
using Engine.Backends.Cpu;
using Engine.Dispatch;
using Engine.Kernels.Elementwise;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Ops;

/// <summary>Copies one input's slab into (toWhole) or out of the concatenated tensor.</summary>
internal delegate void ConcatImpl(Tensor part, Tensor whole, ConcatParams p, bool toWhole);

/// <summary>
/// <c>torch.cat</c> along one axis: every input has the output's shape except along the axis, whose sizes add up.
/// Seen as (outer, axis * inner), input i is a slab of columns of the output. Variants: <c>kernel.copy</c> (one
/// launch per input) and <c>host.copy</c> (span copies per outer index).
/// </summary>
public static class ConcatOp
{
    /// <summary>Slab copies.</summary>
    internal static readonly OpRegistry<ConcatImpl> Registry = new OpRegistry<ConcatImpl>("concat")
        .Register("kernel.copy", ComputePath.Kernels, KernelCopy, "ILGPU: one thread per element of the slab")
        .Register("host.copy", ComputePath.Host, HostCopy, "Span.CopyTo per outer index, parallel over outer");

    /// <summary>y = cat(inputs, axis) (negative axis counts from the end).</summary>
    /// <exception cref="ArgumentException">Ranks, shapes or devices do not fit; the message names the input.</exception>
    public static void Forward(ReadOnlySpan<Tensor> inputs, Tensor y, int axis, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(y);
        int ax = Validate(inputs, y, axis, "concat", nameof(inputs), nameof(y));
        var impl = Registry.Select(y.Device, variant);
        int offset = 0;
        foreach (var x in inputs)
        {
            var p = Slab(x, y, ax, offset);
            impl(x, y, p, true);
            offset += p.SrcPitch;
        }
    }

    /// <summary>
    /// Backward of <see cref="Forward"/>: dxs[i] = the slab of dy that input i filled. A null entry is skipped (that
    /// input needs no gradient), but every entry's shape must be known, so pass the inputs' shapes via non-null tensors
    /// or use <see cref="Forward"/>'s inputs to size them.
    /// </summary>
    /// <exception cref="ArgumentException">Ranks, shapes or devices do not fit; the message names the gradient.</exception>
    public static void Backward(Tensor dy, ReadOnlySpan<Tensor> dxs, int axis, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(dy);
        int ax = Validate(dxs, dy, axis, "concat_backward", nameof(dxs), nameof(dy));
        var impl = Registry.Select(dy.Device, variant);
        int offset = 0;
        foreach (var dx in dxs)
        {
            var p = Slab(dx, dy, ax, offset);
            impl(dx, dy, p, false);
            offset += p.SrcPitch;
        }
    }

    private static ConcatParams Slab(Tensor part, Tensor whole, int ax, int offset)
    {
        long inner = whole.Shape.Product(ax + 1, whole.Rank);
        return new ConcatParams { SrcPitch = (int)(part.Shape[ax] * inner), DstPitch = (int)(whole.Shape[ax] * inner), Offset = offset };
    }

    private static int Validate(ReadOnlySpan<Tensor> parts, Tensor whole, int axis, string op, string partsName, string wholeName)
    {
        if (parts.Length == 0)
        {
            throw new ArgumentException($"{op}: {partsName} is empty; at least one tensor is needed.", partsName);
        }

        int rank = whole.Rank;
        int ax = axis < 0 ? axis + rank : axis;
        if (ax < 0 || ax >= rank)
        {
            throw new ArgumentOutOfRangeException(nameof(axis), axis, $"{op}: axis {axis} is outside {wholeName} {whole.Shape} (rank {rank}).");
        }

        TensorChecks.Indexable(whole, op, wholeName);
        long total = 0;
        for (int i = 0; i < parts.Length; i++)
        {
            var t = parts[i] ?? throw new ArgumentNullException(partsName, $"{op}: {partsName}[{i}] is null.");
            bool fits = t.Rank == rank;
            for (int d = 0; fits && d < rank; d++)
            {
                fits = d == ax || t.Shape[d] == whole.Shape[d];
            }

            if (!fits)
            {
                throw new ArgumentException($"{op}: {partsName}[{i}] is {t.Shape} but must match {wholeName} {whole.Shape} in every dimension except axis {ax}.", partsName);
            }

            TensorChecks.OnDevice(t, whole.Device, op, $"{partsName}[{i}]");
            total += t.Shape[ax];
        }

        if (total != whole.Shape[ax])
        {
            throw new ArgumentException($"{op}: the {partsName} add up to {total} along axis {ax} but {wholeName} {whole.Shape} has {whole.Shape[ax]}.", wholeName);
        }

        return ax;
    }

    private static void KernelCopy(Tensor part, Tensor whole, ConcatParams p, bool toWhole)
    {
        var device = whole.Device;
        if (toWhole)
        {
            var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ConcatParams>>(
                "concat.scatter", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ConcatParams>(ArithmeticKernels.ConcatScatter));
            k(device.Stream, (int)part.Length, part.View, whole.View, p);
        }
        else
        {
            var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ConcatParams>>(
                "concat.gather", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ConcatParams>(ArithmeticKernels.ConcatGather));
            k(device.Stream, (int)part.Length, whole.View, part.View, p);
        }
    }

    private static unsafe void HostCopy(Tensor part, Tensor whole, ConcatParams p, bool toWhole)
    {
        whole.Device.Synchronize();
        var body = new CopyBody { Part = HostSimd.Ptr(part), Whole = HostSimd.Ptr(whole), P = p, ToWhole = toWhole };
        HostParallel.For((int)(part.Length / p.SrcPitch), ref body, Math.Max(1, (1 << 16) / p.SrcPitch));
    }

    private unsafe struct CopyBody : IRangeBody
    {
        public float* Part, Whole;
        public ConcatParams P;
        public bool ToWhole;

        public readonly void Run(int start, int end)
        {
            for (int o = start; o < end; o++)
            {
                var part = new Span<float>(Part + ((long)o * P.SrcPitch), P.SrcPitch);
                var whole = new Span<float>(Whole + ((long)o * P.DstPitch) + P.Offset, P.SrcPitch);
                if (ToWhole)
                {
                    part.CopyTo(whole);
                }
                else
                {
                    whole.CopyTo(part);
                }
            }
        }
    }
}
