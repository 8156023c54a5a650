// Channel layout for per-position (segmentation) work: channels-first (N, C, d1, ...) tensors as rows of C channels,
// (N d1 ..., C), and back; class-index maps (N, d1, ...) as one-hot channels (N, C, d1, ...).
using System;
using Engine.Backends.Cpu;
using Engine.Backends.Kernel;
using Engine.Dispatch;
using Engine.Kernels.Elementwise;

namespace Engine.Ops;

/// <summary>An implementation of a channel-layout op: reads <c>src</c>, writes <c>dst</c>.</summary>
internal delegate void ChannelLayoutImpl(Tensor src, Tensor dst, LayoutParams p);

/// <summary>
/// Moves the channel axis of an (N, C, d1, ...) tensor last, as (N d1 ..., C) rows (a (N, C) tensor is unchanged),
/// and back; expands class indices to one-hot channels. The per-position losses (segmentation shapes of
/// <see cref="Losses"/>) run the row losses on the channels-last form. Variants: <c>kernel.index</c>, <c>host.rows</c>.
/// </summary>
public static class ChannelLayout
{
    /// <summary>(N, C, d...) to (N d..., C).</summary>
    internal static readonly OpRegistry<ChannelLayoutImpl> ToLastRegistry = new OpRegistry<ChannelLayoutImpl>("channels_last")
        .Register("kernel.index", ComputePath.Kernels, LayoutLaunchers.ToChannelsLast, "ILGPU: a thread per output element")
        .Register("host.rows", ComputePath.Host, CpuLayout.ToChannelsLast, "managed: a position's channels per step, positions across cores");

    /// <summary>(N d..., C) to (N, C, d...).</summary>
    internal static readonly OpRegistry<ChannelLayoutImpl> ToFirstRegistry = new OpRegistry<ChannelLayoutImpl>("channels_first")
        .Register("kernel.index", ComputePath.Kernels, LayoutLaunchers.ToChannelsFirst, "ILGPU: a thread per output element")
        .Register("host.rows", ComputePath.Host, CpuLayout.ToChannelsFirst, "managed: a position's channels per step, positions across cores");

    /// <summary>Class indices (N, d...) to one-hot (N, C, d...).</summary>
    internal static readonly OpRegistry<ChannelLayoutImpl> OneHotRegistry = new OpRegistry<ChannelLayoutImpl>("one_hot")
        .Register("kernel.index", ComputePath.Kernels, LayoutLaunchers.OneHot, "ILGPU: a thread per output element")
        .Register("host.rows", ComputePath.Host, CpuLayout.OneHot, "managed: a position's channels per step, positions across cores");

    /// <summary>rows = x with its channel axis (1) moved last: x (N, C, d1, ...) to rows (N d1 ..., C).</summary>
    /// <exception cref="ArgumentException">x has fewer than two dimensions, or rows is not (N d1 ..., C).</exception>
    public static void ToChannelsLast(Tensor x, Tensor rows, string? variant = null)
    {
        var p = Describe(x, rows, nameof(rows));
        ToLastRegistry.Select(x.Device, variant)(x, rows, p);
    }

    /// <summary>x = rows with the channel axis moved back: rows (N d1 ..., C) to x (N, C, d1, ...).</summary>
    /// <exception cref="ArgumentException">x has fewer than two dimensions, or rows is not (N d1 ..., C).</exception>
    public static void ToChannelsFirst(Tensor rows, Tensor x, string? variant = null)
    {
        var p = Describe(x, rows, nameof(rows));
        ToFirstRegistry.Select(x.Device, variant)(rows, x, p);
    }

    /// <summary>
    /// oneHot[n, c, d...] = 1 where indices[n, d...] == c, else 0. On devices whose memory the host reads, an index that is
    /// not a whole number in [0, C) is an error; elsewhere its position gets no class.
    /// </summary>
    /// <exception cref="ArgumentException">oneHot is not (N, C, d...) for indices (N, d...), or (host-readable) an index is out of range.</exception>
    public static void OneHot(Tensor indices, Tensor oneHot, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentNullException.ThrowIfNull(oneHot);
        bool fits = oneHot.Rank >= 2 && indices.Rank == oneHot.Rank - 1 && indices.Shape[0] == oneHot.Shape[0];
        for (int i = 1; fits && i < indices.Rank; i++)
        {
            fits = indices.Shape[i] == oneHot.Shape[i + 1];
        }

        if (!fits)
        {
            throw new ArgumentException($"one_hot: oneHot is {oneHot.Shape} for indices {indices.Shape}; expected (N, C, d...) for indices (N, d...).", nameof(oneHot));
        }

        SameDevice(indices, oneHot, nameof(oneHot));
        var p = Params(oneHot.Shape);
        if (indices.Device.IsHostMemory)
        {
            indices.Device.Synchronize();
            var span = indices.HostSpan;
            for (int i = 0; i < span.Length; i++)
            {
                float t = span[i];
                if (!(t >= 0f && t < p.C) || t != MathF.Floor(t))
                {
                    throw new ArgumentException($"one_hot: indices[{i}] = {t} is not a class index in [0, {p.C}).", nameof(indices));
                }
            }
        }

        OneHotRegistry.Select(indices.Device, variant)(indices, oneHot, p);
    }

    /// <summary>The (N, C, S) sizes of a channels-first shape (S = 1 for (N, C)).</summary>
    internal static LayoutParams Params(Shape x)
    {
        int s = checked((int)(x.Length / ((long)x[0] * x[1])));
        return new LayoutParams { N = x[0], C = x[1], S = s };
    }

    private static LayoutParams Describe(Tensor x, Tensor rows, string rowsName)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(rows, rowsName);
        if (x.Rank < 2)
        {
            throw new ArgumentException($"channel layout: x is {x.Shape}; expected (N, C, d...) with channels on axis 1.", nameof(x));
        }

        var p = Params(x.Shape);
        if (rows.Rank != 2 || rows.Shape[0] != checked(p.N * p.S) || rows.Shape[1] != p.C)
        {
            throw new ArgumentException($"channel layout: {rowsName} is {rows.Shape} for x {x.Shape}; expected [{(long)p.N * p.S}, {p.C}].", rowsName);
        }

        SameDevice(x, rows, rowsName);
        return p;
    }

    private static void SameDevice(Tensor a, Tensor b, string name)
    {
        if (a.Device != b.Device)
        {
            throw new ArgumentException($"{name} lives on another device than the input.", name);
        }
    }
}
