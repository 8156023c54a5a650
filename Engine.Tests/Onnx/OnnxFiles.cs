// Hand-built ONNX models for the import tests (well-formed and hostile), from the generated onnx.proto classes.
using System.Collections.Generic;
using Google.Protobuf;
using Onnx;

namespace Engine.Tests.Onnx;

internal static class OnnxFiles
{
    /// <summary>A model with input x [batch, 4] and output y [batch, 4] running <paramref name="nodes"/>.</summary>
    public static ModelProto Model(long opset, params NodeProto[] nodes)
    {
        var g = new GraphProto { Name = "test" };
        g.Input.Add(Value("x", 4));
        g.Output.Add(Value("y", 4));
        g.Node.AddRange(nodes);
        return new ModelProto { IrVersion = 8, Graph = g, OpsetImport = { new OperatorSetIdProto { Domain = string.Empty, Version = opset } } };
    }

    public static NodeProto Node(string name, string op, IEnumerable<string> inputs, IEnumerable<string> outputs, params AttributeProto[] attributes)
    {
        var n = new NodeProto { Name = name, OpType = op };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        n.Attribute.AddRange(attributes);
        return n;
    }

    public static ValueInfoProto Value(string name, long features, int elemType = (int)TensorProto.Types.DataType.Float) => new()
    {
        Name = name,
        Type = new TypeProto
        {
            TensorType = new TypeProto.Types.Tensor
            {
                ElemType = elemType,
                Shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimParam = "batch" }, new TensorShapeProto.Types.Dimension { DimValue = features } } },
            },
        },
    };

    /// <summary>A float initializer with raw data of <paramref name="count"/> floats (whatever the dims claim).</summary>
    public static TensorProto Floats(string name, long[] dims, int count)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(new byte[4 * count]) };
        t.Dims.AddRange(dims);
        return t;
    }

    /// <summary>A Gemm model y = x W^T + b with W [4, 4] and b [4] (both zero).</summary>
    public static ModelProto Gemm(TensorProto? weight = null, TensorProto? bias = null)
    {
        var m = Model(13, Node("/fc/Gemm", "Gemm", ["x", "fc.weight", "fc.bias"], ["y"], new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 }));
        m.Graph.Initializer.Add(weight ?? Floats("fc.weight", [4, 4], 16));
        m.Graph.Initializer.Add(bias ?? Floats("fc.bias", [4], 4));
        return m;
    }
}
