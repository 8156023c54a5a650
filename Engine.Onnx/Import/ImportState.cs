// The state of one import: the graph module being built, what is known about each ONNX value (a symbol with its
// shape, or a static value), which nodes read each value, and where the imported modules sit in the module tree.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Nn;
using Onnx;

namespace Engine.Onnx.Import;

/// <summary>Everything known while importing one model.</summary>
internal sealed class ImportState
{
    public ImportState(OnnxFile file, IReadOnlyList<NodeProto> nodes, IEnumerable<string> outputs)
    {
        File = file;
        Nodes = nodes;
        Outputs = outputs.ToHashSet(StringComparer.Ordinal);
        foreach (var n in nodes)
        {
            foreach (var i in n.Input.Where(i => i.Length > 0))
            {
                (Consumers.TryGetValue(i, out var l) ? l : Consumers[i] = new List<NodeProto>()).Add(n);
            }
        }

        Modules = new ModuleTree(this);
    }

    public OnnxFile File { get; }

    /// <summary>The nodes that the requested outputs need, in topological order.</summary>
    public IReadOnlyList<NodeProto> Nodes { get; }

    /// <summary>The ONNX values the imported model returns.</summary>
    public HashSet<string> Outputs { get; }

    public GraphModule Graph { get; } = new();

    public ModuleTree Modules { get; }

    /// <summary>Values known at import time (weights, constants, shape arithmetic).</summary>
    public Dictionary<string, StaticValue> Statics { get; } = new(StringComparer.Ordinal);

    /// <summary>Values known at import time, including shape arithmetic whose value needs the shapes of the forward pass.</summary>
    public HashSet<string> Known { get; } = new(StringComparer.Ordinal);

    /// <summary>Values computed by the model, as symbols of <see cref="Graph"/>.</summary>
    public Dictionary<string, Symbol> Symbols { get; } = new(StringComparer.Ordinal);

    /// <summary>The shape of each computed value with the file's batch size (or 1 where it is symbolic).</summary>
    public Dictionary<string, Shape> Shapes { get; } = new(StringComparer.Ordinal);

    /// <summary>The batch size shapes are computed with, and whether the file fixes it.</summary>
    public (int Size, bool Fixed) Batch { get; set; } = (1, false);

    /// <summary>The nodes reading each value.</summary>
    public Dictionary<string, List<NodeProto>> Consumers { get; } = new(StringComparer.Ordinal);

    /// <summary>An error naming the file and the node.</summary>
    public OnnxFormatException Error(NodeProto n, string what) => new($"{File.Source}: {OnnxFile.Describe(n)} {what}");

    public bool IsDynamic(string value) => Symbols.ContainsKey(value);

    /// <summary>The known value of input <paramref name="i"/> of <paramref name="n"/>.</summary>
    public StaticValue Static(NodeProto n, int i, string what) =>
        i < n.Input.Count && n.Input[i].Length > 0 && Statics.TryGetValue(n.Input[i], out var v) ? v
            : throw Error(n, $"needs its {what} (input {i}) to be a constant or initializer.");

    /// <summary>The float data of input <paramref name="i"/> (a weight or constant).</summary>
    public float[] Floats(NodeProto n, int i, string what) =>
        Static(n, i, what).Floats ?? throw Error(n, $"needs its {what} (input {i}) to be FLOAT.");

    /// <summary>The shape of computed input <paramref name="i"/>.</summary>
    public Shape Shape(NodeProto n, int i = 0) =>
        i < n.Input.Count && Shapes.TryGetValue(n.Input[i], out var s) ? s
            : throw Error(n, $"needs input {i} to be computed by the model, not a constant.");

    /// <summary>Whether <paramref name="n"/>'s outputs other than the first are unused.</summary>
    public bool OnlyFirstOutputUsed(NodeProto n) =>
        n.Output.Skip(1).All(o => o.Length == 0 || (!Consumers.ContainsKey(o) && !Outputs.Contains(o)));

    /// <summary>Adds <paramref name="layer"/> on the computed inputs and records its output's symbol and shape.</summary>
    public void Apply(NodeProto n, Layer layer, IReadOnlyList<string> inputs, string output)
    {
        var shapes = inputs.Select((v, i) => Shapes.TryGetValue(v, out var s) ? s : throw Error(n, $"needs input '{v}' to be computed by the model, not a constant.")).ToArray();
        Shape[] outs;
        try
        {
            outs = layer.InferShapes(shapes);
        }
        catch (ArgumentException ex)
        {
            throw new OnnxFormatException($"{File.Source}: {OnnxFile.Describe(n)} as {layer.Describe()} cannot take input {string.Join(", ", shapes.Select(s => s.ToString()))}: {ex.Message}", ex);
        }

        var args = inputs.Select(v => Symbols[v]).ToArray();
        Symbols[output] = Modules.IsRegistered(layer) ? Graph.Apply(layer, args) : Graph.Functional(layer, args);
        Shapes[output] = outs[0];
    }

    /// <summary>Makes <paramref name="output"/> the same value as <paramref name="input"/> (Identity, Dropout at inference).</summary>
    public void Alias(NodeProto n, string input, string output)
    {
        if (Statics.TryGetValue(input, out var v))
        {
            Statics[output] = v;
            return;
        }

        Symbols[output] = Symbols.TryGetValue(input, out var s) ? s : throw Error(n, $"reads '{input}', which is not computed.");
        Shapes[output] = Shapes[input];
    }
}
