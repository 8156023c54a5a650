// ONNX import beyond the conformance fixtures: the fixtures' models use every node type the importer reads; an
// unsupported node names itself and the supported list; a model can be cut at a named value to take a new head.
using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Engine.Conformance;
using Engine.Nn;
using Engine.Onnx;
using Engine.Tests.Conformance;
using Engine.Tests.Infrastructure;
using Google.Protobuf;
using NUnit.Framework;
using Onnx;

namespace Engine.Tests.Onnx;

public sealed class OnnxImportTests
{
    private static Device Host => TestDevices.Get(new DeviceConfig("cpu-host", DeviceKind.Cpu, ForceKernels: false));

    internal static byte[][] FixtureModels()
    {
        var root = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(FixtureTests.FixtureDir, "onnx_import.json")))!;
        return ((JsonArray)root["cases"]!).Select(c => Convert.FromBase64String(c!["params"]!["model_base64"]!.GetValue<string>())).ToArray();
    }

    [Test]
    public void The_import_fixtures_use_every_supported_node_type()
    {
        var used = FixtureModels().SelectMany(b => ModelProto.Parser.ParseFrom(b).Graph.Node.Select(n => n.OpType)).ToHashSet();
        Assert.That(OnnxImporter.SupportedOps.Where(op => !used.Contains(op)), Is.Empty, "supported node types no fixture model uses");
        Assert.That(used.Where(op => !OnnxImporter.SupportedOps.Contains(op)), Is.Empty, "fixture node types the importer does not list");
        var opsets = FixtureModels().Select(b => ModelProto.Parser.ParseFrom(b).OpsetImport.Single().Version).Distinct().Order();
        Assert.That(opsets, Is.SupersetOf(new long[] { 13, 17 }));
    }

    [Test]
    public void Imported_parameters_keep_the_state_dict_names_of_nested_modules()
    {
        var bytes = FixtureModels()[3];   // the ResNet: stem, layer1.0.conv1, layer1.1.bn1, side, head
        using var model = OnnxImporter.Load(bytes, "resnet");
        using var net = model.Compile(Host, [2, 3, 5, 5]);
        Assert.That(net.Parameters.Select(p => p.Name), Does.Contain("layer1.0.conv1.weight").And.Contain("layer1.1.bn1.bias").And.Contain("head.weight"));
        Assert.That(net.Buffers.Select(b => b.Name), Does.Contain("layer1.1.bn1.running_var"));
        var initializers = ModelProto.Parser.ParseFrom(bytes).Graph.Initializer.Select(i => i.Name).ToHashSet();
        Assert.That(initializers, Does.Not.Contain("layer1.1.bn1.running_var"), "PyTorch deduplicated it into an Identity of the equal weight");
        Assert.That(net.Buffers["layer1.1.bn1.running_var"].Value.ToArray(), Is.All.EqualTo(1f));
    }

    [Test]
    public void Weights_pytorch_renamed_when_folding_batch_norm_are_named_after_their_module_scope()
    {
        // PyTorch's default eval export folds batch norm into the convolutions and names them onnx::Conv_N; the nodes
        // are /features/features.0/Conv, so the layers are features.0 and features.4, as in the PyTorch model.
        string path = Path.Combine(FixtureTests.FixtureDir, "onnx", "digits_0to4_cnn.onnx");
        Assert.That(ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph.Initializer.Select(i => i.Name), Does.Contain("onnx::Conv_32"));
        using var model = OnnxImporter.Load(path);
        using var net = model.Compile(Host, [2, 1, 28, 28]);
        Assert.That(net.Parameters.Select(p => p.Name), Is.EqualTo(new[]
        {
            "features.0.weight", "features.0.bias", "features.4.weight", "features.4.bias", "features.9.weight", "features.9.bias", "head.weight", "head.bias",
        }));
        Assert.That(net.Output.Shape, Is.EqualTo(new Shape(2, 5)));
    }

    [Test]
    public void An_unsupported_node_names_itself_its_op_and_the_supported_list()
    {
        var m = OnnxFiles.Model(13, OnnxFiles.Node("my_selu", "Selu", ["x"], ["y"]));
        var ex = Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(m.ToByteArray(), "selu.onnx"))!;
        Assert.That(ex.Message, Does.Contain("selu.onnx").And.Contain("node 'my_selu' (Selu)").And.Contain("supported node types: Abs, Add, AveragePool"));
    }

    [Test]
    public void A_primitive_outside_its_sequence_says_which_sequences_it_belongs_to()
    {
        var m = OnnxFiles.Model(13, OnnxFiles.Node("erf", "Erf", ["x"], ["y"]));
        var ex = Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(m.ToByteArray(), "erf.onnx"))!;
        Assert.That(ex.Message, Does.Contain("node 'erf' (Erf)").And.Contain("only inside the sequences PyTorch writes for GELU"));
    }

    [Test]
    public void Outputs_cut_the_model_before_its_head_for_a_new_one()
    {
        var bytes = FixtureModels()[1];   // CNN: ..., Flatten, Gemm (5), LogSoftmax
        var flatten = ModelProto.Parser.ParseFrom(bytes).Graph.Node.Single(n => n.OpType == "Flatten").Output[0];
        using var body = OnnxImporter.Load(bytes, "cnn", new OnnxImportOptions { Outputs = [flatten] });
        using var model = new Sequential(body, new Linear(64, 10));
        using var net = model.Compile(Host, [4, 2, 6, 6], Loss.CrossEntropy());
        Assert.That(net.Output.Shape, Is.EqualTo(new Shape(4, 10)));
        Assert.That(net.Parameters.Select(p => p.Name), Is.EqualTo(new[] { "0.0.weight", "0.0.bias", "0.1.weight", "0.1.bias", "1.weight", "1.bias" }));
        Assert.That(net.Buffers.Select(b => b.Name), Is.EqualTo(new[] { "0.1.running_mean", "0.1.running_var" }));
    }

    [Test]
    public void Unknown_output_names_are_an_error()
    {
        var ex = Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(FixtureModels()[0], "mlp", new OnnxImportOptions { Outputs = ["nope"] }))!;
        Assert.That(ex.Message, Does.Contain("output 'nope' names no value"));
    }

    [Test]
    public void Import_and_export_round_trip_a_pytorch_model_through_onnx_runtime()
    {
        var bytes = FixtureModels()[3];
        using var model = OnnxImporter.Load(bytes, "resnet");
        using var net = model.Compile(Host, [2, 3, 5, 5], options: new CompileOptions { Training = false });
        var x = HostMath.Random(150, 4);
        using var pytorch = new OrtSession(bytes);
        using var engine = new OrtSession(OnnxExporter.ToBytes(net));
        var want = pytorch.Run(x, new Shape(2, 3, 5, 5));
        OnnxExportTests.AssertScaledClose(net.Forward(x).Output.ToArray(), want, "engine vs ONNX Runtime on PyTorch's file");
        OnnxExportTests.AssertScaledClose(engine.Run(x, new Shape(2, 3, 5, 5)), want, "re-exported vs PyTorch's file");
    }
}
