// Settings of 2-D pooling and their validation on the host (shapes, window, padding) before any launch.
using System;
using Engine.Kernels.Pool;
using ILGPU;

namespace Engine.Ops;

/// <summary>Forward of a pooling op over views (see <see cref="PoolParams"/> for the layout).</summary>
internal delegate void PoolForwardImpl(Device device, PoolParams p, ArrayView<float> x, ArrayView<float> y);

/// <summary>Backward of a pooling op that needs only the upstream gradient (average pooling).</summary>
internal delegate void PoolBackwardImpl(Device device, PoolParams p, ArrayView<float> dy, ArrayView<float> dx);

/// <summary>Max pooling forward: values and the flat index of each window's first maximum.</summary>
internal delegate void MaxPoolForwardImpl(Device device, PoolParams p, ArrayView<float> x, ArrayView<float> y, ArrayView<float> indices);

/// <summary>Max pooling backward from the saved indices.</summary>
internal delegate void MaxPoolBackwardImpl(Device device, PoolParams p, ArrayView<float> dy, ArrayView<float> indices, ArrayView<float> dx);

/// <summary>Power-average pooling backward (needs the input).</summary>
internal delegate void LpPoolBackwardImpl(Device device, PoolParams p, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dx);

/// <summary>Window of a 2-D pooling, as PyTorch's kernel_size, stride (default: the kernel) and padding (floor mode).</summary>
public sealed record Pool2dOptions
{
    /// <summary>A <paramref name="kernel"/> window, stride equal to the kernel, no padding.</summary>
    public Pool2dOptions((int H, int W) kernel) => Kernel = kernel;

    /// <summary>A square window.</summary>
    public Pool2dOptions(int kernel)
        : this((kernel, kernel))
    {
    }

    /// <summary>Window rows and columns.</summary>
    public (int H, int W) Kernel { get; init; }

    /// <summary>Stride; null means the kernel size (PyTorch's default).</summary>
    public (int H, int W)? Stride { get; init; }

    /// <summary>Implicit padding on each side (at most half the kernel); -inf for max pooling, zeros counted by average pooling.</summary>
    public (int H, int W) Padding { get; init; }

    /// <inheritdoc />
    public override string ToString() => $"kernel {Kernel}, stride {Stride ?? Kernel}, padding {Padding}";
}

/// <summary>Validation shared by the pooling ops.</summary>
internal static class PoolChecks
{
    /// <summary>Largest plane for which max pooling's float indices are exact.</summary>
    public const int MaxIndexedPlane = 1 << 24;

    public static PoolParams Describe(string op, Shape x, Pool2dOptions o, bool allowPadding, string xName = "x")
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(o);
        if (x.Rank != 4)
        {
            throw new ArgumentException($"{op}: {xName} must be 4-D (N, C, H, W) but is {x}.", xName);
        }

        var k = o.Kernel;
        var s = o.Stride ?? k;
        var pad = o.Padding;
        if (k.H <= 0 || k.W <= 0 || s.H <= 0 || s.W <= 0)
        {
            throw new ArgumentException($"{op}: kernel {k} and stride {s} must be positive.", "options");
        }

        if (!allowPadding && pad != (0, 0))
        {
            throw new ArgumentException($"{op}: takes no padding (as PyTorch), got {pad}.", "options");
        }

        if (pad.H < 0 || pad.W < 0 || pad.H > k.H / 2 || pad.W > k.W / 2)
        {
            throw new ArgumentException($"{op}: padding {pad} must be between 0 and half the kernel {k}.", "options");
        }

        long ph = (long)x[2] + (2 * pad.H), pw = (long)x[3] + (2 * pad.W);
        if (k.H > ph || k.W > pw)
        {
            throw new ArgumentException($"{op}: kernel {k} is larger than the padded input {ph}x{pw} ({xName} {x}, padding {pad}).", "options");
        }

        if (x.Length > int.MaxValue)
        {
            throw new ArgumentException($"{op}: {xName} {x} has more than 2^31 elements.", xName);
        }

        return new PoolParams
        {
            Planes = x[0] * x[1], Height = x[2], Width = x[3], KernelH = k.H, KernelW = k.W, StrideH = s.H, StrideW = s.W,
            PadH = pad.H, PadW = pad.W, OutH = (int)((ph - k.H) / s.H) + 1, OutW = (int)((pw - k.W) / s.W) + 1,
        };
    }

    public static Shape Output(Shape x, PoolParams p) => new(x[0], x[1], p.OutH, p.OutW);

    /// <summary>The forward of a pooling that saves an index per output (max, median): checks y and indices, then dispatches.</summary>
    public static void IndexedForward(string op, Dispatch.OpRegistry<MaxPoolForwardImpl> registry, PoolParams p, Tensor x, Tensor y, Tensor indices, Pool2dOptions options, string? variant)
    {
        var o = Output(x.Shape, p);
        Expect(op, y, o, "y", x.Device, $"x {x.Shape}, {options}");
        Expect(op, indices, o, "indices", x.Device, "same as y");
        registry.Select(x.Device, variant)(x.Device, p, x.View, y.View, indices.View);
    }

    /// <summary>Its backward: dy to the saved indices (overwrites dx, or adds when <paramref name="accumulate"/>).</summary>
    public static void IndexedBackward(string op, Dispatch.OpRegistry<MaxPoolBackwardImpl> registry, PoolParams p, Tensor dy, Tensor indices, Tensor dx, Pool2dOptions options, bool accumulate, string? variant)
    {
        p.Beta = accumulate ? 1f : 0f;
        var o = Output(dx.Shape, p);
        Expect(op, dy, o, "dy", dx.Device, $"dx {dx.Shape}, {options}");
        Expect(op, indices, o, "indices", dx.Device, "same as dy");
        registry.Select(dx.Device, variant)(dx.Device, p, dy.View, indices.View, dx.View);
    }

    /// <summary>Describe for poolings that save a float32 index per output: planes must stay below 2^24 elements.</summary>
    public static PoolParams DescribeIndexed(string op, Shape x, Pool2dOptions options, bool allowPadding, string xName)
    {
        var p = Describe(op, x, options, allowPadding, xName);
        if ((long)p.Height * p.Width > MaxIndexedPlane)
        {
            throw new ArgumentException($"{op}: planes of {xName} {x} exceed 2^24 elements, beyond exact float32 indices.", xName);
        }

        return p;
    }

    public static void Expect(string op, Tensor t, Shape want, string name, Device device, string context)
    {
        ArgumentNullException.ThrowIfNull(t, name);
        if (t.Device != device)
        {
            throw new ArgumentException($"{op}: {name} lives on {t.Device.Kind} but the other tensors on {device.Kind}.", name);
        }

        if (t.Shape != want)
        {
            throw new ArgumentException($"{op}: {name} is {t.Shape} but must be {want} ({context}).", name);
        }
    }
}
