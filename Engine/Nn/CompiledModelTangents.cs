// Forward mode on a compiled model: the tangent arena, each node's tangents bound beside its values, and the
// Jacobian-vector product the caller reads (CompileOptions.Tangents).
using System;
using System.Linq;

namespace Engine.Nn;

public sealed partial class CompiledModel
{
    private Tensor? tangentArena;
    private Tensor[] inputTangents = [];
    private Tensor[] outputTangents = [];
    private bool tangents;

    /// <summary>Whether this is a forward-mode plan: every forward pass also computes the tangents (<see cref="CompileOptions.Tangents"/>).</summary>
    public bool IsTangentPlan => tangents;

    /// <summary>The memory plan of the tangents (their own arena), or null when this is not a forward-mode plan.</summary>
    public MemoryPlan? TangentMemory { get; }

    /// <summary>
    /// The tangent of input <paramref name="index"/> (the direction u of the Jacobian-vector product): write it before
    /// <see cref="Forward()"/>; it keeps its values between passes.
    /// </summary>
    /// <exception cref="InvalidOperationException">This is not a forward-mode plan.</exception>
    public Tensor InputTangent(int index = 0) => RequireTangents().inputTangents[index];

    /// <summary>
    /// The tangent of output <paramref name="index"/> after <see cref="Forward()"/>: J u, the directional derivative of the
    /// output along the input tangents (and the parameter tangents, with <see cref="CompileOptions.ParameterTangents"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">This is not a forward-mode plan.</exception>
    public Tensor OutputTangent(int index = 0) => RequireTangents().outputTangents[index];

    /// <summary>The tangent of the parameter named <paramref name="name"/> (a view into <see cref="ParameterSet.Tangents"/>).</summary>
    /// <exception cref="InvalidOperationException">The plan has no parameter tangents.</exception>
    public Tensor ParameterTangent(string name)
    {
        if (!RequireTangents().Options.ParameterTangents || !HasParameters)
        {
            throw new InvalidOperationException("This plan has no parameter tangents; compile with CompileOptions.ParameterTangents = true.");
        }

        return Parameters.TangentOf(Parameters[name]);
    }

    /// <summary>
    /// One forward pass carrying tangents: copies <paramref name="input"/> and its tangent <paramref name="inputTangent"/>
    /// in and returns the output tangent J u (valid until the next pass); the output is <see cref="Output"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A shape differs from the compiled input's.</exception>
    /// <exception cref="InvalidOperationException">This is not a forward-mode plan.</exception>
    public Tensor Jvp(Tensor input, Tensor inputTangent)
    {
        ArgumentNullException.ThrowIfNull(inputTangent);
        var t = RequireTangents().inputTangents[0];
        if (inputTangent.Shape != t.Shape)
        {
            throw new ArgumentException($"inputTangent is {inputTangent.Shape} but the model was compiled for {t.Shape}.", nameof(inputTangent));
        }

        t.CopyFrom(inputTangent);
        Forward(input);
        return outputTangents[0];
    }

    private CompiledModel RequireTangents()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return tangents ? this : throw new InvalidOperationException("This is not a forward-mode plan; compile with CompileOptions.Tangents = true.");
    }

    /// <summary>Creates the tangent arena and a tensor per value's tangent; returns them by value id.</summary>
    private Tensor[] BindTangentArena(TangentLayout layout, GraphValue[] inputValues, GraphValue[] outputValues)
    {
        tangents = true;
        tangentArena = Tensor.Zeros(Device, new Shape(checked((int)Math.Max(1, layout.ArenaElements))));
        var values = graph.Values.Select(v => TangentView(layout.Values[v.Id]!, v.Shape)).ToArray();
        inputTangents = inputValues.Select(v => values[v.Id]).ToArray();
        outputTangents = outputValues.Select(v => values[v.Id]).ToArray();
        return values;
    }

    /// <summary>Binds node <paramref name="n"/>'s input, output and parameter tangents and its tangent workspaces.</summary>
    private void BindTangents(GraphNode n, NodeContext ctx, TangentLayout layout, Tensor[] values)
    {
        ctx.HasTangents = true;
        for (int i = 0; i < n.Inputs.Length; i++)
        {
            ctx.InputTangents[i] = values[n.Inputs[i].Id];
        }

        for (int i = 0; i < n.Outputs.Length; i++)
        {
            ctx.OutputTangents[i] = values[n.Outputs[i].Id];
        }

        if (Options.ParameterTangents)
        {
            for (int i = 0; i < ctx.Params.Length; i++)
            {
                ctx.ParamTangents[i] = state.Parameters!.TangentOf(ctx.Params[i]);
            }
        }

        ctx.TangentWorkspaces = layout.Workspaces[n.Id].Select(w => TangentView(w.Slot, w.Shape)).ToArray();
    }

    private Tensor TangentView(Slot slot, Shape shape) =>
        tangentArena!.Slice(checked((int)slot.Root.Offset), checked((int)slot.Elements)).Reshape(shape);
}
