// Reads an ONNX file as untrusted input: size and recursion limits on the protobuf parse, the opset and IR version
// checked, every initializer's storage and size checked, every node input defined, and the nodes put in topological
// order (a cycle is an error naming its nodes). Everything after this works on a well-formed graph.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Google.Protobuf;
using Onnx;

namespace Engine.Onnx.Import;

/// <summary>A parsed, validated ONNX model: its graph, opset, initializers and nodes in topological order.</summary>
internal sealed class OnnxFile
{
    /// <summary>The opsets of the default domain the importer reads.</summary>
    public const int MinOpset = 13, MaxOpset = 17;

    /// <summary>Most nodes accepted in one graph.</summary>
    public const int MaxNodes = 1_000_000;

    private OnnxFile(string source, ModelProto model, int opset, Dictionary<string, TensorProto> initializers, NodeProto[] order, Dictionary<string, NodeProto> producers)
    {
        Source = source;
        Model = model;
        Opset = opset;
        Initializers = initializers;
        Order = order;
        Producers = producers;
    }

    /// <summary>Where the model came from (a path), for messages.</summary>
    public string Source { get; }

    public ModelProto Model { get; }

    public GraphProto Graph => Model.Graph;

    public int Opset { get; }

    /// <summary>Initializers by name.</summary>
    public IReadOnlyDictionary<string, TensorProto> Initializers { get; }

    /// <summary>The nodes, each after every node it reads from.</summary>
    public IReadOnlyList<NodeProto> Order { get; }

    /// <summary>The node writing each value.</summary>
    public IReadOnlyDictionary<string, NodeProto> Producers { get; }

    /// <summary>The graph inputs that are not initializers (older exporters list initializers as inputs too).</summary>
    public IEnumerable<ValueInfoProto> Inputs => Graph.Input.Where(i => !Initializers.ContainsKey(i.Name));

    /// <summary>"node '/0/Conv' (Conv)" for messages.</summary>
    public static string Describe(NodeProto n) => $"node '{(n.Name.Length > 0 ? n.Name : n.Output.FirstOrDefault() ?? "?")}' ({n.OpType})";

    /// <summary>Reads and validates a file of at most <paramref name="maxBytes"/> bytes.</summary>
    public static OnnxFile Read(string path, long maxBytes)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"ONNX model '{path}' does not exist.", path);
        }

        if (info.Length > maxBytes)
        {
            throw new OnnxFormatException($"{path}: the file is {info.Length} bytes, over the {maxBytes}-byte limit (OnnxImportOptions.MaxBytes).");
        }

        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses and validates the bytes of a model.</summary>
    public static OnnxFile Parse(byte[] bytes, string source)
    {
        if (bytes.Length == 0)
        {
            throw new OnnxFormatException($"{source}: the file is empty.");
        }

        ModelProto model;
        try
        {
            using var input = CodedInputStream.CreateWithLimits(new MemoryStream(bytes, writable: false), bytes.Length, 64);
            model = ModelProto.Parser.ParseFrom(input);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new OnnxFormatException($"{source}: not a valid ONNX model (truncated, corrupt or another format): {ex.Message}", ex);
        }

        if (model.Graph is null)
        {
            throw new OnnxFormatException($"{source}: the model has no graph (truncated, corrupt or not an ONNX model).");
        }

        if (model.IrVersion < 7 || model.IrVersion > 10)
        {
            throw new OnnxFormatException($"{source}: IR version {model.IrVersion} is not read; the importer reads IR versions 7 to 10 (opsets {MinOpset} to {MaxOpset}).");
        }

        int opset = ReadOpset(model, source);
        if (model.Graph.Node.Count > MaxNodes)
        {
            throw new OnnxFormatException($"{source}: {model.Graph.Node.Count} nodes, over the limit of {MaxNodes}.");
        }

        if (model.Graph.SparseInitializer.Count > 0)
        {
            throw new OnnxFormatException($"{source}: sparse initializers are not read.");
        }

        var inits = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var t in model.Graph.Initializer)
        {
            string where = $"{source}: initializer '{t.Name}'";
            if (t.Name.Length == 0 || !inits.TryAdd(t.Name, t))
            {
                throw new OnnxFormatException($"{where} has an empty or repeated name.");
            }

            TensorData.CheckStorage(t, where);
            TensorData.Dims(t, where);
        }

        var (order, producers) = Sort(model.Graph, inits, source);
        return new OnnxFile(source, model, opset, inits, order, producers);
    }

    private static int ReadOpset(ModelProto model, string source)
    {
        var ids = model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").ToList();
        if (ids.Count != 1)
        {
            throw new OnnxFormatException($"{source}: the model imports the default ONNX opset {ids.Count} times; expected once.");
        }

        long v = ids[0].Version;
        return v is >= MinOpset and <= MaxOpset ? (int)v
            : throw new OnnxFormatException($"{source}: opset {v} is not read; the importer reads opsets {MinOpset} to {MaxOpset} (torch.onnx.export(..., opset_version=13 to 17)).");
    }

    // Kahn's algorithm over values: a node is ready when every input it names is a graph input, an initializer or the
    // output of a node already placed. What is left at the end lies on a cycle or reads an undefined value.
    private static (NodeProto[] Order, Dictionary<string, NodeProto> Producers) Sort(GraphProto g, Dictionary<string, TensorProto> inits, string source)
    {
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        var defined = new HashSet<string>(g.Input.Select(i => i.Name).Concat(inits.Keys), StringComparer.Ordinal);
        foreach (var n in g.Node)
        {
            if (n.Domain is not ("" or "ai.onnx"))
            {
                throw new OnnxFormatException($"{source}: {Describe(n)} is in domain '{n.Domain}'; the importer reads the default ONNX domain only.");
            }

            foreach (var o in n.Output.Where(o => o.Length > 0))
            {
                if (defined.Contains(o) || !producers.TryAdd(o, n))
                {
                    throw new OnnxFormatException($"{source}: value '{o}' is written twice (by {Describe(n)} and another node, input or initializer).");
                }
            }
        }

        var pending = new Dictionary<NodeProto, int>(ReferenceEqualityComparer.Instance);
        var waiting = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        var ready = new Queue<NodeProto>();
        foreach (var n in g.Node)
        {
            int count = 0;
            foreach (var i in n.Input.Where(i => i.Length > 0).Distinct(StringComparer.Ordinal))
            {
                if (defined.Contains(i))
                {
                    continue;
                }

                if (!producers.ContainsKey(i))
                {
                    throw new OnnxFormatException($"{source}: {Describe(n)} reads '{i}', which no node, graph input or initializer defines.");
                }

                count++;
                (waiting.TryGetValue(i, out var l) ? l : waiting[i] = new List<NodeProto>()).Add(n);
            }

            pending[n] = count;
            if (count == 0)
            {
                ready.Enqueue(n);
            }
        }

        var order = new List<NodeProto>(g.Node.Count);
        while (ready.Count > 0)
        {
            var n = ready.Dequeue();
            order.Add(n);
            foreach (var o in n.Output.Where(o => o.Length > 0))
            {
                foreach (var c in waiting.TryGetValue(o, out var l) ? l : [])
                {
                    if (--pending[c] == 0)
                    {
                        ready.Enqueue(c);
                    }
                }
            }
        }

        if (order.Count != g.Node.Count)
        {
            var stuck = g.Node.Where(n => pending[n] > 0).Take(8).Select(Describe);
            throw new OnnxFormatException($"{source}: the graph has a cycle through {string.Join(", ", stuck)}{(g.Node.Count - order.Count > 8 ? ", ..." : string.Empty)}.");
        }

        foreach (var o in g.Output)
        {
            if (!producers.ContainsKey(o.Name) && !defined.Contains(o.Name))
            {
                throw new OnnxFormatException($"{source}: graph output '{o.Name}' is not defined by any node, input or initializer.");
            }
        }

        return (order.ToArray(), producers);
    }
}
