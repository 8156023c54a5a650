// Settings of the convolutions (1-D, 2-D and transposed 2-D) and their resolved geometry, validated on the host.
using System;

namespace Engine.Ops;

/// <summary>
/// Zero padding of a convolution's input, per side, or <see cref="Same"/> (PyTorch's <c>padding="same"</c>:
/// stride 1, total padding dilation * (kernel - 1) per axis, the odd element on the bottom/right).
/// </summary>
/// <param name="Top">Rows added above.</param>
/// <param name="Left">Columns added on the left.</param>
/// <param name="Bottom">Rows added below.</param>
/// <param name="Right">Columns added on the right.</param>
public readonly record struct ConvPadding(int Top, int Left, int Bottom, int Right)
{
    /// <summary>Whether the padding is resolved from the kernel as PyTorch's "same".</summary>
    public bool IsSame { get; init; }

    /// <summary>PyTorch's <c>padding="same"</c>.</summary>
    public static ConvPadding Same => new(0, 0, 0, 0) { IsSame = true };

    /// <summary>No padding (PyTorch's <c>padding="valid"</c>).</summary>
    public static ConvPadding Valid => default;

    /// <summary><paramref name="h"/> rows above and below, <paramref name="w"/> columns left and right.</summary>
    public static ConvPadding Symmetric(int h, int w) => new(h, w, h, w);

    /// <summary>Parses "same" or "valid" (case-insensitive).</summary>
    /// <exception cref="ArgumentException">Any other text.</exception>
    public static ConvPadding Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().ToUpperInvariant() switch
        {
            "SAME" => Same,
            "VALID" => Valid,
            _ => throw new ArgumentException($"Unknown padding '{text}'; expected \"same\", \"valid\" or numbers.", nameof(text)),
        };
    }

    /// <summary>The explicit padding this resolves to for a kernel of <paramref name="kernelH"/> x <paramref name="kernelW"/>.</summary>
    public ConvPadding Resolve(int kernelH, int kernelW, int dilationH, int dilationW)
    {
        if (!IsSame)
        {
            return this;
        }

        int th = dilationH * (kernelH - 1), tw = dilationW * (kernelW - 1);
        return new ConvPadding(th / 2, tw / 2, th - (th / 2), tw - (tw / 2));
    }

    /// <inheritdoc />
    public override string ToString() => IsSame ? "same" : $"[top {Top}, left {Left}, bottom {Bottom}, right {Right}]";
}

/// <summary>Settings of <see cref="Conv2dOp"/>, as torch.nn.functional.conv2d.</summary>
public sealed record Conv2dOptions
{
    /// <summary>Stride (rows, columns); default (1, 1).</summary>
    public (int H, int W) Stride { get; init; } = (1, 1);

    /// <summary>Zero padding; default none. <see cref="ConvPadding.Same"/> needs stride 1.</summary>
    public ConvPadding Padding { get; init; }

    /// <summary>Kernel dilation (rows, columns); default (1, 1).</summary>
    public (int H, int W) Dilation { get; init; } = (1, 1);

    /// <summary>Channel groups; in and out channels must be divisible by it (groups = in channels is depthwise).</summary>
    public int Groups { get; init; } = 1;

    /// <summary>The defaults: stride 1, no padding, no dilation, one group.</summary>
    public static Conv2dOptions Default { get; } = new();
}

/// <summary>Settings of <see cref="Conv1dOp"/>, as torch.nn.functional.conv1d.</summary>
public sealed record Conv1dOptions
{
    /// <summary>Stride; default 1.</summary>
    public int Stride { get; init; } = 1;

    /// <summary>Zero padding on each end of the sequence; default 0 (ignored with <see cref="SamePadding"/>).</summary>
    public int Padding { get; init; }

    /// <summary>PyTorch's <c>padding="same"</c>: stride 1, total padding dilation * (K - 1), the odd element on the right.</summary>
    public bool SamePadding { get; init; }

    /// <summary>Kernel dilation; default 1.</summary>
    public int Dilation { get; init; } = 1;

    /// <summary>Channel groups; in and out channels must be divisible by it (groups = in channels is depthwise).</summary>
    public int Groups { get; init; } = 1;

    /// <summary>The defaults: stride 1, no padding, no dilation, one group.</summary>
    public static Conv1dOptions Default { get; } = new();
}

/// <summary>Settings of <see cref="ConvTranspose2dOp"/>, as torch.nn.functional.conv_transpose2d.</summary>
public sealed record ConvTranspose2dOptions
{
    /// <summary>Stride (rows, columns); default (1, 1).</summary>
    public (int H, int W) Stride { get; init; } = (1, 1);

    /// <summary>Padding removed from each side of the full output (rows, columns); default (0, 0).</summary>
    public (int H, int W) Padding { get; init; }

    /// <summary>Extra rows/columns on the bottom/right of the output; each must be below the stride or the dilation.</summary>
    public (int H, int W) OutputPadding { get; init; }

    /// <summary>Kernel dilation; default (1, 1).</summary>
    public (int H, int W) Dilation { get; init; } = (1, 1);

    /// <summary>Channel groups; default 1.</summary>
    public int Groups { get; init; } = 1;

    /// <summary>The defaults.</summary>
    public static ConvTranspose2dOptions Default { get; } = new();
}

/// <summary>
/// A validated convolution: every size of a <see cref="Conv2dOp"/>, (<see cref="Transposed"/>) <see cref="ConvTranspose2dOp"/>
/// or (<see cref="OneDimensional"/>) <see cref="Conv1dOp"/> call. Padding is explicit per side ("same" resolved). Build one
/// with <see cref="Conv2dOp.Describe"/>, <see cref="ConvTranspose2dOp.Describe"/> or <see cref="Conv1dOp.Describe"/>.
/// </summary>
public readonly record struct ConvGeometry
{
    /// <summary>Whether this is a transposed convolution (the adjoint of the conv2d with input and output swapped).</summary>
    public bool Transposed { get; init; }

    /// <summary>
    /// Whether this is a <see cref="Conv1dOp"/>: a conv2d of height 1 (InH, OutH, KernelH 1) whose tensors have no height
    /// dimension: x (N, Cin, L), y (N, Cout, Lo), weight (Cout, Cin / groups, K).
    /// </summary>
    public bool OneDimensional { get; init; }

    /// <summary>Batch size N.</summary>
    public int Batch { get; init; }

    /// <summary>Input channels.</summary>
    public int InChannels { get; init; }

    /// <summary>Input rows.</summary>
    public int InH { get; init; }

    /// <summary>Input columns.</summary>
    public int InW { get; init; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; init; }

    /// <summary>Output rows.</summary>
    public int OutH { get; init; }

    /// <summary>Output columns.</summary>
    public int OutW { get; init; }

    /// <summary>Kernel rows.</summary>
    public int KernelH { get; init; }

    /// <summary>Kernel columns.</summary>
    public int KernelW { get; init; }

    /// <summary>Vertical stride.</summary>
    public int StrideH { get; init; }

    /// <summary>Horizontal stride.</summary>
    public int StrideW { get; init; }

    /// <summary>Padding (explicit per side).</summary>
    public ConvPadding Padding { get; init; }

    /// <summary>Vertical dilation.</summary>
    public int DilationH { get; init; }

    /// <summary>Horizontal dilation.</summary>
    public int DilationW { get; init; }

    /// <summary>Channel groups.</summary>
    public int Groups { get; init; }

    /// <summary>Shape of x: (N, InChannels, InH, InW), or (N, InChannels, InW) when <see cref="OneDimensional"/>.</summary>
    public Shape InputShape => OneDimensional ? new(Batch, InChannels, InW) : new(Batch, InChannels, InH, InW);

    /// <summary>Shape of y: (N, OutChannels, OutH, OutW), or (N, OutChannels, OutW) when <see cref="OneDimensional"/>.</summary>
    public Shape OutputShape => OneDimensional ? new(Batch, OutChannels, OutW) : new(Batch, OutChannels, OutH, OutW);

    /// <summary>
    /// Shape of the weight: (Cout, Cin / groups, kH, kW), (Cin, Cout / groups, kH, kW) when transposed, or
    /// (Cout, Cin / groups, K) when <see cref="OneDimensional"/>.
    /// </summary>
    public Shape WeightShape => OneDimensional ? new(OutChannels, InChannels / Groups, KernelW)
        : Transposed ? new(InChannels, OutChannels / Groups, KernelH, KernelW)
        : new(OutChannels, InChannels / Groups, KernelH, KernelW);

    /// <summary>Shape of the bias: (OutChannels).</summary>
    public Shape BiasShape => new(OutChannels);

    // The conv2d "image" side (its input: x, or y when transposed) and the column side (its output spatial size).
    internal int ImageChannels => Transposed ? OutChannels : InChannels;

    internal int ImageH => Transposed ? OutH : InH;

    internal int ImageW => Transposed ? OutW : InW;

    internal int ColH => Transposed ? InH : OutH;

    internal int ColW => Transposed ? InW : OutW;

    /// <summary>
    /// Whether the column matrix is the image itself (1x1 kernel, stride 1, no padding): no im2col, no workspace.
    /// </summary>
    public bool IsPointwise => KernelH == 1 && KernelW == 1 && StrideH == 1 && StrideW == 1
        && Padding == ConvPadding.Valid && ColH == ImageH && ColW == ImageW;

    /// <summary>Elements of the im2col matrix of one image: channels * kH * kW * (output positions); 0 when pointwise.</summary>
    public long ColumnElementsPerImage => IsPointwise ? 0 : (long)ImageChannels * KernelH * KernelW * ColH * ColW;

    /// <summary>
    /// Workspace elements that forward and backward need to process <paramref name="maxImagesPerPass"/> images per
    /// im2col pass (at most the batch). Any workspace of at least <see cref="ColumnElementsPerImage"/> elements works;
    /// larger ones mean fewer, bigger GEMMs. Zero when <see cref="IsPointwise"/>.
    /// </summary>
    public long WorkspaceElements(int maxImagesPerPass = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxImagesPerPass);
        return ColumnElementsPerImage * Math.Min(Batch, maxImagesPerPass);
    }

    /// <summary>The kernel parameters of im2col/col2im over <paramref name="images"/> images of the image side.</summary>
    internal Kernels.Conv.Im2ColParams Im2Col(int images, float beta) => new()
    {
        Images = images, Channels = ImageChannels, Height = ImageH, Width = ImageW,
        KernelH = KernelH, KernelW = KernelW, StrideH = StrideH, StrideW = StrideW,
        PadTop = Padding.Top, PadLeft = Padding.Left, DilationH = DilationH, DilationW = DilationW,
        OutH = ColH, OutW = ColW, Beta = beta,
    };

    /// <inheritdoc />
    public override string ToString() => OneDimensional
        ? $"conv1d x {InputShape} -> y {OutputShape}, weight {WeightShape}, stride {StrideW}, padding ({Padding.Left}, {Padding.Right}), dilation {DilationW}, groups {Groups}"
        : $"{(Transposed ? "conv_transpose2d" : "conv2d")} x {InputShape} -> y {OutputShape}, weight {WeightShape}, stride ({StrideH}, {StrideW}), padding {Padding}, dilation ({DilationH}, {DilationW}), groups {Groups}";
}
