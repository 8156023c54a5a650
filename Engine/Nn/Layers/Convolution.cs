// Convolution layers: Conv2d, ConvTranspose2d (one shared base: parameters, plan, calls) and depthwise-separable
// convolution, over the conv ops (im2col + GEMM).
using System;
using System.Collections.Generic;
using Engine.Dispatch;
using Engine.Ops;

namespace Engine.Nn;

/// <summary>
/// What the convolution layers share (as PyTorch's <c>_ConvNd</c>): channels, kernel and bias, the weight and bias
/// parameters and their initialization, the workspace plan and the calls into the conv ops. The layers are
/// <see cref="Conv1d"/>, <see cref="Conv2d"/> and <see cref="ConvTranspose2d"/>; nothing outside the engine derives from it.
/// </summary>
public abstract class ConvolutionLayer : Layer
{
    /// <summary>Largest im2col workspace per call (elements); larger batches run in several passes.</summary>
    internal const long MaxWorkspaceElements = 1L << 24;

    /// <summary>
    /// Checks the sizes (errors name <paramref name="layer"/>) and adds the parameters: the weight is
    /// (Cout, Cin / groups, kH, kW), (Cin, Cout / groups, kH, kW) when <paramref name="transposed"/>, or
    /// (Cout, Cin / groups, kW) when <paramref name="oneDimensional"/> (a conv1d, kernel (1, K)), and both weight and
    /// bias are initialized like PyTorch, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = weight.size(1) * kH * kW, unless
    /// <paramref name="init"/> or <paramref name="biasInit"/> give other rules.
    /// </summary>
    private protected ConvolutionLayer(string layer, int inChannels, int outChannels, (int H, int W) kernel, int groups, bool bias, bool transposed,
        bool oneDimensional = false, ParamInit? init = null, ParamInit? biasInit = null)
    {
        ConvText.CheckSizes(layer, inChannels, outChannels, kernel, groups);
        InChannels = inChannels;
        OutChannels = outChannels;
        Kernel = kernel;
        HasBias = bias;
        double bound = 1.0 / Math.Sqrt((double)(transposed ? outChannels : inChannels) / groups * kernel.H * kernel.W);
        var weight = oneDimensional ? new Shape(outChannels, inChannels / groups, kernel.W)
            : transposed ? new Shape(inChannels, outChannels / groups, kernel.H, kernel.W)
            : new Shape(outChannels, inChannels / groups, kernel.H, kernel.W);
        AddParameter("weight", weight, ParameterRole.Weight, init ?? ParamInit.Uniform(bound), init is not null);
        if (bias)
        {
            AddParameter("bias", new Shape(outChannels), ParameterRole.Bias, biasInit ?? ParamInit.Uniform(bound), biasInit is not null);
        }
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Kernel rows and columns.</summary>
    public (int H, int W) Kernel { get; }

    /// <summary>Whether the layer adds a bias.</summary>
    public bool HasBias { get; }

    /// <inheritdoc />
    public override GradientAccumulation Accumulation => GradientAccumulation.All | GradientAccumulation.Uniform;

    /// <summary>The op's forward implementations (conv2d or conv_transpose2d).</summary>
    private protected abstract OpRegistry<ConvForwardImpl> ForwardRegistry { get; }

    /// <summary>The op's backward implementations.</summary>
    private protected abstract OpRegistry<ConvBackwardImpl> BackwardRegistry { get; }

    /// <inheritdoc />
    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return [Geometry(inputs[0]).OutputShape];
    }

    /// <inheritdoc />
    public override void Plan(LayerPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ConvText.PlanWorkspaces(plan, Geometry(plan.InputShapes[0]));
        if (plan.Tangents && plan.ParamTangents)
        {
            plan.TangentWorkspace(plan.OutputShapes[0]);
        }
    }

    /// <inheritdoc />
    public override void Prepare(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.State = new ConvCallState(Geometry(context.Input().Shape), ForwardRegistry.Resolve(context.Device), BackwardRegistry.Resolve(context.Device));
    }

    /// <inheritdoc />
    public override void Forward(NodeContext context) => ConvCallState.Forward(context, HasBias);

    /// <inheritdoc />
    public override void Backward(NodeContext context) => ConvCallState.Backward(context, HasBias);

    /// <inheritdoc />
    public override bool HasTangent => true;

    /// <summary>Forward mode: the op is linear in x and in (W, b), so dy = conv(dx, W) (+ conv(x, dW) + db with parameter tangents).</summary>
    public override void Tangent(NodeContext context) => ConvCallState.Tangent(context, HasBias);

    /// <summary>The op's validated geometry for input shape <paramref name="x"/> and this layer's weight and settings.</summary>
    private protected abstract ConvGeometry Geometry(Shape x);
}

/// <summary>
/// 2-D convolution (<c>torch.nn.Conv2d</c>), NCHW: weight (Cout, Cin / groups, kH, kW), bias (Cout). Parameters:
/// K_w * K_h * D_in * D_out + D_out (with groups, D_in / groups per filter). The im2col workspace is planned by the
/// memory planner. Initialized like PyTorch: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = Cin / groups * kH * kW.
/// </summary>
public sealed class Conv2d : ConvolutionLayer
{
    /// <summary>A square kernel with the same stride, padding and dilation on both axes; <paramref name="init"/> and <paramref name="biasInit"/> replace PyTorch's default.</summary>
    public Conv2d(int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true,
        ParamInit? init = null, ParamInit? biasInit = null)
        : this(inChannels, outChannels, (kernel, kernel), new Conv2dOptions
        {
            Stride = (stride, stride), Padding = ConvPadding.Symmetric(padding, padding), Dilation = (dilation, dilation), Groups = groups,
        }, bias, init, biasInit)
    {
    }

    /// <summary>Any kernel and <see cref="Conv2dOptions"/> (per-axis stride and dilation, per-side or "same" padding).</summary>
    /// <exception cref="ArgumentException">Sizes are not positive, channels are not divisible by the groups, or <paramref name="biasInit"/> is a fan rule.</exception>
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernel, Conv2dOptions? options, bool bias = true, ParamInit? init = null, ParamInit? biasInit = null)
        : base("Conv2d", inChannels, outChannels, kernel, (options ?? Conv2dOptions.Default).Groups, bias, transposed: false, init: init, biasInit: biasInit) =>
        Options = options ?? Conv2dOptions.Default;

    /// <summary>Stride, padding, dilation, groups.</summary>
    public Conv2dOptions Options { get; }

    /// <inheritdoc />
    private protected override OpRegistry<ConvForwardImpl> ForwardRegistry => Ops.Conv2dOp.ForwardRegistry;

    /// <inheritdoc />
    private protected override OpRegistry<ConvBackwardImpl> BackwardRegistry => Ops.Conv2dOp.BackwardRegistry;

    /// <inheritdoc />
    public override string Describe() =>
        $"Conv2d({InChannels}, {OutChannels}, {Kernel.H}x{Kernel.W}{ConvText.Options(Options.Stride, ConvText.Padding(Options.Padding), Options.Dilation, Options.Groups)}{(HasBias ? string.Empty : ", bias: false")})";

    /// <inheritdoc />
    public override long Flops(IReadOnlyList<Shape> inputs, IReadOnlyList<Shape> outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        long macsPerOutput = (long)InChannels / Options.Groups * Kernel.H * Kernel.W;
        return (2 * macsPerOutput * outputs[0].Length) + (HasBias ? outputs[0].Length : 0);
    }

    private protected override ConvGeometry Geometry(Shape x) => Ops.Conv2dOp.Describe(x, new Shape(OutChannels, InChannels / Options.Groups, Kernel.H, Kernel.W), Options);
}

/// <summary>
/// Transposed 2-D convolution (<c>torch.nn.ConvTranspose2d</c>): weight (Cin, Cout / groups, kH, kW), bias (Cout).
/// Initialized like PyTorch (fan_in computed from the weight's dimension 1: Cout / groups * kH * kW).
/// </summary>
public sealed class ConvTranspose2d : ConvolutionLayer
{
    /// <summary>A square kernel with the same settings on both axes; <paramref name="init"/> and <paramref name="biasInit"/> replace PyTorch's default.</summary>
    public ConvTranspose2d(int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, int outputPadding = 0, int dilation = 1, int groups = 1, bool bias = true,
        ParamInit? init = null, ParamInit? biasInit = null)
        : this(inChannels, outChannels, (kernel, kernel), new ConvTranspose2dOptions
        {
            Stride = (stride, stride), Padding = (padding, padding), OutputPadding = (outputPadding, outputPadding), Dilation = (dilation, dilation), Groups = groups,
        }, bias, init, biasInit)
    {
    }

    /// <summary>Any kernel and <see cref="ConvTranspose2dOptions"/>.</summary>
    /// <exception cref="ArgumentException">Sizes are not positive, channels are not divisible by the groups, or <paramref name="biasInit"/> is a fan rule.</exception>
    public ConvTranspose2d(int inChannels, int outChannels, (int H, int W) kernel, ConvTranspose2dOptions? options, bool bias = true, ParamInit? init = null, ParamInit? biasInit = null)
        : base("ConvTranspose2d", inChannels, outChannels, kernel, (options ?? ConvTranspose2dOptions.Default).Groups, bias, transposed: true, init: init, biasInit: biasInit) =>
        Options = options ?? ConvTranspose2dOptions.Default;

    /// <summary>Stride, padding, output padding, dilation, groups.</summary>
    public ConvTranspose2dOptions Options { get; }

    /// <inheritdoc />
    private protected override OpRegistry<ConvForwardImpl> ForwardRegistry => Ops.ConvTranspose2dOp.ForwardRegistry;

    /// <inheritdoc />
    private protected override OpRegistry<ConvBackwardImpl> BackwardRegistry => Ops.ConvTranspose2dOp.BackwardRegistry;

    /// <inheritdoc />
    public override string Describe() =>
        $"ConvTranspose2d({InChannels}, {OutChannels}, {Kernel.H}x{Kernel.W}{ConvText.Options(Options.Stride, Options.Padding == (0, 0) ? null : $"{Options.Padding.H}x{Options.Padding.W}", Options.Dilation, Options.Groups)}{(Options.OutputPadding == (0, 0) ? string.Empty : $", output padding {Options.OutputPadding.H}x{Options.OutputPadding.W}")}{(HasBias ? string.Empty : ", bias: false")})";

    /// <inheritdoc />
    public override long Flops(IReadOnlyList<Shape> inputs, IReadOnlyList<Shape> outputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        long macsPerInput = (long)OutChannels / Options.Groups * Kernel.H * Kernel.W;
        return (2 * macsPerInput * inputs[0].Length) + (HasBias ? outputs[0].Length : 0);
    }

    private protected override ConvGeometry Geometry(Shape x) => Ops.ConvTranspose2dOp.Describe(x, new Shape(InChannels, OutChannels / Options.Groups, Kernel.H, Kernel.W), Options);
}

/// <summary>
/// Depthwise-separable convolution: a depthwise K x K convolution (one filter per input channel, named
/// <c>depthwise</c>) then a pointwise 1 x 1 convolution (<c>pointwise</c>). Without biases (the default) it has
/// K_w * K_h * D_in + D_in * D_out parameters.
/// </summary>
public sealed class SeparableConv2d : Module
{
    /// <summary>Creates the block.</summary>
    public SeparableConv2d(int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, int dilation = 1, bool bias = false)
    {
        Depthwise = AddChild("depthwise", new Conv2d(inChannels, inChannels, kernel, stride, padding, dilation, groups: inChannels, bias: bias));
        Pointwise = AddChild("pointwise", new Conv2d(inChannels, outChannels, 1, bias: bias));
    }

    /// <summary>The depthwise convolution.</summary>
    public Conv2d Depthwise { get; }

    /// <summary>The pointwise convolution.</summary>
    public Conv2d Pointwise { get; }

    /// <inheritdoc />
    public override string Describe() => $"SeparableConv2d({Depthwise.InChannels}, {Pointwise.OutChannels}, {Depthwise.Kernel.H}x{Depthwise.Kernel.W})";

    /// <inheritdoc />
    protected internal override GraphValue[] Build(GraphBuilder builder, GraphValue[] inputs)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Call(Pointwise, builder.Call(Depthwise, inputs));
    }
}

/// <summary>Shared helpers of the convolution layers.</summary>
internal static class ConvText
{
    /// <summary>The constructor checks shared by the convolution layers; errors name the constructor's arguments.</summary>
    public static void CheckSizes(string layer, int inChannels, int outChannels, (int H, int W) kernel, int groups)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kernel.H, nameof(kernel));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kernel.W, nameof(kernel));
        if (groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
        {
            throw new ArgumentException($"{layer}: in_channels {inChannels} and out_channels {outChannels} must be divisible by groups {groups}.", "options");
        }
    }

    public static string? Padding(ConvPadding p) => p.IsSame ? "same"
        : p == ConvPadding.Valid ? null
        : p.Top == p.Bottom && p.Left == p.Right ? $"{p.Top}x{p.Left}" : p.ToString();

    public static string Options((int H, int W) stride, string? padding, (int H, int W) dilation, int groups)
    {
        var s = string.Empty;
        if (stride != (1, 1))
        {
            s += $", stride {stride.H}x{stride.W}";
        }

        if (padding is not null)
        {
            s += $", padding {padding}";
        }

        if (dilation != (1, 1))
        {
            s += $", dilation {dilation.H}x{dilation.W}";
        }

        return groups == 1 ? s : s + $", groups {groups}";
    }

    /// <summary>
    /// Keeps x for the weight gradient, and plans forward and backward im2col workspaces (workspace 0 and 1), at
    /// most <see cref="ConvolutionLayer.MaxWorkspaceElements"/> unless one image needs more.
    /// </summary>
    public static void PlanWorkspaces(LayerPlan plan, in ConvGeometry g)
    {
        if (plan.ParamsNeedGrad)
        {
            plan.KeepInput();
        }

        long per = g.ColumnElementsPerImage;
        if (per == 0)
        {
            return;
        }

        int images = (int)Math.Clamp(ConvolutionLayer.MaxWorkspaceElements / per, 1, g.Batch);
        var shape = new Shape(checked((int)g.WorkspaceElements(images)));
        plan.Workspace(shape, WorkspacePhase.Forward);
        plan.Workspace(shape, WorkspacePhase.Backward);
    }

    public static Tensor? Workspace(NodeContext context, int index) => context.WorkspaceCount > index ? context.Workspace(index) : null;
}

/// <summary>
/// A convolution node's validated geometry and implementations: shapes were checked once when the node was bound
/// (they never change), so each call goes straight to the implementation and allocates nothing.
/// </summary>
internal sealed record ConvCallState(ConvGeometry Geometry, ConvForwardImpl ForwardImpl, ConvBackwardImpl BackwardImpl)
{
    public static void Forward(NodeContext c, bool hasBias)
    {
        ArgumentNullException.ThrowIfNull(c);
        var s = (ConvCallState)c.State!;
        s.ForwardImpl(c.Device, s.Geometry, c.Input().View, c.Param(0).View, hasBias ? c.Param(1).View : default, c.Output().View,
            ConvText.Workspace(c, 0)?.View ?? default);
    }

    /// <summary>dy = conv(dx, W), plus conv(x, dW) + db (into the tangent workspace, then added) when the parameters have tangents.</summary>
    public static void Tangent(NodeContext c, bool hasBias)
    {
        ArgumentNullException.ThrowIfNull(c);
        var s = (ConvCallState)c.State!;
        var ws = ConvText.Workspace(c, 0)?.View ?? default;
        s.ForwardImpl(c.Device, s.Geometry, c.InputTangent().View, c.Param(0).View, default, c.OutputTangent().View, ws);
        if (c.ParamTangent(0) is { } dw)
        {
            var t = c.TangentWorkspace(0);
            s.ForwardImpl(c.Device, s.Geometry, c.Input().View, dw.View, hasBias ? c.ParamTangent(1)!.View : default, t.View, ws);
            Elementwise.Accumulate(c.OutputTangent(), t);
        }
    }

    public static void Backward(NodeContext c, bool hasBias)
    {
        ArgumentNullException.ThrowIfNull(c);
        var s = (ConvCallState)c.State!;
        var dw = c.ParamGrad(0);
        var db = hasBias ? c.ParamGrad(1) : null;
        var dx = c.InputGrad();
        if (dx is null && dw is null && db is null)
        {
            return;
        }

        // One accumulate flag for the call: the planner never mixes them (Accumulation includes Uniform).
        bool acc = dx is not null ? c.AccumulateInputGrad() : dw is not null ? c.AccumulateParamGrad(0) : c.AccumulateParamGrad(1);
        s.BackwardImpl(c.Device, s.Geometry, c.Input().View, c.Param(0).View, c.OutputGrad().View, dx?.View ?? default, dw?.View ?? default,
            db?.View ?? default, ConvText.Workspace(c, 1)?.View ?? default, acc);
    }
}
