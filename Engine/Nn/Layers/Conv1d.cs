// The temporal convolution layer: a ConvolutionLayer whose op is conv1d (conv2d's implementations with H = 1), with
// PyTorch's weight shape (Cout, Cin / groups, K) and initialization.
using System;
using System.Collections.Generic;
using Engine.Dispatch;
using Engine.Ops;

namespace Engine.Nn;

/// <summary>
/// 1-D convolution (<c>torch.nn.Conv1d</c>) over (N, Cin, L): weight (Cout, Cin / groups, K), bias (Cout); stride,
/// padding (or "same"), dilation and groups. Initialized like PyTorch: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in =
/// Cin / groups * K. It runs conv2d's implementations on (N, Cin, 1, L) memory, workspace planned like Conv2d's.
/// </summary>
public sealed class Conv1d : ConvolutionLayer
{
    /// <summary>A kernel of <paramref name="kernel"/> taps with the given stride, padding, dilation and groups.</summary>
    /// <exception cref="ArgumentException">Sizes are not positive or channels are not divisible by the groups.</exception>
    public Conv1d(int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true)
        : this(inChannels, outChannels, kernel, new Conv1dOptions { Stride = stride, Padding = padding, Dilation = dilation, Groups = groups }, bias)
    {
    }

    /// <summary>Any <see cref="Conv1dOptions"/> (such as "same" padding).</summary>
    /// <exception cref="ArgumentException">Sizes are not positive or channels are not divisible by the groups.</exception>
    public Conv1d(int inChannels, int outChannels, int kernel, Conv1dOptions? options, bool bias = true)
        : base("Conv1d", inChannels, outChannels, (1, kernel), (options ?? Conv1dOptions.Default).Groups, bias, transposed: false, oneDimensional: true) =>
        Options = options ?? Conv1dOptions.Default;

    /// <summary>Stride, padding, dilation, groups.</summary>
    public Conv1dOptions Options { get; }

    /// <inheritdoc />
    private protected override OpRegistry<ConvForwardImpl> ForwardRegistry => Ops.Conv2dOp.ForwardRegistry;

    /// <inheritdoc />
    private protected override OpRegistry<ConvBackwardImpl> BackwardRegistry => Ops.Conv2dOp.BackwardRegistry;

    /// <inheritdoc />
    public override string Describe()
    {
        var o = Options;
        string padding = o.SamePadding ? ", padding same" : o.Padding != 0 ? $", padding {o.Padding}" : string.Empty;
        return $"Conv1d({InChannels}, {OutChannels}, {Kernel.W}{(o.Stride != 1 ? $", stride {o.Stride}" : string.Empty)}{padding}" +
            $"{(o.Dilation != 1 ? $", dilation {o.Dilation}" : string.Empty)}{(o.Groups != 1 ? $", groups {o.Groups}" : string.Empty)}{(HasBias ? string.Empty : ", bias: false")})";
    }

    /// <inheritdoc />
    public override long Flops(IReadOnlyList<Shape> inputs, IReadOnlyList<Shape> outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        long macsPerOutput = (long)InChannels / Options.Groups * Kernel.W;
        return (2 * macsPerOutput * outputs[0].Length) + (HasBias ? outputs[0].Length : 0);
    }

    private protected override ConvGeometry Geometry(Shape x) => Ops.Conv1dOp.Describe(x, new Shape(OutChannels, InChannels / Options.Groups, Kernel.W), Options);
}
