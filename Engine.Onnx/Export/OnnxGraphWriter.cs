// Builds an ONNX GraphProto node by node: unique node and value names under a scope (as PyTorch names them,
// "/0/Gemm" and "/0/Gemm_output_0"), Constant nodes for scalars and shapes, and attributes.
using System;
using System.Collections.Generic;
using System.Linq;
using Google.Protobuf;
using Onnx;

namespace Engine.Onnx.Export;

/// <summary>Appends nodes, constants and initializers to one ONNX graph with unique names.</summary>
internal sealed class OnnxGraphWriter
{
    private readonly HashSet<string> names = new(StringComparer.Ordinal);

    public OnnxGraphWriter(string name) => Graph = new GraphProto { Name = name };

    /// <summary>The graph being written.</summary>
    public GraphProto Graph { get; }

    /// <summary>Adds a node of <paramref name="op"/> under <paramref name="scope"/> and returns its output's name.</summary>
    public string Node(string scope, string op, IEnumerable<string> inputs, params AttributeProto[] attributes) =>
        Nodes(scope, op, 1, inputs, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputs"/> outputs and returns their names.</summary>
    public string[] Nodes(string scope, string op, int outputs, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        string name = Unique($"{scope}/{op}");
        var node = new NodeProto { Name = name, OpType = op };
        node.Input.AddRange(inputs);
        var outs = Enumerable.Range(0, outputs).Select(i => Unique($"{name}_output_{i}")).ToArray();
        node.Output.AddRange(outs);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return outs;
    }

    /// <summary>A float scalar (0-D tensor) from a Constant node, as PyTorch writes its scalars.</summary>
    public string Scalar(string scope, float value) => Constant(scope, new TensorProto { DataType = (int)TensorProto.Types.DataType.Float, FloatData = { value } });

    /// <summary>A float tensor from a Constant node.</summary>
    public string Floats(string scope, long[] dims, float[] values)
    {
        var t = new TensorProto { DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims);
        t.FloatData.AddRange(values);
        return Constant(scope, t);
    }

    /// <summary>A 1-D int64 tensor (a shape, pads) from a Constant node.</summary>
    public string Int64s(string scope, params long[] values)
    {
        var t = new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64, Dims = { values.LongLength } };
        t.Int64Data.AddRange(values);
        return Constant(scope, t);
    }

    /// <summary>Adds an initializer (a parameter or buffer under its state-dict name) holding float32 data.</summary>
    public void Initializer(string name, Shape shape, float[] data)
    {
        if (!names.Add(name))
        {
            throw new InvalidOperationException($"ONNX export: the name '{name}' is used twice.");
        }

        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(LittleEndian(data)) };
        t.Dims.AddRange(shape.Select(d => (long)d));
        Graph.Initializer.Add(t);
    }

    /// <summary>Reserves a name that nodes must not take (graph inputs and outputs).</summary>
    public void Reserve(string name)
    {
        if (!names.Add(name))
        {
            throw new ArgumentException($"ONNX export: the name '{name}' is used twice.", nameof(name));
        }
    }

    /// <summary>Renames a value everywhere it appears (to give a graph output its chosen name).</summary>
    public void Rename(string from, string to)
    {
        foreach (var n in Graph.Node)
        {
            for (int i = 0; i < n.Output.Count; i++)
            {
                if (n.Output[i] == from)
                {
                    n.Output[i] = to;
                }
            }

            for (int i = 0; i < n.Input.Count; i++)
            {
                if (n.Input[i] == from)
                {
                    n.Input[i] = to;
                }
            }
        }
    }

    /// <summary>Whether a node writes <paramref name="value"/>.</summary>
    public bool IsNodeOutput(string value) => Graph.Node.Any(n => n.Output.Contains(value));

    public static AttributeProto Attr(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Attr(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Attr(string name, string value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    /// <summary>A tensor type with a symbolic first dimension (the batch) and fixed others.</summary>
    public static ValueInfoProto Value(string name, Shape shape, string batchName)
    {
        var s = new TensorShapeProto();
        for (int i = 0; i < shape.Rank; i++)
        {
            s.Dim.Add(i == 0 && batchName.Length > 0 ? new TensorShapeProto.Types.Dimension { DimParam = batchName } : new TensorShapeProto.Types.Dimension { DimValue = shape[i] });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = s } },
        };
    }

    private static byte[] LittleEndian(float[] data)
    {
        var bytes = new byte[checked(data.Length * 4)];
        for (int i = 0; i < data.Length; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), data[i]);
        }

        return bytes;
    }

    private string Constant(string scope, TensorProto value)
    {
        var attr = new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = value };
        return Node(scope, "Constant", [], attr);
    }

    private string Unique(string name)
    {
        if (names.Add(name))
        {
            return name;
        }

        for (int k = 1; ; k++)
        {
            string n = $"{name}_{k}";
            if (names.Add(n))
            {
                return n;
            }
        }
    }
}
