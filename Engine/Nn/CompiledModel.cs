// The executor: a compiled model runs its nodes forward in order and backward in reverse over tensors bound
// once into a planned arena, so that a training step allocates no device memory and no managed memory.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Ops;

namespace Engine.Nn;

/// <summary>What <see cref="CompiledModel.Forward()"/> produced.</summary>
/// <param name="Output">The first output (valid until the next forward).</param>
/// <param name="Loss">The loss, shape [1], or null when the model was compiled without one.</param>
public readonly record struct ForwardResult(Tensor Output, Tensor? Loss);

/// <summary>
/// A model compiled for fixed input shapes on a device: shapes inferred, nodes ordered, memory planned and
/// bound. <see cref="Forward()"/> runs the nodes in topological order; <see cref="Backward()"/> runs them in
/// reverse and fills <see cref="ParameterSet.Grads"/> (overwriting them unless compiled with
/// <see cref="CompileOptions.AccumulateGradients"/>). Several compiled models of one module share its parameters.
/// </summary>
public sealed partial class CompiledModel : IDisposable
{
    private readonly ExecutionState exec;
    private readonly ModelState state;
    private readonly Tensor arena;
    private readonly List<Tensor> owned = new();
    private readonly NodeContext[] forward;
    private readonly BackwardStep[] backward;
    private readonly Tensor[] zeroOnBackward;
    private readonly (Parameter P, bool Requires)[] frozenAtCompile;
    private readonly Tensor[] inputs;
    private readonly Tensor[] outputs;
    private readonly Tensor?[] inputGrads;
    private readonly Tensor?[] outputGrads;
    private readonly float[] lossHost = new float[1];
    private readonly GraphBuilder graph;
    private readonly Schedule schedule;
    private readonly Dictionary<Module, string> paths;
    private readonly Dictionary<int, CompiledModel> resized = new();
    private readonly GraphValue[] graphInputs;
    private readonly GraphValue[] graphOutputs;
    private bool disposed;

    internal CompiledModel(Device device, Module root, ModelState state, GraphBuilder graph, Schedule schedule, LayerPlan[] plans, MemoryLayout mem,
        GraphValue[] inputValues, GraphValue[] outputValues, GraphValue? targetValue, GraphValue? lossValue, Dictionary<Module, string> paths, CompileOptions options,
        TangentLayout? tangentLayout = null)
    {
        Device = device;
        Model = root;
        this.state = state;
        this.graph = graph;
        this.schedule = schedule;
        this.paths = paths;
        Options = options;
        Memory = mem.Report;
        LossSpec = (graph.Nodes.FirstOrDefault(n => n.IsLoss)?.Layer as LossLayer)?.Spec;
        exec = new ExecutionState(device, (ulong)options.Seed) { Training = options.Training };
        arena = Tensor.Empty(device, new Shape(checked((int)Math.Max(1, mem.ArenaElements))));
        Tensor View(Slot slot, Shape shape) => arena.Slice(checked((int)slot.Root.Offset), checked((int)slot.Elements)).Reshape(shape);
        Tensor? ValueOf(GraphValue v) => mem.Values[v.Id] is { } sl ? View(sl, v.Shape) : null;
        Tensor? GradOf(GraphValue v) => mem.Grads[v.Id] is { } sl ? View(sl, v.Shape) : null;

        var valueTensors = graph.Values.Select(ValueOf).ToArray();
        var gradTensors = graph.Values.Select(GradOf).ToArray();
        graphInputs = inputValues;
        graphOutputs = outputValues;
        inputs = inputValues.Select(v => valueTensors[v.Id]!).ToArray();
        outputs = outputValues.Select(v => valueTensors[v.Id]!).ToArray();
        Target = targetValue is null ? null : valueTensors[targetValue.Id];
        Loss = lossValue is null ? null : valueTensors[lossValue.Id];
        inputGrads = inputValues.Select(v => gradTensors[v.Id]).ToArray();
        outputGrads = outputValues.Select(v => lossValue is null ? gradTensors[v.Id] : null).ToArray();

        TangentMemory = tangentLayout?.Report;
        var tangentValues = tangentLayout is null ? null : BindTangentArena(tangentLayout, inputValues, outputValues);
        var contexts = new NodeContext[graph.Nodes.Count];
        var written = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        var accumulations = new List<(Tensor, Tensor)>[graph.Nodes.Count];
        foreach (var n in graph.Nodes)
        {
            var ctx = Bind(n, plans[n.Id], mem, valueTensors, gradTensors, View, written, accumulations[n.Id] = new());
            contexts[n.Id] = ctx;
            if (tangentValues is not null)
            {
                BindTangents(n, ctx, tangentLayout!, tangentValues);
            }

            n.Layer.Prepare(ctx);
        }

        forward = schedule.Forward.Where(n => !plans[n.Id].AliasesInput).Select(n => contexts[n.Id]).ToArray();
        backward = schedule.Backward.Select(n => new BackwardStep(contexts[n.Id],
            plans[n.Id].AliasesInput ? (mem.AliasedBackward[n.Id] ? StepKind.Nothing : StepKind.AliasCopy) : StepKind.Layer,
            accumulations[n.Id].ToArray(),
            plans[n.Id].AliasesInput && contexts[n.Id].OutputGrads[0] is { } gy ? gy.Reshape(n.Inputs[0].Shape) : null)).ToArray();
        var parameters = state.Parameters?.ToArray() ?? [];
        zeroOnBackward = options.Training && !options.AccumulateGradients
            ? parameters.Where(p => p.RequiresGrad && !written.Contains(p)).Select(p => p.Grad).ToArray()
            : [];
        frozenAtCompile = parameters.Select(p => (p, p.RequiresGrad)).ToArray();
    }

    /// <summary>Times nodes: <see cref="Begin"/> before a node runs, <see cref="End"/> after it.</summary>
    internal interface INodeProfiler
    {
        long Begin();

        void End(string node, Layer layer, bool backward, long begin);
    }

    private enum StepKind
    {
        Layer,
        AliasCopy,
        Nothing,
    }

    /// <summary>The device.</summary>
    public Device Device { get; }

    /// <summary>Per-node timing hook for benchmarks (null: none); called around every forward and backward node.</summary>
    internal INodeProfiler? Profiler { get; set; }

    /// <summary>The module tree this was compiled from.</summary>
    public Module Model { get; }

    /// <summary>The options it was compiled with.</summary>
    public CompileOptions Options { get; }

    /// <summary>Whether this plan includes backward.</summary>
    public bool IsTrainingPlan => Options.Training;

    /// <summary>Training mode (batch statistics, dropout) or evaluation mode. An inference plan is always in evaluation mode.</summary>
    /// <exception cref="InvalidOperationException">Set to true on an inference plan.</exception>
    public bool Training
    {
        get => exec.Training;
        set
        {
            if (value && !IsTrainingPlan)
            {
                throw new InvalidOperationException("An inference plan (compiled with Training = false) cannot run in training mode.");
            }

            exec.Training = value;
        }
    }

    /// <summary>The model's parameters (shared by every compiled plan of the model on this device).</summary>
    /// <exception cref="InvalidOperationException">The model has no parameters.</exception>
    public ParameterSet Parameters => state.Parameters ?? throw new InvalidOperationException("The model has no parameters.");

    /// <summary>Whether the model has parameters.</summary>
    public bool HasParameters => state.Parameters is not null;

    /// <summary>The model's buffers (batch norm running statistics).</summary>
    public BufferSet Buffers => state.Buffers;

    /// <summary>The memory plan: buffers, their lifetimes and offsets, and the arena's peak size.</summary>
    public MemoryPlan Memory { get; }

    /// <summary>The input tensors (in the arena): write them directly, or pass tensors to <see cref="Forward(Tensor, Tensor?)"/>.</summary>
    public IReadOnlyList<Tensor> Inputs => inputs;

    /// <summary>The first input.</summary>
    public Tensor Input => inputs[0];

    /// <summary>The loss target, or null without a loss.</summary>
    public Tensor? Target { get; }

    /// <summary>The outputs (valid until the next forward).</summary>
    public IReadOnlyList<Tensor> Outputs => outputs;

    /// <summary>The first output.</summary>
    public Tensor Output => outputs[0];

    /// <summary>The loss (shape [1]), or null without a loss.</summary>
    public Tensor? Loss { get; }

    /// <summary>The loss the model was compiled with, or null.</summary>
    public ILossSpec? LossSpec { get; }

    /// <summary>The seed of random layers; <see cref="NodeContext.Step"/> advances with every forward.</summary>
    public ulong Seed
    {
        get => exec.Seed;
        set => exec.Seed = value;
    }

    /// <summary>Forward passes run so far (the random stream of dropout advances with it).</summary>
    public long StepCount
    {
        get => exec.Step;
        set => exec.Step = value;
    }

    /// <summary>The gradient of input <paramref name="index"/> after backward (only with <see cref="CompileOptions.InputGradients"/>).</summary>
    public Tensor? InputGrad(int index = 0) => inputGrads[index];

    /// <summary>
    /// Without a loss: where to write the gradient of output <paramref name="index"/> before <see cref="Backward()"/>
    /// (null when that output does not need one).
    /// </summary>
    public Tensor? OutputGrad(int index = 0) => outputGrads[index];

    /// <summary>Runs the forward pass on the current <see cref="Inputs"/> and <see cref="Target"/>.</summary>
    public ForwardResult Forward()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        exec.Step++;
        if (checkFinite)
        {
            CheckInputs();
        }

        var profiler = Profiler;
        for (int i = 0; i < forward.Length; i++)
        {
            var ctx = forward[i];
            long t0 = profiler?.Begin() ?? 0;
            ctx.Layer.Forward(ctx);
            if (tangents)
            {
                ctx.Layer.Tangent(ctx);
            }

            profiler?.End(ctx.Name, ctx.Layer, backward: false, t0);
            if (checkFinite)
            {
                CheckForward(ctx, i);
            }
        }

        return new ForwardResult(outputs[0], Loss);
    }

    /// <summary>Copies <paramref name="input"/> (and <paramref name="target"/>) in and runs the forward pass.</summary>
    public ForwardResult Forward(Tensor input, Tensor? target = null)
    {
        SetInputs(input, target);
        return Forward();
    }

    /// <summary>Copies host data in and runs the forward pass.</summary>
    public ForwardResult Forward(ReadOnlySpan<float> input, ReadOnlySpan<float> target = default)
    {
        inputs[0].CopyFrom(input);
        if (!target.IsEmpty)
        {
            RequireTarget().CopyFrom(target);
        }

        return Forward();
    }

    /// <summary>
    /// Runs the backward pass: from the loss when there is one, otherwise from the gradients written into
    /// <see cref="OutputGrad"/>. Fills the gradients of the trainable parameters.
    /// </summary>
    /// <exception cref="InvalidOperationException">The plan is an inference plan, or parameters were frozen or unfrozen since compiling.</exception>
    public void Backward()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (!IsTrainingPlan)
        {
            throw new InvalidOperationException("This is an inference plan (compiled with Training = false); compile with Training = true to run backward.");
        }

        foreach (var (p, requires) in frozenAtCompile)
        {
            if (p.RequiresGrad != requires)
            {
                throw new InvalidOperationException($"Parameter '{p.Name}' was {(requires ? "frozen" : "unfrozen")} after compiling; compile the model again.");
            }
        }

        foreach (var z in zeroOnBackward)
        {
            z.Fill(0f);
        }

        var profiler = Profiler;
        for (int k = 0; k < backward.Length; k++)
        {
            var step = backward[k];
            var ctx = step.Context;
            long t0 = profiler?.Begin() ?? 0;
            switch (step.Kind)
            {
                case StepKind.Layer:
                    ctx.Layer.Backward(ctx);
                    break;
                case StepKind.AliasCopy:
                    if (ctx.InputGrads[0] is { } dx)
                    {
                        if (ctx.InputGradAccumulate[0])
                        {
                            Elementwise.Accumulate(dx, step.AliasGrad!);
                        }
                        else
                        {
                            Elementwise.Copy(step.AliasGrad!, dx);
                        }
                    }

                    break;
            }

            foreach (var (src, dst) in step.Accumulate)
            {
                Elementwise.Accumulate(dst, src);
            }

            profiler?.End(ctx.Name, ctx.Layer, backward: true, t0);
            if (checkFinite && step.Kind != StepKind.Nothing)
            {
                CheckBackward(step, k);
            }

            backwardObserver?.StepDone(this, k);
        }
    }

    /// <summary>Seeds the gradient of the (single) output with <paramref name="outputGrad"/> and runs backward (models without a loss).</summary>
    public void Backward(Tensor outputGrad)
    {
        ArgumentNullException.ThrowIfNull(outputGrad);
        var g = OutputGrad(0) ?? throw new InvalidOperationException(Loss is null
            ? "The output needs no gradient (nothing trainable feeds it)."
            : "The model has a loss; call Backward() without a gradient.");
        g.CopyFrom(outputGrad);
        Backward();
    }

    /// <summary>Forward and backward on <paramref name="input"/> and <paramref name="target"/>; returns the loss tensor.</summary>
    public ForwardResult ForwardBackward(Tensor input, Tensor target)
    {
        var r = Forward(input, target);
        Backward();
        return r;
    }

    /// <summary>Forward and backward on host data; returns the loss tensor.</summary>
    public ForwardResult ForwardBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> target)
    {
        var r = Forward(input, target);
        Backward();
        return r;
    }

    /// <summary>Copies the last loss to the host (waits for the device).</summary>
    public float ReadLoss()
    {
        var loss = Loss ?? throw new InvalidOperationException("The model was compiled without a loss.");
        loss.CopyTo(lossHost);
        return lossHost[0];
    }

    /// <summary>Frees the arena and constants (the parameters stay with the model).</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        foreach (var r in resized.Values)
        {
            r.Dispose();
        }

        arena.Dispose();
        tangentArena?.Dispose();
        foreach (var t in owned)
        {
            t.Dispose();
        }

        foreach (var ctx in forward)
        {
            (ctx.State as IDisposable)?.Dispose();   // per-node scratch made on first use (synchronized batch norm)
        }
    }

    private Tensor RequireTarget() => Target ?? throw new InvalidOperationException("The model was compiled without a loss, so it takes no target.");

    private void SetInputs(Tensor input, Tensor? target)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Shape != inputs[0].Shape)
        {
            throw new ArgumentException($"input is {input.Shape} but the model was compiled for {inputs[0].Shape}.", nameof(input));
        }

        inputs[0].CopyFrom(input);
        if (target is not null)
        {
            var t = RequireTarget();
            if (target.Length != t.Length)
            {
                throw new ArgumentException($"target is {target.Shape} but the loss needs {t.Shape}.", nameof(target));
            }

            t.CopyFrom(target);
        }
    }

    /// <summary>One backward step: the node, how it runs, the partial gradients to add afterwards, and (for a view) its output gradient under the input's shape.</summary>
    private sealed record BackwardStep(NodeContext Context, StepKind Kind, (Tensor Src, Tensor Dst)[] Accumulate, Tensor? AliasGrad);
}
