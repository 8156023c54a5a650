// Arguments of the im2col / col2im / bias / channel-sum kernels, passed to kernels by value.
namespace Engine.Kernels.Conv;

/// <summary>
/// Geometry of an im2col or col2im pass over <see cref="Images"/> images of shape (<see cref="Channels"/>,
/// <see cref="Height"/>, <see cref="Width"/>). The column matrix of one image is
/// (Channels * KernelH * KernelW, OutH * OutW), row <c>(c * KernelH + kh) * KernelW + kw</c>, column
/// <c>oh * OutW + ow</c>, holding the image value at row <c>oh * StrideH - PadTop + kh * DilationH</c> and column
/// <c>ow * StrideW - PadLeft + kw * DilationW</c> (zero outside the image). Images follow each other in both buffers.
/// </summary>
public struct Im2ColParams
{
    /// <summary>Images in the pass.</summary>
    public int Images;

    /// <summary>Channels per image.</summary>
    public int Channels;

    /// <summary>Image rows.</summary>
    public int Height;

    /// <summary>Image columns.</summary>
    public int Width;

    /// <summary>Kernel rows.</summary>
    public int KernelH;

    /// <summary>Kernel columns.</summary>
    public int KernelW;

    /// <summary>Vertical stride.</summary>
    public int StrideH;

    /// <summary>Horizontal stride.</summary>
    public int StrideW;

    /// <summary>Zero rows added above the image (bottom padding is implied by <see cref="OutH"/>).</summary>
    public int PadTop;

    /// <summary>Zero columns added left of the image.</summary>
    public int PadLeft;

    /// <summary>Vertical kernel dilation.</summary>
    public int DilationH;

    /// <summary>Horizontal kernel dilation.</summary>
    public int DilationW;

    /// <summary>Output rows (columns of the column matrix are OutH * OutW).</summary>
    public int OutH;

    /// <summary>Output columns.</summary>
    public int OutW;

    /// <summary>col2im only: 0 overwrites the image, 1 adds to it.</summary>
    public float Beta;
}

/// <summary>
/// A tensor seen as (<see cref="Outer"/>, <see cref="Channels"/>, <see cref="Inner"/>): per channel,
/// <c>out[c] = Scale * sum over outer and inner of x + Beta * out[c]</c>.
/// </summary>
public struct ChannelSumParams
{
    /// <summary>Size of the leading (summed) dimension, e.g. the batch.</summary>
    public int Outer;

    /// <summary>Number of channels (outputs).</summary>
    public int Channels;

    /// <summary>Size of the trailing (summed) dimension, e.g. H * W.</summary>
    public int Inner;

    /// <summary>Scale of the sum (1 for a bias gradient, 1 / (H * W) for a mean).</summary>
    public float Scale;

    /// <summary>0 overwrites the output, 1 adds to it.</summary>
    public float Beta;
}
