// CompiledModel.Graph: a read-only view of the compiled graph (the nodes in execution order with their layers,
// module paths and values), for code that translates a model into another format, such as the ONNX exporter.
using System.Collections.Generic;
using System.Linq;

namespace Engine.Nn;

/// <summary>One node of <see cref="ModelGraph"/>: a use of a layer.</summary>
/// <param name="Name">The node's name (its module path, <c>#2</c> for a second use).</param>
/// <param name="Layer">The layer.</param>
/// <param name="ModulePath">The layer's state-dict path (its parameters are <c>ModulePath.weight</c>, ...), or null
/// for a layer applied without registering (a functional join or activation in a <see cref="GraphModule"/>).</param>
/// <param name="Inputs">The values it reads, in order.</param>
/// <param name="Outputs">The values it writes.</param>
public sealed record ModelGraphNode(string Name, Layer Layer, string? ModulePath, IReadOnlyList<GraphValue> Inputs, IReadOnlyList<GraphValue> Outputs);

/// <summary>
/// The graph a <see cref="CompiledModel"/> runs, without its loss: the model's inputs and outputs and every node in
/// forward order (a value is written before it is read). Values are identified by reference; their shapes are the
/// compiled ones (batch first).
/// </summary>
/// <param name="Inputs">The model's inputs (not the loss target).</param>
/// <param name="Outputs">The model's outputs.</param>
/// <param name="Nodes">The nodes in execution order, the loss left out.</param>
public sealed record ModelGraph(IReadOnlyList<GraphValue> Inputs, IReadOnlyList<GraphValue> Outputs, IReadOnlyList<ModelGraphNode> Nodes);

public sealed partial class CompiledModel
{
    /// <summary>The compiled graph without its loss, for exporters (see <see cref="ModelGraph"/>).</summary>
    public ModelGraph Graph => new(graphInputs, graphOutputs, schedule.Forward
        .Where(n => !n.IsLoss)
        .Select(n => new ModelGraphNode(n.Name, n.Layer, paths.TryGetValue(n.Layer, out var p) ? p : null, n.Inputs, n.Outputs))
        .ToArray());
}
