// Leaf layers: one graph node each, with shape inference, a memory declaration, forward and backward.
using System;
using System.Collections.Generic;
using System.Linq;

namespace Engine.Nn;

/// <summary>
/// A module that is one node of the graph: it infers its output shapes, declares the memory it needs
/// (<see cref="Plan"/>), and runs forward and backward on tensors the executor binds in a <see cref="NodeContext"/>.
/// A layer instance used at several places of a graph shares its parameters; each use gets its own context.
/// Layers hold no per-use state, and their forward and backward allocate nothing.
/// </summary>
public abstract class Layer : Module
{
    /// <summary>Whether <see cref="Backward"/> is implemented. Compiling a training plan through a layer without one fails.</summary>
    public virtual bool HasBackward => true;

    /// <summary>
    /// Which gradients <see cref="Backward"/> can add into instead of overwriting (honoring
    /// <see cref="NodeContext.AccumulateInputGrad"/> and <see cref="NodeContext.AccumulateParamGrad"/>). Where a
    /// gradient must be added to and the layer cannot, the executor gives it a scratch gradient to overwrite and
    /// adds that itself.
    /// </summary>
    public virtual GradientAccumulation Accumulation => GradientAccumulation.None;

    /// <summary>Number of inputs the layer takes (most take one).</summary>
    public virtual int InputCount => 1;

    /// <summary>
    /// The output shapes for <paramref name="inputs"/>. Throw <see cref="ArgumentException"/> saying what was
    /// expected; the compiler adds the layer's name and the input shapes to the message.
    /// </summary>
    public abstract Shape[] InferShapes(IReadOnlyList<Shape> inputs);

    /// <summary>
    /// Declares what the node needs besides its inputs and outputs: which of them backward reads, workspaces,
    /// tensors saved from forward for backward, and whether the output is a view of the input. Called once per
    /// node at compile time, after <see cref="InferShapes"/>.
    /// </summary>
    public virtual void Plan(LayerPlan plan)
    {
    }

    /// <summary>Called once per node after its tensors are bound: precompute views and parameters into <see cref="NodeContext.State"/>.</summary>
    public virtual void Prepare(NodeContext context)
    {
    }

    /// <summary>Computes the outputs from the inputs (and <see cref="NodeContext.Training"/>).</summary>
    public abstract void Forward(NodeContext context);

    /// <summary>
    /// Computes the gradients the context asks for: <see cref="NodeContext.InputGrad"/> where not null and
    /// <see cref="NodeContext.ParamGrad"/> where not null, from <see cref="NodeContext.OutputGrad"/>.
    /// </summary>
    public virtual void Backward(NodeContext context) =>
        throw new NotSupportedException($"{Describe()} has no backward.");

    /// <summary>
    /// Whether <see cref="Tangent"/> is implemented (forward-mode differentiation). Compiling a tangent plan
    /// (<see cref="CompileOptions.Tangents"/>) through a layer without one fails.
    /// </summary>
    public virtual bool HasTangent => false;

    /// <summary>
    /// Forward mode: right after <see cref="Forward"/> in a tangent plan, computes each output's tangent (the directional
    /// derivative along the inputs' tangents <see cref="NodeContext.InputTangent"/> and, where not null, the parameters'
    /// <see cref="NodeContext.ParamTangent"/>) into <see cref="NodeContext.OutputTangent"/>, overwriting it. Inputs,
    /// outputs, saved tensors and forward workspaces are still valid.
    /// </summary>
    public virtual void Tangent(NodeContext context) =>
        throw new NotSupportedException($"{Describe()} has no tangent rule (forward mode).");

    /// <summary>Forward floating-point operations for the whole batch (2 per multiply-add), for <see cref="CompiledModel.Summary"/>.</summary>
    public virtual long Flops(IReadOnlyList<Shape> inputs, IReadOnlyList<Shape> outputs) => 0;

    /// <inheritdoc />
    protected internal override GraphValue[] Build(GraphBuilder builder, GraphValue[] inputs) => builder.AddNode(this, inputs);
}

/// <summary>Which gradients a layer's backward can add into (see <see cref="Layer.Accumulation"/>).</summary>
[Flags]
public enum GradientAccumulation
{
    /// <summary>It overwrites every gradient it writes.</summary>
    None = 0,

    /// <summary>It can add into input gradients.</summary>
    Inputs = 1,

    /// <summary>It can add into parameter gradients.</summary>
    Parameters = 2,

    /// <summary>
    /// One flag governs every gradient of a call (as in ops with a single <c>accumulate</c> argument): the
    /// executor then never mixes adding and overwriting in one backward of the layer.
    /// </summary>
    Uniform = 4,

    /// <summary>Inputs and parameters, each with its own flag.</summary>
    All = Inputs | Parameters,
}

/// <summary>When a workspace is needed.</summary>
public enum WorkspacePhase
{
    /// <summary>During the node's forward only.</summary>
    Forward = 0,

    /// <summary>During the node's backward only.</summary>
    Backward = 1,
}

/// <summary>
/// What a node declares to the memory planner (see <see cref="Layer.Plan"/>). Everything is sized in float32
/// elements; indices may be stored in a float-sized slot and read through <see cref="Tensor.Buffer"/>.
/// </summary>
public sealed class LayerPlan
{
    private readonly bool[] inputNeedsGrad;

    internal LayerPlan(IReadOnlyList<Shape> inputs, IReadOnlyList<Shape> outputs, bool training, bool runsBackward, bool[] inputNeedsGrad, bool paramsNeedGrad,
        bool tangents = false, bool paramTangents = false)
    {
        InputShapes = inputs;
        OutputShapes = outputs;
        Training = training;
        RunsBackward = runsBackward;
        this.inputNeedsGrad = inputNeedsGrad;
        ParamsNeedGrad = paramsNeedGrad;
        Tangents = tangents;
        ParamTangents = paramTangents;
    }

    /// <summary>Input shapes.</summary>
    public IReadOnlyList<Shape> InputShapes { get; }

    /// <summary>Output shapes.</summary>
    public IReadOnlyList<Shape> OutputShapes { get; }

    /// <summary>Whether the plan includes backward.</summary>
    public bool Training { get; }

    /// <summary>Whether this node runs backward (false in inference plans and below the lowest trainable layer).</summary>
    public bool RunsBackward { get; }

    /// <summary>Whether backward computes gradients for the layer's (trainable) parameters.</summary>
    public bool ParamsNeedGrad { get; }

    /// <summary>Whether forward also runs <see cref="Layer.Tangent"/> (a forward-mode plan).</summary>
    public bool Tangents { get; }

    /// <summary>Whether the parameters have tangents (<see cref="NodeContext.ParamTangent"/> is not null) in this tangent plan.</summary>
    public bool ParamTangents { get; }

    /// <summary>Whether backward computes the gradient of input <paramref name="index"/>.</summary>
    public bool InputNeedsGrad(int index) => inputNeedsGrad[index];

    internal List<int> KeptInputs { get; } = new();

    internal List<int> KeptOutputs { get; } = new();

    internal List<(Shape Shape, WorkspacePhase Phase)> Workspaces { get; } = new();

    internal List<Shape> TangentWorkspaces { get; } = new();

    internal List<Shape> SavedShapes { get; } = new();

    internal List<(Shape Shape, float Value)> Constants { get; } = new();

    internal bool AliasesInput { get; private set; }

    /// <summary>
    /// Set by the compiler: the only reader of this node's single output is a ReLU that is folded in, so forward writes
    /// relu of the result and backward first takes the output gradient through relu' (ReLU's derivative at the output
    /// equals that at its input). Only layers that <see cref="ReluFolding"/> accepts see it (batch norm, same-shape add).
    /// </summary>
    internal bool FoldsRelu { get; init; }

    /// <summary>Set by the compiler: this ReLU is folded into the producer of its input (<see cref="FoldsRelu"/>) and is a view of that input.</summary>
    internal bool ReluFoldedIntoInput { get; init; }

    /// <summary>Backward hands every input the output gradient unchanged (same-shape add): one input's gradient may share its memory.</summary>
    internal bool PassesGradient { get; private set; }

    /// <summary>
    /// Backward gives every input exactly the output gradient (a same-shape add), so the planner may let one input's
    /// gradient use the output gradient's memory; backward must then skip the copy for an input whose gradient tensor is
    /// the output gradient itself (same buffer and offset).
    /// </summary>
    internal LayerPlan PassGradient()
    {
        if (OutputShapes.Count != 1 || InputShapes.Any(s => s != OutputShapes[0]))
        {
            throw new InvalidOperationException("Only a layer whose inputs all have its single output's shape can pass its gradient through.");
        }

        PassesGradient = true;
        return this;
    }

    /// <summary>Backward reads input <paramref name="index"/>, so it stays alive until this node's backward.</summary>
    public LayerPlan KeepInput(int index = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, InputShapes.Count);
        KeptInputs.Add(index);
        return this;
    }

    /// <summary>Backward reads output <paramref name="index"/>.</summary>
    public LayerPlan KeepOutput(int index = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, OutputShapes.Count);
        KeptOutputs.Add(index);
        return this;
    }

    /// <summary>Scratch memory live only during this node's forward or backward; returns its index for <see cref="NodeContext.Workspace"/>.</summary>
    public int Workspace(Shape shape, WorkspacePhase phase)
    {
        ArgumentNullException.ThrowIfNull(shape);
        Workspaces.Add((shape, phase));
        return Workspaces.Count - 1;
    }

    /// <summary>
    /// Scratch memory of this node's <see cref="Layer.Tangent"/> (planned with the tangents, only in tangent plans); returns
    /// its index for <see cref="NodeContext.TangentWorkspace"/>.
    /// </summary>
    public int TangentWorkspace(Shape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (!Tangents)
        {
            throw new InvalidOperationException("Tangent workspaces exist only in tangent plans; check LayerPlan.Tangents first.");
        }

        TangentWorkspaces.Add(shape);
        return TangentWorkspaces.Count - 1;
    }

    /// <summary>A tensor written by forward and read by backward (argmax indices, masks, batch statistics); returns its index for <see cref="NodeContext.Saved"/>.</summary>
    public int Saved(Shape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        SavedShapes.Add(shape);
        return SavedShapes.Count - 1;
    }

    /// <summary>A small constant tensor (filled once at compile time); returns its index for <see cref="NodeContext.Constant"/>.</summary>
    public int Constant(Shape shape, float value)
    {
        ArgumentNullException.ThrowIfNull(shape);
        Constants.Add((shape, value));
        return Constants.Count - 1;
    }

    /// <summary>
    /// The single output is input 0 under another shape (same element count): no memory, no forward work, and
    /// backward is the gradient reshaped (the executor handles both).
    /// </summary>
    public LayerPlan AliasInput()
    {
        if (InputShapes.Count != 1 || OutputShapes.Count != 1 || InputShapes[0].Length != OutputShapes[0].Length)
        {
            throw new InvalidOperationException("Only a one-input, one-output layer whose output has the input's element count can alias its input.");
        }

        AliasesInput = true;
        return this;
    }
}
