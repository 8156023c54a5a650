// Untrusted ONNX files: truncated, corrupt, absurd sizes, data that does not match its header, cycles, unsupported
// dtypes, external data, deep nesting. Each gives an OnnxFormatException naming the file and what is wrong, without
// crashing, hanging or allocating what the file claims.
using System;
using System.IO;
using System.Linq;
using Engine.Nn;
using Engine.Onnx;
using Engine.Tests.Infrastructure;
using Google.Protobuf;
using NUnit.Framework;
using Onnx;

namespace Engine.Tests.Onnx;

public sealed class OnnxHostileFileTests
{
    private static Device Host => TestDevices.Get(new DeviceConfig("cpu-host", DeviceKind.Cpu, ForceKernels: false));

    private static string Fails(byte[] bytes, string source = "bad.onnx")
    {
        var ex = Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(bytes, source).Dispose())!;
        Assert.That(ex.Message, Does.StartWith(source + ":"));
        return ex.Message;
    }

    [Test]
    public void The_well_formed_base_model_imports()
    {
        using var m = OnnxImporter.Load(OnnxFiles.Gemm().ToByteArray(), "ok.onnx");
        using var net = m.Compile(Host, [2, 4]);
        Assert.That(net.Parameters.Select(p => p.Name), Is.EqualTo(new[] { "fc.weight", "fc.bias" }));
    }

    [Test]
    public void Empty_truncated_and_garbage_files()
    {
        Assert.That(Fails([]), Does.Contain("empty"));
        var good = OnnxFiles.Gemm().ToByteArray();
        foreach (int cut in new[] { 1, 7, good.Length / 2, good.Length - 3 })
        {
            Assert.That(Fails(good[..cut]), Does.Contain("not a valid ONNX model").Or.Contain("no graph").Or.Contain("truncated"), $"cut at {cut}");
        }

        var garbage = HostMath.Random(1000, 3).Select(v => (byte)(v * 1000)).ToArray();
        Assert.That(Fails(garbage), Does.Contain("ONNX"));
        Assert.That(Fails("{\"not\": \"onnx\"}"u8.ToArray()), Does.Contain("not a valid ONNX model").Or.Contain("no graph"));
    }

    [Test]
    public void Absurd_sizes_are_refused_before_anything_is_allocated()
    {
        var huge = OnnxFiles.Floats("fc.weight", [1_000_000, 1_000_000], 16);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.That(Fails(OnnxFiles.Gemm(huge).ToByteArray()), Does.Contain("initializer 'fc.weight'").And.Contain("more than"));
        var big = OnnxFiles.Floats("fc.weight", [40_000, 40_000], 16);    // 1.6e9 elements, 6.4 GB claimed, 64 bytes held
        Assert.That(Fails(OnnxFiles.Gemm(big).ToByteArray()), Does.Contain("fc.weight").And.Contain("64 bytes"));
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(50_000_000));
        Assert.That(Fails(OnnxFiles.Gemm(OnnxFiles.Floats("fc.weight", [4, -4], 16)).ToByteArray()), Does.Contain("negative"));
    }

    [Test]
    public void Data_that_does_not_match_its_header()
    {
        Assert.That(Fails(OnnxFiles.Gemm(OnnxFiles.Floats("fc.weight", [4, 4], 15)).ToByteArray()), Does.Contain("'fc.weight'").And.Contain("60 bytes"));
        var typed = new TensorProto { Name = "fc.bias", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 4 }, FloatData = { 1f, 2f } };
        Assert.That(Fails(OnnxFiles.Gemm(bias: typed).ToByteArray()), Does.Contain("'fc.bias'").And.Contain("holds 2 values"));
        Assert.That(Fails(OnnxFiles.Gemm(bias: OnnxFiles.Floats("fc.bias", [3], 3)).ToByteArray()), Does.Contain("bias of 3 values for 4 outputs"));
        Assert.That(Fails(OnnxFiles.Gemm(OnnxFiles.Floats("fc.weight", [4, 5], 20)).ToByteArray()), Does.Contain("cannot take input [1, 4]"));
    }

    [Test]
    public void Dtype_mismatches()
    {
        var dbl = new TensorProto { Name = "fc.weight", DataType = (int)TensorProto.Types.DataType.Double, Dims = { 4, 4 }, RawData = ByteString.CopyFrom(new byte[128]) };
        Assert.That(Fails(OnnxFiles.Gemm(dbl).ToByteArray()), Does.Contain("'fc.weight' has data type DOUBLE"));
        var ints = new TensorProto { Name = "fc.weight", DataType = (int)TensorProto.Types.DataType.Int64, Dims = { 4, 4 }, RawData = ByteString.CopyFrom(new byte[128]) };
        Assert.That(Fails(OnnxFiles.Gemm(ints).ToByteArray()), Does.Contain("weight of shape [4, 4]"));
        var m = OnnxFiles.Gemm();
        m.Graph.Input[0] = OnnxFiles.Value("x", 4, (int)TensorProto.Types.DataType.Int64);
        Assert.That(Fails(m.ToByteArray()), Does.Contain("input 'x' is not a float32 tensor"));
    }

    [Test]
    public void External_data_is_refused_without_opening_anything()
    {
        var w = new TensorProto { Name = "fc.weight", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 4, 4 }, DataLocation = TensorProto.Types.DataLocation.External };
        w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "../../etc/passwd" });
        Assert.That(Fails(OnnxFiles.Gemm(w).ToByteArray()), Does.Contain("external data ('../../etc/passwd')"));
    }

    [Test]
    public void Cycles_undefined_values_and_values_written_twice()
    {
        var cycle = OnnxFiles.Model(13,
            OnnxFiles.Node("a", "Relu", ["b_out"], ["a_out"]), OnnxFiles.Node("b", "Relu", ["a_out"], ["b_out"]), OnnxFiles.Node("c", "Relu", ["x"], ["y"]));
        Assert.That(Fails(cycle.ToByteArray()), Does.Contain("cycle through node 'a' (Relu), node 'b' (Relu)"));
        var self = OnnxFiles.Model(13, OnnxFiles.Node("s", "Add", ["x", "y"], ["y"]));
        Assert.That(Fails(self.ToByteArray()), Does.Contain("cycle through node 's'"));
        var undefined = OnnxFiles.Model(13, OnnxFiles.Node("r", "Relu", ["ghost"], ["y"]));
        Assert.That(Fails(undefined.ToByteArray()), Does.Contain("node 'r' (Relu) reads 'ghost'"));
        var twice = OnnxFiles.Model(13, OnnxFiles.Node("r1", "Relu", ["x"], ["y"]), OnnxFiles.Node("r2", "Relu", ["x"], ["y"]));
        Assert.That(Fails(twice.ToByteArray()), Does.Contain("value 'y' is written twice"));
    }

    [Test]
    public void Unsupported_opsets_ir_versions_and_domains()
    {
        Assert.That(Fails(OnnxFiles.Model(18, OnnxFiles.Node("r", "Relu", ["x"], ["y"])).ToByteArray()), Does.Contain("opset 18 is not read").And.Contain("13 to 17"));
        Assert.That(Fails(OnnxFiles.Model(11, OnnxFiles.Node("r", "Relu", ["x"], ["y"])).ToByteArray()), Does.Contain("opset 11"));
        var ir = OnnxFiles.Model(13, OnnxFiles.Node("r", "Relu", ["x"], ["y"]));
        ir.IrVersion = 99;
        Assert.That(Fails(ir.ToByteArray()), Does.Contain("IR version 99"));
        var custom = OnnxFiles.Model(13, OnnxFiles.Node("r", "Relu", ["x"], ["y"]));
        custom.Graph.Node[0].Domain = "com.example";
        Assert.That(Fails(custom.ToByteArray()), Does.Contain("domain 'com.example'"));
    }

    [Test]
    public void Deeply_nested_graphs_stop_at_the_recursion_limit()
    {
        var g = new GraphProto { Name = "leaf" };
        for (int i = 0; i < 200; i++)
        {
            var n = new NodeProto { OpType = "If", Attribute = { new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = g } } };
            g = new GraphProto { Name = "g" + i, Node = { n } };
        }

        var m = OnnxFiles.Model(13, OnnxFiles.Node("r", "Relu", ["x"], ["y"]));
        m.Graph.Node.Add(g.Node[0]);
        Assert.That(Fails(m.ToByteArray()), Does.Contain("not a valid ONNX model"));
    }

    [Test]
    public void Files_over_the_size_limit_are_not_read()
    {
        string path = Path.Combine(Path.GetTempPath(), $"engine-big-{Guid.NewGuid():N}.onnx");
        try
        {
            File.WriteAllBytes(path, OnnxFiles.Gemm().ToByteArray());
            var ex = Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(path, new OnnxImportOptions { MaxBytes = 10 }))!;
            Assert.That(ex.Message, Does.Contain(path).And.Contain("over the 10-byte limit"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void A_reshape_that_drops_the_batch_is_an_error_not_a_wrong_model()
    {
        var shape = new TensorProto { Name = "shape", DataType = (int)TensorProto.Types.DataType.Int64, Dims = { 1 }, Int64Data = { -1 } };
        var m = OnnxFiles.Model(13, OnnxFiles.Node("/Reshape", "Reshape", ["x", "shape"], ["y"]));
        m.Graph.Initializer.Add(shape);
        Assert.That(Fails(m.ToByteArray()), Does.Contain("node '/Reshape' (Reshape)").And.Contain("does not keep the batch"));
    }

    [Test]
    public void Mutated_pytorch_models_load_or_fail_with_a_clear_error()
    {
        // Byte flips, truncations, overwritten and repeated runs of bytes in every PyTorch-exported fixture model: the
        // importer either builds a model (a flipped weight byte is still a valid file) that then compiles and runs, or
        // throws OnnxFormatException; never another exception, a crash or a hang.
        var models = OnnxImportTests.FixtureModels().Append(File.ReadAllBytes(Path.Combine(Conformance.FixtureTests.FixtureDir, "onnx", "digits_0to4_cnn.onnx")));
        var rng = new Random(16);
        int loaded = 0, refused = 0;
        foreach (var (good, m) in models.Select((b, i) => (b, i)))
        {
            var input = ModelProto.Parser.ParseFrom(good).Graph.Input[0].Type.TensorType.Shape.Dim.Select(d => d.DimValue > 0 ? (int)d.DimValue : 2).ToArray();
            var (a, r) = ByteMutations.Check<OnnxFormatException>(good, 100, rng, "mutant.onnx:", bytes =>
            {
                using var model = OnnxImporter.Load(bytes, "mutant.onnx");
                using var net = model.Compile(Host, [new Shape(input)], options: new CompileOptions { Training = false });
                net.Forward(new float[net.Input.Length]);
            }, $"model {m}, ");
            loaded += a;
            refused += r;
        }

        TestContext.Out.WriteLine($"{loaded} mutants loaded and ran, {refused} refused");
        Assert.That(refused, Is.GreaterThan(0));
        Assert.That(loaded, Is.GreaterThan(0));
    }
}
