// The compiled graph's intermediate representation: values with shapes and nodes (one per layer use).
using System;
using System.Collections.Generic;
using System.Linq;

namespace Engine.Nn;

/// <summary>A tensor flowing through the graph under construction: its shape and the node that produces it.</summary>
public sealed class GraphValue
{
    internal GraphValue(int id, Shape shape, GraphNode? producer, int producerOutput, string name)
    {
        Id = id;
        Shape = shape;
        Producer = producer;
        ProducerOutput = producerOutput;
        Name = name;
    }

    /// <summary>The shape, inferred when the value was created.</summary>
    public Shape Shape { get; }

    /// <summary>A readable name (the producing node's name, or the input's).</summary>
    public string Name { get; }

    internal int Id { get; }

    internal GraphNode? Producer { get; }

    internal int ProducerOutput { get; }

    internal List<(GraphNode Node, int Input)> Consumers { get; } = new();

    internal int GraphInputIndex { get; init; } = -1;

    /// <inheritdoc />
    public override string ToString() => $"{Name} {Shape}";
}

/// <summary>One use of a layer in the graph.</summary>
internal sealed class GraphNode
{
    public GraphNode(int id, string name, Layer layer, GraphValue[] inputs)
    {
        Id = id;
        Name = name;
        Layer = layer;
        Inputs = inputs;
    }

    public int Id { get; }

    public string Name { get; }

    public Layer Layer { get; }

    public GraphValue[] Inputs { get; }

    public GraphValue[] Outputs { get; set; } = Array.Empty<GraphValue>();

    public bool IsLoss { get; init; }

    public override string ToString() => $"{Name} ({Layer.Describe()})";
}

/// <summary>A layer rejected its input shapes at compile time.</summary>
public sealed class ShapeMismatchException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public ShapeMismatchException(string layerName, string layer, IReadOnlyList<Shape> inputs, string reason, Exception? inner = null)
        : base($"Layer '{layerName}' ({layer}) cannot take input {string.Join(", ", inputs.Select(s => s.ToString()))}: {reason}", "inputShape", inner)
    {
        LayerName = layerName;
        InputShapes = inputs.ToArray();
    }

    /// <summary>Creates the exception (for serializers and analyzers).</summary>
    public ShapeMismatchException()
        : this(string.Empty, string.Empty, Array.Empty<Shape>(), string.Empty)
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public ShapeMismatchException(string message)
        : base(message)
    {
        LayerName = string.Empty;
        InputShapes = Array.Empty<Shape>();
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public ShapeMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
        LayerName = string.Empty;
        InputShapes = Array.Empty<Shape>();
    }

    /// <summary>The layer's path in the model (e.g. <c>4</c> or <c>3.1</c>).</summary>
    public string LayerName { get; }

    /// <summary>The shapes it was given.</summary>
    public IReadOnlyList<Shape> InputShapes { get; }
}

/// <summary>
/// Collects the nodes of a model while its modules <c>Build</c> themselves, inferring each node's output shapes
/// as it is added (so a mismatch names the first layer that rejects its input).
/// </summary>
public sealed class GraphBuilder
{
    private readonly Dictionary<Module, string> paths;
    private readonly Dictionary<Layer, int> uses = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, int> anonymous = new(StringComparer.Ordinal);

    internal GraphBuilder(Dictionary<Module, string> paths) => this.paths = paths;

    internal List<GraphNode> Nodes { get; } = new();

    internal List<GraphValue> Values { get; } = new();

    internal List<GraphValue> Inputs { get; } = new();

    /// <summary>The state-dict path of <paramref name="module"/> in the model being compiled ("" for the root), or null when it is not registered.</summary>
    public string? PathOf(Module module) => paths.TryGetValue(module, out var p) ? p : null;

    /// <summary>Builds a child module on <paramref name="inputs"/>.</summary>
    public GraphValue[] Call(Module module, params GraphValue[] inputs)
    {
        ArgumentNullException.ThrowIfNull(module);
        return module.Build(this, inputs);
    }

    /// <summary>
    /// Adds one node running <paramref name="layer"/> on <paramref name="inputs"/> and returns its outputs.
    /// <paramref name="scope"/> names layers that are not registered modules (such as a residual's addition):
    /// the node is called <c>scope.kind</c>.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The layer rejects the input shapes.</exception>
    public GraphValue[] AddNode(Layer layer, GraphValue[] inputs, string? scope = null)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(inputs);
        string name = NodeName(layer, scope);
        var shapes = inputs.Select(v => v.Shape).ToArray();
        if (inputs.Length != layer.InputCount)
        {
            throw new ShapeMismatchException(name, layer.Describe(), shapes, $"it takes {layer.InputCount} input(s) but was given {inputs.Length}.");
        }

        Shape[] outShapes;
        try
        {
            outShapes = layer.InferShapes(shapes);
        }
        catch (ArgumentException ex) when (ex is not ShapeMismatchException)
        {
            throw new ShapeMismatchException(name, layer.Describe(), shapes, ex.Message, ex);
        }

        var node = new GraphNode(Nodes.Count, name, layer, inputs) { IsLoss = layer is LossLayer };
        node.Outputs = outShapes.Select((s, i) => NewValue(s, node, i, outShapes.Length == 1 ? name : $"{name}:{i}")).ToArray();
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i].Consumers.Add((node, i));
        }

        Nodes.Add(node);
        return node.Outputs;
    }

    internal GraphValue AddInput(Shape shape, string name)
    {
        var v = new GraphValue(Values.Count, shape, null, 0, name) { GraphInputIndex = Inputs.Count };
        Values.Add(v);
        Inputs.Add(v);
        return v;
    }

    private GraphValue NewValue(Shape shape, GraphNode producer, int output, string name)
    {
        var v = new GraphValue(Values.Count, shape, producer, output, name);
        Values.Add(v);
        return v;
    }

    private string NodeName(Layer layer, string? scope)
    {
        if (layer is LossLayer)
        {
            return "loss";
        }

        string? path = PathOf(layer);
        string baseName;
        if (path is not null && (path.Length > 0 || scope is null))
        {
            baseName = path.Length == 0 ? layer.GetType().Name.ToLowerInvariant() : path;
        }
        else
        {
            string kind = layer.GetType().Name.ToLowerInvariant();
            string prefix = string.IsNullOrEmpty(scope) ? kind : scope + "." + kind;
            anonymous[prefix] = anonymous.TryGetValue(prefix, out int n) ? n + 1 : 1;
            baseName = anonymous[prefix] == 1 ? prefix : $"{prefix}{anonymous[prefix]}";
        }

        uses[layer] = uses.TryGetValue(layer, out int u) ? u + 1 : 1;
        return uses[layer] == 1 ? baseName : $"{baseName}#{uses[layer]}";
    }
}
