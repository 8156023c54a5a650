// Public entry point of ONNX export: a compiled model's graph (without its loss) becomes an ONNX model at opset 17
// with a dynamic batch dimension, its parameters and buffers as initializers under their state-dict names, in
// evaluation mode. The file is written atomically (a temporary file moved into place).
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using Engine.Nn;
using Engine.Onnx.Export;
using Google.Protobuf;
using Onnx;

namespace Engine.Onnx;

/// <summary>Settings of <see cref="OnnxExporter.Export(CompiledModel, string, OnnxExportOptions?)"/>.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>Names of the graph inputs (default <c>input</c>, <c>input1</c>, ...).</summary>
    public IReadOnlyList<string>? InputNames { get; init; }

    /// <summary>Names of the graph outputs (default <c>output</c>, <c>output1</c>, ...).</summary>
    public IReadOnlyList<string>? OutputNames { get; init; }

    /// <summary>The name of the first (batch) dimension of every input and output; empty fixes it to the compiled batch.</summary>
    public string BatchDimension { get; init; } = "batch";

    /// <summary>Key-value pairs stored in the model's <c>metadata_props</c> (e.g. the input normalization).</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>
/// Writes compiled models as ONNX (opset <see cref="Opset"/>, IR version <see cref="IrVersion"/>), for ONNX Runtime
/// and other runtimes. Every layer of <see cref="Engine.Nn"/> and every activation of the activation table has an ONNX
/// form; the model is written in evaluation mode whatever its current mode.
/// </summary>
public static class OnnxExporter
{
    /// <summary>The opset of exported models (the default ONNX domain).</summary>
    public const int Opset = 17;

    /// <summary>The ONNX IR version of exported models (ONNX 1.12).</summary>
    public const int IrVersion = 8;

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> (replacing it atomically).</summary>
    /// <exception cref="NotSupportedException">A layer or activation has no ONNX form; the message names it.</exception>
    /// <exception cref="ArgumentException">The options name too few inputs or outputs, or a name twice.</exception>
    public static void Export(CompiledModel model, string path, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var bytes = ToBytes(model, options);
        string full = Path.GetFullPath(path);
        string tmp = Path.Combine(Path.GetDirectoryName(full) ?? ".", $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllBytes(tmp, bytes);
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp))
            {
                File.Delete(tmp);
            }
        }
    }

    /// <summary>The ONNX model of <paramref name="model"/> as bytes (a serialized <c>ModelProto</c>).</summary>
    /// <exception cref="NotSupportedException">A layer or activation has no ONNX form; the message names it.</exception>
    public static byte[] ToBytes(CompiledModel model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new OnnxExportOptions();
        var graph = model.Graph;
        var inNames = Names(options.InputNames, graph.Inputs.Count, "input", nameof(options.InputNames));
        var outNames = Names(options.OutputNames, graph.Outputs.Count, "output", nameof(options.OutputNames));
        var w = new OnnxGraphWriter("engine");
        var values = new Dictionary<GraphValue, string>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < graph.Inputs.Count; i++)
        {
            w.Reserve(inNames[i]);
            values[graph.Inputs[i]] = inNames[i];
            w.Graph.Input.Add(OnnxGraphWriter.Value(inNames[i], graph.Inputs[i].Shape, options.BatchDimension));
        }

        foreach (var n in outNames)
        {
            w.Reserve(n);
        }

        WriteInitializers(w, model);
        foreach (var node in graph.Nodes)
        {
            var outs = LayerExport.Emit(new LayerContext(w, node, node.Inputs.Select(v => values[v]).ToArray()));
            for (int i = 0; i < outs.Length; i++)
            {
                values[node.Outputs[i]] = outs[i];
            }
        }

        NameOutputs(w, graph, values, outNames, options.BatchDimension);
        var proto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "Engine",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0",
            Graph = w.Graph,
            OpsetImport = { new OperatorSetIdProto { Domain = string.Empty, Version = Opset } },
        };
        foreach (var (k, v) in options.Metadata ?? new Dictionary<string, string>())
        {
            proto.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        }

        return proto.ToByteArray();
    }

    // Every parameter and buffer (running statistics), in state-dict order.
    private static void WriteInitializers(OnnxGraphWriter w, CompiledModel model)
    {
        if (model.HasParameters)
        {
            foreach (var p in model.Parameters)
            {
                w.Initializer(p.Name, p.Shape, p.Value.ToArray());
            }
        }

        foreach (var b in model.Buffers)
        {
            w.Initializer(b.Name, b.Value.Shape, b.Value.ToArray());
        }
    }

    // Graph outputs take their chosen names: the producing node's output is renamed, or an Identity is added where
    // the value is an input, an initializer or another output already.
    private static void NameOutputs(OnnxGraphWriter w, ModelGraph graph, Dictionary<GraphValue, string> values, string[] names, string batch)
    {
        var taken = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < graph.Outputs.Count; i++)
        {
            string v = values[graph.Outputs[i]];
            if (w.IsNodeOutput(v) && !taken.Contains(v))
            {
                w.Rename(v, names[i]);
                foreach (var key in values.Where(kv => kv.Value == v).Select(kv => kv.Key).ToList())
                {
                    values[key] = names[i];
                }
            }
            else
            {
                var node = new NodeProto { Name = $"/output{i}/Identity", OpType = "Identity", Input = { v }, Output = { names[i] } };
                w.Graph.Node.Add(node);
            }

            taken.Add(names[i]);
            w.Graph.Output.Add(OnnxGraphWriter.Value(names[i], graph.Outputs[i].Shape, batch));
        }
    }

    private static string[] Names(IReadOnlyList<string>? given, int count, string stem, string option)
    {
        if (given is null)
        {
            return Enumerable.Range(0, count).Select(i => i == 0 ? stem : stem + i).ToArray();
        }

        if (given.Count != count || given.Distinct(StringComparer.Ordinal).Count() != count || given.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException($"ONNX export: {option} must give {count} distinct non-empty names, got [{string.Join(", ", given)}].", option);
        }

        return given.ToArray();
    }
}
