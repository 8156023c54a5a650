// A debugging aid of the executor: with CheckFinite on, every node's forward outputs and backward gradients are
// checked for NaN and infinity as they are written, so the first node that produced one can be named.
using System;
using System.Globalization;
using Engine.Ops;

namespace Engine.Nn;

/// <summary>Which pass a node was running.</summary>
public enum NodePhase
{
    /// <summary>The forward pass.</summary>
    Forward = 0,

    /// <summary>The backward pass.</summary>
    Backward = 1,
}

public sealed partial class CompiledModel
{
    private bool checkFinite;

    /// <summary>
    /// Debug mode (default off): after each node's forward its outputs, and after each node's backward the gradients it
    /// wrote, are checked for NaN and infinity (a device reduction and a read back per tensor, so a step is much
    /// slower); the first non-finite tensor throws <see cref="NonFiniteNodeException"/> naming the node. The model
    /// inputs are checked before the first node. Off, the executor tests one flag per node and nothing else.
    /// </summary>
    public bool CheckFinite
    {
        get => checkFinite;
        set => checkFinite = value;
    }

    private void CheckInputs()
    {
        for (int i = 0; i < inputs.Length; i++)
        {
            ThrowIfNonFinite(inputs[i], NodePhase.Forward, inputs.Length == 1 ? "input" : $"input{i}", "model input", -1, "the values");
        }
    }

    private void CheckForward(NodeContext ctx, int position)
    {
        for (int i = 0; i < ctx.Outputs.Length; i++)
        {
            ThrowIfNonFinite(ctx.Outputs[i], NodePhase.Forward, ctx.Name, ctx.Layer.Describe(), position, $"output {i}");
        }
    }

    private void CheckBackward(BackwardStep step, int position)
    {
        var ctx = step.Context;
        for (int i = 0; i < ctx.InputGrads.Length; i++)
        {
            if (ctx.InputGrads[i] is { } g)
            {
                ThrowIfNonFinite(g, NodePhase.Backward, ctx.Name, ctx.Layer.Describe(), position, $"the gradient of input {i}");
            }
        }

        for (int i = 0; i < ctx.ParamGrads.Length; i++)
        {
            if (ctx.ParamGrads[i] is { } g)
            {
                ThrowIfNonFinite(g, NodePhase.Backward, ctx.Name, ctx.Layer.Describe(), position, $"the gradient of parameter '{ctx.Params[i].Name}'");
            }
        }

        foreach (var (_, dst) in step.Accumulate)
        {
            ThrowIfNonFinite(dst, NodePhase.Backward, ctx.Name, ctx.Layer.Describe(), position, "an accumulated gradient");
        }
    }

    private static void ThrowIfNonFinite(Tensor t, NodePhase phase, string node, string layer, int position, string tensor)
    {
        long n = NonFinite.Count(t);
        if (n > 0)
        {
            throw new NonFiniteNodeException(node, layer, phase, position, tensor, n, t.Length);
        }
    }
}

/// <summary>
/// Thrown in <see cref="CompiledModel.CheckFinite"/> mode by the first node (in execution order) whose forward output
/// or backward gradient holds NaN or infinity.
/// </summary>
public sealed class NonFiniteNodeException : Exception
{
    /// <summary>Creates the exception for node <paramref name="node"/>.</summary>
    public NonFiniteNodeException(string node, string layer, NodePhase phase, int position, string tensor, long count, long length)
        : base(string.Create(CultureInfo.InvariantCulture,
            $"Non-finite values in {tensor} of node '{(node.Length == 0 ? "(root)" : node)}' ({layer}) in the {(phase == NodePhase.Forward ? "forward" : "backward")} pass" +
            $"{(position >= 0 ? $" (node {position + 1} of that pass in execution order)" : string.Empty)}: {count:N0} of {length:N0} elements are NaN or infinite."))
    {
        Node = node;
        Layer = layer;
        Phase = phase;
        Position = position;
        Tensor = tensor;
        Count = count;
    }

    /// <summary>Creates the exception.</summary>
    public NonFiniteNodeException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public NonFiniteNodeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public NonFiniteNodeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The node's name (its module path, <c>loss</c> for the loss, <c>input</c> for the model input).</summary>
    public string Node { get; } = string.Empty;

    /// <summary>The layer's description, e.g. <c>Linear(16, 8)</c>.</summary>
    public string Layer { get; } = string.Empty;

    /// <summary>The pass.</summary>
    public NodePhase Phase { get; }

    /// <summary>The node's 0-based position in that pass's execution order (-1 for the model input).</summary>
    public int Position { get; }

    /// <summary>Which tensor: <c>output 0</c>, <c>the gradient of input 0</c>, <c>the gradient of parameter 'NAME'</c>.</summary>
    public string Tensor { get; } = string.Empty;

    /// <summary>Number of NaN or infinite elements.</summary>
    public long Count { get; }
}
