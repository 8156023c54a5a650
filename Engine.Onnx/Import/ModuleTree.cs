// Where imported layers sit in the module tree, so that their parameters keep the initializers' names: a layer whose
// weights are the initializers "layer1.0.conv1.weight" and ".bias" is registered at layer1 -> 0 -> conv1 (scopes are
// plain containers). Initializers that are not state-dict names (PyTorch renames weights it folds, e.g.
// onnx::Conv_21) are named after the node's module scope (/layer1/0/conv1/Conv), else after the node.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Nn;
using Onnx;

namespace Engine.Onnx.Import;

/// <summary>One parameter or buffer of an imported layer: its local name, the ONNX value holding it, its data.</summary>
internal sealed record ParamValue(string Local, string Value, float[] Data);

/// <summary>A module that only names its children (a PyTorch submodule whose own forward is not in the graph).</summary>
internal sealed class ImportScope : Module
{
    public T Add<T>(string name, T module) where T : Module => AddChild(name, module);

    /// <inheritdoc />
    public override string Describe() => "Scope";

    /// <inheritdoc />
    protected override GraphValue[] Build(GraphBuilder builder, GraphValue[] inputs) =>
        throw new InvalidOperationException("An imported scope names modules; it is not applied itself.");
}

/// <summary>Registers imported layers under paths derived from their initializers' names and collects their values.</summary>
internal sealed class ModuleTree(ImportState state)
{
    private readonly Dictionary<string, Layer> byWeight = new(StringComparer.Ordinal);
    private readonly HashSet<Layer> registered = new(ReferenceEqualityComparer.Instance);

    /// <summary>Every parameter and buffer value by full state-dict name.</summary>
    public Dictionary<string, float[]> Values { get; } = new(StringComparer.Ordinal);

    public bool IsRegistered(Layer layer) => registered.Contains(layer);

    /// <summary>
    /// Registers <paramref name="layer"/> holding <paramref name="parameters"/> and returns it, or returns the layer
    /// already registered for the same weight initializer (a module applied twice shares its weights).
    /// </summary>
    public Layer Place(NodeProto node, Layer layer, IReadOnlyList<ParamValue> parameters)
    {
        if (parameters.Count == 0)
        {
            return layer;
        }

        if (byWeight.TryGetValue(parameters[0].Value, out var existing))
        {
            return existing.GetType() == layer.GetType() && existing.Describe() == layer.Describe() ? existing
                : throw state.Error(node, $"uses weight '{parameters[0].Value}' of a {existing.Describe()} as a {layer.Describe()}.");
        }

        string path = Register(node, layer, StateDictPath(parameters) ?? ScopePath(node) ?? Sanitize(node.Name.Length > 0 ? node.Name : node.OpType));
        foreach (var p in parameters)
        {
            Values[path + "." + p.Local] = p.Data;
        }

        byWeight[parameters[0].Value] = layer;
        registered.Add(layer);
        return layer;
    }

    // "P.weight", "P.bias", ... with one P for every parameter.
    private static string? StateDictPath(IReadOnlyList<ParamValue> ps)
    {
        string? prefix = null;
        foreach (var p in ps)
        {
            string suffix = "." + p.Local;
            if (!p.Value.EndsWith(suffix, StringComparison.Ordinal) || p.Value.Length == suffix.Length)
            {
                return null;
            }

            string pre = p.Value[..^suffix.Length];
            if (prefix is not null && pre != prefix)
            {
                return null;
            }

            prefix = pre;
        }

        return prefix is not null && prefix.Split('.').All(s => s.Length > 0) ? prefix : null;
    }

    // PyTorch 1.13 names nodes after their module scope, a container's children by "container.index":
    // "/layer1/layer1.0/conv1/Conv" is in layer1.0.conv1, "/features/features.0/Conv" in features.0.
    private static string? ScopePath(NodeProto n)
    {
        if (!n.Name.StartsWith('/'))
        {
            return null;
        }

        var segments = n.Name.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var path = new List<string>();
        foreach (var seg in segments[..^1])
        {
            bool child = path.Count > 0 && seg.StartsWith(path[^1] + ".", StringComparison.Ordinal);
            path.Add(Sanitize(child ? seg[(path[^1].Length + 1)..] : seg));
        }

        return path.Count == 0 ? null : string.Join(".", path);
    }

    private static string Sanitize(string name)
    {
        var s = new string(name.Select(c => c is '.' or '/' or ':' ? '_' : c).ToArray()).Trim('_');
        return s.Length == 0 ? "node" : s;
    }

    // Walks (creating) the scopes of path; the leaf takes the last segment, or that segment with _2, _3, ... when it is
    // taken. A segment taken by a layer ends the walk there (the rest joins into one name).
    private string Register(NodeProto node, Layer layer, string path)
    {
        var segments = path.Split('.');
        Module parent = state.Graph;
        var used = new List<string>();
        for (int i = 0; i < segments.Length - 1; i++)
        {
            var child = parent.Children.FirstOrDefault(c => c.Name == segments[i]).Module;
            if (child is null)
            {
                child = Add(parent, segments[i], new ImportScope());
            }
            else if (child is not ImportScope)
            {
                segments = [.. segments[..i], string.Join("_", segments[i..])];
                break;
            }

            parent = child;
            used.Add(segments[i]);
        }

        string leaf = segments[^1];
        for (int k = 2; parent.Children.Any(c => c.Name == leaf); k++)
        {
            leaf = $"{segments[^1]}_{k}";
        }

        Add(parent, leaf, layer);
        used.Add(leaf);
        return string.Join(".", used);
    }

    private static Module Add(Module parent, string name, Module child) => parent switch
    {
        GraphModule g => g.Register(name, child),
        ImportScope s => s.Add(name, child),
        _ => throw new InvalidOperationException($"cannot add '{name}' under {parent.Describe()}."),
    };
}
