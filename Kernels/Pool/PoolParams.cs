// Arguments of the 2-D pooling kernels, passed to kernels by value.
namespace Engine.Kernels.Pool;

/// <summary>
/// Geometry of a 2-D pooling over <see cref="Planes"/> planes (N * C) of <see cref="Height"/> x <see cref="Width"/>.
/// Window (oh, ow) covers rows [oh * StrideH - PadH, + KernelH) and columns [ow * StrideW - PadW, + KernelW),
/// clipped to the image. Outputs are (Planes, OutH, OutW).
/// </summary>
public struct PoolParams
{
    /// <summary>Number of planes (batch times channels).</summary>
    public int Planes;

    /// <summary>Input rows.</summary>
    public int Height;

    /// <summary>Input columns.</summary>
    public int Width;

    /// <summary>Window rows.</summary>
    public int KernelH;

    /// <summary>Window columns.</summary>
    public int KernelW;

    /// <summary>Vertical stride.</summary>
    public int StrideH;

    /// <summary>Horizontal stride.</summary>
    public int StrideW;

    /// <summary>Implicit padding rows on each side (-inf for max, 0 for average).</summary>
    public int PadH;

    /// <summary>Implicit padding columns on each side.</summary>
    public int PadW;

    /// <summary>Output rows.</summary>
    public int OutH;

    /// <summary>Output columns.</summary>
    public int OutW;

    /// <summary>Lp pooling: the norm type p.</summary>
    public float NormType;

    /// <summary>Backward: 0 overwrites dx, 1 adds to it.</summary>
    public float Beta;
}
