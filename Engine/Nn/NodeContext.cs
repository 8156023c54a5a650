// The tensors bound to one node of a compiled model: views into the memory plan's arena and the parameters.
using System;

namespace Engine.Nn;

/// <summary>
/// Everything one node's <see cref="Layer.Forward"/> and <see cref="Layer.Backward"/> read and write, bound
/// once at compile time (views into the planned arena), so a step allocates nothing.
/// </summary>
public sealed class NodeContext
{
    private readonly ExecutionState exec;

    internal NodeContext(ExecutionState exec, int index, string name, Layer layer, int inputs, int outputs, int parameters, int buffers)
    {
        this.exec = exec;
        NodeIndex = index;
        Name = name;
        Layer = layer;
        Inputs = new Tensor[inputs];
        Outputs = new Tensor[outputs];
        InputGrads = new Tensor?[inputs];
        InputGradAccumulate = new bool[inputs];
        OutputGrads = new Tensor?[outputs];
        Params = new Parameter[parameters];
        ParamGrads = new Tensor?[parameters];
        ParamGradAccumulate = new bool[parameters];
        Buffers = new Tensor[buffers];
        InputTangents = new Tensor[inputs];
        OutputTangents = new Tensor[outputs];
        ParamTangents = new Tensor?[parameters];
        TangentWorkspaces = Array.Empty<Tensor>();
        Workspaces = Array.Empty<Tensor>();
        SavedTensors = Array.Empty<Tensor>();
        Constants = Array.Empty<Tensor>();
    }

    /// <summary>Whether a ReLU after this node is folded into it (the plan's <see cref="LayerPlan.FoldsRelu"/>).</summary>
    internal bool FoldsRelu { get; init; }

    /// <summary>The node's name (its module path, e.g. <c>3.1</c>), for messages.</summary>
    public string Name { get; }

    /// <summary>The layer.</summary>
    public Layer Layer { get; }

    /// <summary>The node's index in the graph (stable for a compiled model; random layers mix it into their stream).</summary>
    public int NodeIndex { get; }

    /// <summary>Number of workspaces the layer declared.</summary>
    public int WorkspaceCount => Workspaces.Length;

    /// <summary>The device.</summary>
    public Device Device => exec.Device;

    /// <summary>True in training mode (batch statistics, dropout active), false in evaluation mode.</summary>
    public bool Training => exec.Training;

    /// <summary>A counter that grows by one every forward pass, for layers that draw random numbers (dropout).</summary>
    public long Step => exec.Step;

    /// <summary>The seed of the compiled model, for random layers.</summary>
    public ulong Seed => exec.Seed;

    /// <summary>Data-parallel training: the ranks whose batch statistics batch norm combines (null: this process's batch alone).</summary>
    internal Distributed.ProcessGroup? StatisticsGroup => exec.StatisticsGroup;

    /// <summary>Layer-specific data set in <see cref="Layer.Prepare"/>.</summary>
    public object? State { get; set; }

    internal Tensor[] Inputs { get; }

    internal Tensor[] Outputs { get; }

    internal Tensor?[] InputGrads { get; }

    internal bool[] InputGradAccumulate { get; }

    internal Tensor?[] OutputGrads { get; }

    internal Parameter[] Params { get; }

    internal Tensor?[] ParamGrads { get; }

    internal bool[] ParamGradAccumulate { get; }

    internal Tensor[] Buffers { get; }

    internal Tensor[] Workspaces { get; set; }

    internal Tensor[] InputTangents { get; }

    internal Tensor[] OutputTangents { get; }

    internal Tensor?[] ParamTangents { get; }

    internal Tensor[] TangentWorkspaces { get; set; }

    internal Tensor[] SavedTensors { get; set; }

    internal Tensor[] Constants { get; set; }

    /// <summary>Input <paramref name="index"/>.</summary>
    public Tensor Input(int index = 0) => Inputs[index];

    /// <summary>Output <paramref name="index"/>.</summary>
    public Tensor Output(int index = 0) => Outputs[index];

    /// <summary>The gradient of the loss with respect to output <paramref name="index"/> (backward only).</summary>
    public Tensor OutputGrad(int index = 0) => OutputGrads[index]
        ?? throw new InvalidOperationException($"Node '{Name}' ({Layer.Describe()}): output {index} has no gradient in this plan.");

    /// <summary>Where to write the gradient for input <paramref name="index"/>, or null when no one needs it.</summary>
    public Tensor? InputGrad(int index = 0) => InputGrads[index];

    /// <summary>Whether to add into <see cref="InputGrad"/> rather than overwrite it (only where <see cref="Layer.Accumulation"/> allows).</summary>
    public bool AccumulateInputGrad(int index = 0) => InputGradAccumulate[index];

    /// <summary>The layer's parameter <paramref name="index"/> in declaration order (value and gradient views).</summary>
    public Tensor Param(int index) => Params[index].Value;

    /// <summary>Where to write parameter <paramref name="index"/>'s gradient, or null when it is frozen.</summary>
    public Tensor? ParamGrad(int index) => ParamGrads[index];

    /// <summary>Whether to add into <see cref="ParamGrad"/> rather than overwrite it.</summary>
    public bool AccumulateParamGrad(int index) => ParamGradAccumulate[index];

    /// <summary>The layer's buffer <paramref name="index"/> (e.g. running statistics).</summary>
    public Tensor Buffer(int index) => Buffers[index];

    /// <summary>Whether this node carries tangents (a forward-mode plan, <see cref="CompileOptions.Tangents"/>): forward is followed by <see cref="Layer.Tangent"/>.</summary>
    public bool HasTangents { get; internal set; }

    /// <summary>The tangent of input <paramref name="index"/> (forward mode, in <see cref="Layer.Tangent"/>).</summary>
    public Tensor InputTangent(int index = 0) => InputTangents[index]
        ?? throw new InvalidOperationException($"Node '{Name}' ({Layer.Describe()}): input {index} has no tangent in this plan.");

    /// <summary>Where <see cref="Layer.Tangent"/> writes the tangent of output <paramref name="index"/>.</summary>
    public Tensor OutputTangent(int index = 0) => OutputTangents[index]
        ?? throw new InvalidOperationException($"Node '{Name}' ({Layer.Describe()}): output {index} has no tangent in this plan.");

    /// <summary>The tangent of the layer's parameter <paramref name="index"/>, or null when the plan has no parameter tangents (they are zero).</summary>
    public Tensor? ParamTangent(int index) => ParamTangents[index];

    /// <summary>Tangent workspace <paramref name="index"/> as declared in <see cref="LayerPlan.TangentWorkspace"/>.</summary>
    public Tensor TangentWorkspace(int index) => TangentWorkspaces[index];

    /// <summary>Workspace <paramref name="index"/> as declared in <see cref="LayerPlan.Workspace"/>.</summary>
    public Tensor Workspace(int index) => Workspaces[index];

    /// <summary>Saved tensor <paramref name="index"/> as declared in <see cref="LayerPlan.Saved"/>.</summary>
    public Tensor Saved(int index) => SavedTensors[index];

    /// <summary>Constant <paramref name="index"/> as declared in <see cref="LayerPlan.Constant"/>.</summary>
    public Tensor Constant(int index) => Constants[index];
}

/// <summary>Mode and counters shared by the nodes of one compiled model.</summary>
internal sealed class ExecutionState(Device device, ulong seed)
{
    public Device Device { get; } = device;

    public bool Training { get; set; }

    public long Step { get; set; }

    public ulong Seed { get; set; } = seed;

    public Distributed.ProcessGroup? StatisticsGroup { get; set; }
}
