// Host-side validation of convolution calls: shapes, settings, devices and workspace, before any launch.
using System;

namespace Engine.Ops;

/// <summary>Builds <see cref="ConvGeometry"/> from shapes and settings and checks tensors against it.</summary>
internal static class ConvChecks
{
    public static ConvGeometry Conv2d(Shape x, Shape w, Conv2dOptions o)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(o);
        const string op = "conv2d";
        Ranks(op, x, w, "(Cout, Cin / groups, kH, kW)");
        Settings(op, o.Stride, o.Dilation, o.Groups);
        var p = o.Padding;
        if (p.IsSame && o.Stride != (1, 1))
        {
            throw new ArgumentException($"{op}: padding \"same\" needs stride 1 (as PyTorch), got stride {o.Stride}.", "options");
        }

        if (p.Top < 0 || p.Left < 0 || p.Bottom < 0 || p.Right < 0)
        {
            throw new ArgumentException($"{op}: padding must not be negative, got {p}.", "options");
        }

        int cin = x[1], cout = w[0], g = o.Groups;
        Channels(op, x, w, g, "kH, kW");
        int kh = w[2], kw = w[3];
        p = p.Resolve(kh, kw, o.Dilation.H, o.Dilation.W);
        int ekh = (o.Dilation.H * (kh - 1)) + 1, ekw = (o.Dilation.W * (kw - 1)) + 1;
        long ph = (long)x[2] + p.Top + p.Bottom, pw = (long)x[3] + p.Left + p.Right;
        if (ekh > ph || ekw > pw)
        {
            throw new ArgumentException(
                $"{op}: kernel {kh}x{kw} with dilation {o.Dilation} spans {ekh}x{ekw}, larger than the padded input {ph}x{pw} " +
                $"(x {x}, padding {p}).", "weight");
        }

        var geo = new ConvGeometry
        {
            Batch = x[0], InChannels = cin, InH = x[2], InW = x[3], OutChannels = cout,
            OutH = (int)((ph - ekh) / o.Stride.H) + 1, OutW = (int)((pw - ekw) / o.Stride.W) + 1,
            KernelH = kh, KernelW = kw, StrideH = o.Stride.H, StrideW = o.Stride.W, Padding = p,
            DilationH = o.Dilation.H, DilationW = o.Dilation.W, Groups = g,
        };
        return Sized(op, geo);
    }

    /// <summary>
    /// conv1d as a conv2d of height 1: x (N, Cin, L), weight (Cout, Cin / groups, K); the geometry has
    /// <see cref="ConvGeometry.OneDimensional"/> set, so its shapes are the 3-D ones (errors name them too).
    /// </summary>
    public static ConvGeometry Conv1d(Shape x, Shape w, Conv1dOptions o)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(o);
        const string op = "conv1d";
        if (x.Rank != 3)
        {
            throw new ArgumentException($"{op}: x must be 3-D (N, C, L) but is {x}.", "x");
        }

        if (w.Rank != 3)
        {
            throw new ArgumentException($"{op}: weight must be 3-D (Cout, Cin / groups, K) but is {w}.", "weight");
        }

        Settings(op, (1, o.Stride), (1, o.Dilation), o.Groups);
        if (o.SamePadding && o.Stride != 1)
        {
            throw new ArgumentException($"{op}: padding \"same\" needs stride 1 (as PyTorch), got stride {o.Stride}.", "options");
        }

        if (o.Padding < 0)
        {
            throw new ArgumentException($"{op}: padding must not be negative, got {o.Padding}.", "options");
        }

        Channels(op, x, w, o.Groups, "K");
        int k = w[2];
        var p = (o.SamePadding ? ConvPadding.Same : ConvPadding.Symmetric(0, o.Padding)).Resolve(1, k, 1, o.Dilation);
        int span = (o.Dilation * (k - 1)) + 1;
        long padded = (long)x[2] + p.Left + p.Right;
        if (span > padded)
        {
            throw new ArgumentException(
                $"{op}: kernel {k} with dilation {o.Dilation} spans {span}, longer than the padded input {padded} (x {x}, padding {p.Left} left, {p.Right} right).", "weight");
        }

        var geo = new ConvGeometry
        {
            OneDimensional = true, Batch = x[0], InChannels = x[1], InH = 1, InW = x[2], OutChannels = w[0],
            OutH = 1, OutW = (int)((padded - span) / o.Stride) + 1, KernelH = 1, KernelW = k, StrideH = 1, StrideW = o.Stride,
            Padding = p, DilationH = 1, DilationW = o.Dilation, Groups = o.Groups,
        };
        return Sized(op, geo);
    }

    public static ConvGeometry ConvTranspose2d(Shape x, Shape w, ConvTranspose2dOptions o)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(o);
        const string op = "conv_transpose2d";
        Ranks(op, x, w, "(Cin, Cout / groups, kH, kW)");
        Settings(op, o.Stride, o.Dilation, o.Groups);
        if (o.Padding.H < 0 || o.Padding.W < 0 || o.OutputPadding.H < 0 || o.OutputPadding.W < 0)
        {
            throw new ArgumentException($"{op}: padding {o.Padding} and output padding {o.OutputPadding} must not be negative.", "options");
        }

        if ((o.OutputPadding.H >= o.Stride.H && o.OutputPadding.H >= o.Dilation.H) || (o.OutputPadding.W >= o.Stride.W && o.OutputPadding.W >= o.Dilation.W))
        {
            throw new ArgumentException(
                $"{op}: output padding {o.OutputPadding} must be smaller than either the stride {o.Stride} or the dilation {o.Dilation} in each dimension.", "options");
        }

        int cin = x[1], g = o.Groups;
        if (w[0] != cin)
        {
            throw new ArgumentException($"{op}: weight {w} does not fit x {x}: expected (Cin = {cin}, Cout / groups, kH, kW).", "weight");
        }

        if (cin % g != 0)
        {
            throw new ArgumentException($"{op}: input channels {cin} (x {x}) are not divisible by groups {g}.", "x");
        }

        int kh = w[2], kw = w[3];
        long oh = ((long)(x[2] - 1) * o.Stride.H) - (2L * o.Padding.H) + ((long)o.Dilation.H * (kh - 1)) + o.OutputPadding.H + 1;
        long ow = ((long)(x[3] - 1) * o.Stride.W) - (2L * o.Padding.W) + ((long)o.Dilation.W * (kw - 1)) + o.OutputPadding.W + 1;
        if (oh <= 0 || ow <= 0 || oh > int.MaxValue || ow > int.MaxValue)
        {
            throw new ArgumentException(
                $"{op}: the output would be {oh}x{ow} (x {x}, weight {w}, stride {o.Stride}, padding {o.Padding}, dilation {o.Dilation}, " +
                $"output padding {o.OutputPadding}); it must be positive.", "options");
        }

        var geo = new ConvGeometry
        {
            Transposed = true, Batch = x[0], InChannels = cin, InH = x[2], InW = x[3], OutChannels = w[1] * g,
            OutH = (int)oh, OutW = (int)ow, KernelH = kh, KernelW = kw, StrideH = o.Stride.H, StrideW = o.Stride.W,
            Padding = ConvPadding.Symmetric(o.Padding.H, o.Padding.W), DilationH = o.Dilation.H, DilationW = o.Dilation.W, Groups = g,
        };
        return Sized(op, geo);
    }

    /// <summary>Checks the tensors of a forward call and returns the device.</summary>
    public static Device Forward(string op, in ConvGeometry g, Tensor x, Tensor w, Tensor? b, Tensor y)
    {
        var d = x.Device;
        Same(op, d, w, "weight");
        Fits(op, d, y, g.OutputShape, "y", g);
        Fits(op, d, b, g.BiasShape, "bias", g);
        return d;
    }

    /// <summary>Checks the tensors of a backward call and returns the device.</summary>
    public static Device Backward(string op, in ConvGeometry g, Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Tensor? db)
    {
        var d = x.Device;
        Same(op, d, w, "weight");
        Fits(op, d, dy, g.OutputShape, "dy", g);
        Fits(op, d, dx, g.InputShape, "dx", g);
        Fits(op, d, dw, g.WeightShape, "dw", g);
        Fits(op, d, db, g.BiasShape, "db", g);
        return d;
    }

    /// <summary>Checks a caller's workspace.</summary>
    public static void Workspace(string op, in ConvGeometry g, Device d, Tensor workspace)
    {
        Same(op, d, workspace, "workspace");
        if (workspace.Length < g.ColumnElementsPerImage)
        {
            throw new ArgumentException(
                $"{op}: workspace {workspace.Shape} has {workspace.Length} elements but one image's im2col matrix needs {g.ColumnElementsPerImage} " +
                $"({g.WorkspaceElements()} for the whole batch in one pass); size it with WorkspaceElements.", nameof(workspace));
        }
    }

    private static void Ranks(string op, Shape x, Shape w, string layout)
    {
        if (x.Rank != 4)
        {
            throw new ArgumentException($"{op}: x must be 4-D (N, C, H, W) but is {x}.", "x");
        }

        if (w.Rank != 4)
        {
            throw new ArgumentException($"{op}: weight must be 4-D {layout} but is {w}.", "weight");
        }
    }

    /// <summary>Channels and groups of x (N, Cin, ...) and a weight (Cout, Cin / groups, <paramref name="kernel"/>).</summary>
    private static void Channels(string op, Shape x, Shape w, int g, string kernel)
    {
        int cin = x[1], cout = w[0];
        if (cin % g != 0)
        {
            throw new ArgumentException($"{op}: input channels {cin} (x {x}) are not divisible by groups {g}.", "x");
        }

        if (cout % g != 0)
        {
            throw new ArgumentException($"{op}: output channels {cout} (weight {w}) are not divisible by groups {g}.", "weight");
        }

        if (w[1] != cin / g)
        {
            throw new ArgumentException(
                $"{op}: weight {w} does not fit x {x} with groups {g}: expected (Cout, Cin / groups = {cin / g}, {kernel}).", "weight");
        }
    }

    private static void Settings(string op, (int H, int W) stride, (int H, int W) dilation, int groups)
    {
        if (stride.H <= 0 || stride.W <= 0)
        {
            throw new ArgumentException($"{op}: stride must be positive, got {stride}.", "options");
        }

        if (dilation.H <= 0 || dilation.W <= 0)
        {
            throw new ArgumentException($"{op}: dilation must be positive, got {dilation}.", "options");
        }

        if (groups <= 0)
        {
            throw new ArgumentException($"{op}: groups must be positive, got {groups}.", "options");
        }
    }

    private static ConvGeometry Sized(string op, ConvGeometry g)
    {
        // Kernels index with 32-bit thread ids: every tensor and one image's column matrix must stay below 2^31 elements.
        if (g.InputShape.Length > int.MaxValue || g.OutputShape.Length > int.MaxValue || g.ColumnElementsPerImage > int.MaxValue)
        {
            throw new ArgumentException($"{op}: {g} is too large; tensors and one image's im2col matrix must have fewer than 2^31 elements.", "x");
        }

        return g;
    }

    private static void Same(string op, Device d, Tensor t, string name)
    {
        if (t.Device != d)
        {
            throw new ArgumentException($"{op}: {name} lives on {t.Device.Kind} but x on {d.Kind}; all tensors must share a device.", name);
        }
    }

    /// <summary>A tensor that is given (not null) must live on <paramref name="d"/> and have shape <paramref name="want"/>.</summary>
    private static void Fits(string op, Device d, Tensor? t, Shape want, string name, in ConvGeometry g)
    {
        if (t is null)
        {
            return;
        }

        Same(op, d, t, name);
        if (t.Shape != want)
        {
            throw new ArgumentException($"{op}: {name} is {t.Shape} but must be {want} for {g}.", name);
        }
    }
}
