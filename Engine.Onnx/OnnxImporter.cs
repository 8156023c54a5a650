// Public entry point of ONNX import: a model as torch.onnx.export writes it (eval mode, opsets 13 to 17) becomes a
// trainable GraphModule of engine layers whose parameters are the initializers, under the same names. The import
// runs in three passes over the nodes in topological order: known values (constants, shape arithmetic), then
// primitive sequences matched backwards from their last node, then one layer per node or matched sequence.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Nn;
using Engine.Onnx.Import;
using Onnx;

namespace Engine.Onnx;

/// <summary>Settings of <see cref="OnnxImporter.Load(string, OnnxImportOptions?)"/>.</summary>
public sealed record OnnxImportOptions
{
    /// <summary>
    /// The ONNX values the imported model returns instead of the graph's outputs (e.g. the features before a
    /// classifier head, to put a new head on them); only the nodes they need are imported.
    /// </summary>
    public IReadOnlyList<string>? Outputs { get; init; }

    /// <summary>The largest file read, in bytes (default 2 GiB, protobuf's own limit).</summary>
    public long MaxBytes { get; init; } = int.MaxValue;
}

/// <summary>
/// Reads ONNX models written by <c>torch.onnx.export</c> (eval mode, opsets 13 to 17) or by <see cref="OnnxExporter"/>
/// into a <see cref="GraphModule"/> of engine layers, trainable like any other: its parameters and buffers are the
/// initializers, under the same names where they are state-dict names, and take those values when the module is first
/// compiled (<see cref="Module.SetInitialValues"/>). Files are untrusted: malformed or hostile ones (truncated, absurd
/// sizes, cycles, unsupported data types, external data) give an <see cref="OnnxFormatException"/> naming the file.
/// </summary>
public static class OnnxImporter
{
    /// <summary>Every ONNX op type the importer reads (alone or inside the sequences PyTorch writes for a layer).</summary>
    public static IReadOnlyList<string> SupportedOps { get; } = NodeRules.All.Keys.Concat(PatternRules.Ops).Concat(StaticValues.Ops)
        .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    /// <summary>Imports the model in the file at <paramref name="path"/>.</summary>
    /// <exception cref="OnnxFormatException">The file is malformed or uses something the importer does not read; the message says what.</exception>
    /// <exception cref="System.IO.FileNotFoundException">The file does not exist.</exception>
    public static GraphModule Load(string path, OnnxImportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= new OnnxImportOptions();
        return Import(OnnxFile.Read(path, options.MaxBytes), options);
    }

    /// <summary>Imports a model from its bytes; <paramref name="source"/> names it in messages.</summary>
    /// <exception cref="OnnxFormatException">The bytes are malformed or use something the importer does not read.</exception>
    public static GraphModule Load(byte[] model, string source, OnnxImportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new OnnxImportOptions();
        if (model.LongLength > options.MaxBytes)
        {
            throw new OnnxFormatException($"{source}: {model.LongLength} bytes, over the {options.MaxBytes}-byte limit.");
        }

        return Import(OnnxFile.Parse(model, source ?? "ONNX data"), options);
    }

    private static GraphModule Import(OnnxFile file, OnnxImportOptions options)
    {
        var outputs = options.Outputs ?? file.Graph.Output.Select(o => o.Name).ToList();
        if (outputs.Count == 0)
        {
            throw new OnnxFormatException($"{file.Source}: the model has no outputs.");
        }

        var s = new ImportState(file, Needed(file, outputs), outputs);
        try
        {
            DeclareInputs(s);
            KnownValues(s);
            var (roots, covered) = MatchSequences(s);
            foreach (var n in s.Nodes)
            {
                Build(s, n, roots, covered);
            }

            s.Graph.Output(outputs.Select(o => s.Symbols.TryGetValue(o, out var sym) ? sym
                : throw new OnnxFormatException($"{file.Source}: output '{o}' is {(s.Known.Contains(o) ? "a constant" : "not computed by the model")}; outputs must be computed from the inputs.")).ToArray());
            s.Graph.SetInitialValues(s.Modules.Values);
            return s.Graph;
        }
        catch
        {
            s.Graph.Dispose();
            throw;
        }
    }

    // The nodes the outputs depend on, in topological order.
    private static List<NodeProto> Needed(OnnxFile file, IReadOnlyList<string> outputs)
    {
        var need = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<string>();
        foreach (var o in outputs)
        {
            if (!file.Producers.ContainsKey(o) && !file.Graph.Input.Any(i => i.Name == o))
            {
                throw new OnnxFormatException($"{file.Source}: output '{o}' names no value of the graph.");
            }

            stack.Push(o);
        }

        while (stack.Count > 0)
        {
            if (file.Producers.TryGetValue(stack.Pop(), out var n) && need.Add(n))
            {
                foreach (var i in n.Input.Where(i => i.Length > 0))
                {
                    stack.Push(i);
                }
            }
        }

        return file.Order.Where(need.Contains).ToList();
    }

    // Graph inputs: float32 tensors, batch first; every other dimension fixed.
    private static void DeclareInputs(ImportState s)
    {
        var read = s.Nodes.SelectMany(n => n.Input).Concat(s.Outputs).ToHashSet(StringComparer.Ordinal);
        foreach (var input in s.File.Inputs.Where(i => read.Contains(i.Name)))
        {
            var t = input.Type?.TensorType;
            if (t is null || t.ElemType != (int)TensorProto.Types.DataType.Float || t.Shape is null || t.Shape.Dim.Count == 0)
            {
                throw new OnnxFormatException($"{s.File.Source}: input '{input.Name}' is not a float32 tensor with a known rank.");
            }

            var dims = t.Shape.Dim;
            if (dims.Skip(1).Any(d => !d.HasDimValue || d.DimValue <= 0 || d.DimValue > int.MaxValue))
            {
                throw new OnnxFormatException($"{s.File.Source}: input '{input.Name}' has dimensions [{string.Join(", ", dims.Select(d => d.HasDimValue ? d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture) : d.DimParam))}]; all but the first (batch) must be fixed.");
            }

            if (s.Symbols.Count == 0 && dims[0].HasDimValue && dims[0].DimValue is > 0 and <= int.MaxValue)
            {
                s.Batch = ((int)dims[0].DimValue, true);
            }

            s.Symbols[input.Name] = s.Graph.Input(input.Name);
            s.Shapes[input.Name] = new Shape(dims.Select((d, i) => i == 0 ? s.Batch.Size : (int)d.DimValue).ToArray());
        }
    }

    // Initializers, constants and shape arithmetic; Shape's value waits for the input's shape (the build pass).
    private static void KnownValues(ImportState s)
    {
        foreach (var (name, t) in s.File.Initializers)
        {
            string where = $"{s.File.Source}: initializer '{name}'";
            if (s.Consumers.ContainsKey(name))
            {
                var dims = TensorData.Dims(t, where);
                s.Statics[name] = TensorData.IsFloat(t) ? StaticValue.Of(dims, TensorData.Floats(t, where))
                    : StaticValue.Of(dims, TensorData.Int64s(t, where).Select(v => (long?)v).ToArray());
                s.Known.Add(name);
            }
        }

        foreach (var n in s.Nodes.Where(n => StaticValues.Ops.Contains(n.OpType)))
        {
            bool inputsKnown = n.Input.All(i => i.Length == 0 || s.Known.Contains(i));
            if (n.OpType == "Shape" || inputsKnown)
            {
                if (inputsKnown && n.Input.All(i => i.Length == 0 || s.Statics.ContainsKey(i)) && StaticValues.TryEvaluate(s, n) is { } v)
                {
                    s.Statics[n.Output[0]] = v;
                }

                s.Known.UnionWith(n.Output.Where(o => o.Length > 0));
            }
        }
    }

    // Backwards from the outputs, each node not yet claimed tries the patterns that end in its op type.
    private static (Dictionary<NodeProto, Action> Roots, HashSet<NodeProto> Covered) MatchSequences(ImportState s)
    {
        var roots = new Dictionary<NodeProto, Action>(ReferenceEqualityComparer.Instance);
        var covered = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        foreach (var n in s.Nodes.Reverse())
        {
            if (covered.Contains(n) || n.Output.All(s.Known.Contains))
            {
                continue;
            }

            foreach (var rule in PatternRules.ForRoot(n.OpType))
            {
                if (Matcher.TryMatch(s, rule.Pattern, n, covered) is { } m && rule.Accept(s, m) is { } build)
                {
                    roots[n] = build;
                    covered.UnionWith(m.Covered);
                    break;
                }
            }
        }

        return (roots, covered);
    }

    private static void Build(ImportState s, NodeProto n, Dictionary<NodeProto, Action> roots, HashSet<NodeProto> covered)
    {
        try
        {
            if (n.Output.All(s.Known.Contains))
            {
                if (!s.Statics.ContainsKey(n.Output[0]))
                {
                    s.Statics[n.Output[0]] = StaticValues.TryEvaluate(s, n) ?? throw s.Error(n, "computes a shape the importer cannot evaluate.");
                }
            }
            else if (roots.TryGetValue(n, out var build))
            {
                build();
            }
            else if (covered.Contains(n))
            {
                // Part of a sequence built at its last node.
            }
            else if (NodeRules.All.TryGetValue(n.OpType, out var rule))
            {
                rule(s, n);
            }
            else
            {
                var layers = PatternRules.LayersUsing(n.OpType);
                throw s.Error(n, layers.Count > 0
                    ? $"is read only inside the sequences PyTorch writes for {string.Join(", ", layers)}, and this one matches none of them (supported node types: {string.Join(", ", SupportedOps)})."
                    : StaticValues.Ops.Contains(n.OpType)
                    ? $"is read only on values known at import time (constants, shape arithmetic), and here it reads a computed tensor (supported node types: {string.Join(", ", SupportedOps)})."
                    : $"is not supported; supported node types: {string.Join(", ", SupportedOps)}.");
            }
        }
        catch (ArgumentException ex)
        {
            throw new OnnxFormatException($"{s.File.Source}: {OnnxFile.Describe(n)} cannot be built: {ex.Message}", ex);
        }
    }
}
