// Engine -> ONNX -> engine: every test model (every layer type and activation) exported and imported again gives the
// same outputs and the same parameter and buffer names, and the imported model trains (its gradients pass the check).
using System.Collections.Generic;
using System.Linq;
using Engine.Nn;
using Engine.Onnx;
using Engine.Tests.Graph;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Onnx;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class OnnxRoundTripTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    public static IEnumerable<TestCaseData> Models() => OnnxTestModels.All.Where(m => m.Imports).Select(m => new TestCaseData(m.Name).SetName($"Export_then_import_gives_the_same_outputs({m.Name})"));

    [TestCaseSource(nameof(Models))]
    public void Export_then_import_gives_the_same_outputs(string name)
    {
        var m = OnnxTestModels.Get(name);
        using var model = m.Build();
        using var net = model.Compile(Dev, m.Inputs, options: new CompileOptions { Training = false });
        OnnxExportTests.Randomize(net, 21);
        var bytes = OnnxExporter.ToBytes(net);

        using var imported = OnnxImporter.Load(bytes, name);
        using var back = imported.Compile(Dev, m.Inputs.Select(s => s.With(0, OnnxExportTests.RunBatch)).ToArray(), options: new CompileOptions { Training = false });
        var run = net.ForBatchSize(OnnxExportTests.RunBatch);
        for (int i = 0; i < run.Inputs.Count; i++)
        {
            var x = HostMath.Random((int)run.Inputs[i].Length, 200 + i);
            run.Inputs[i].CopyFrom(x);
            back.Inputs[i].CopyFrom(x);
        }

        run.Forward();
        back.Forward();
        Assert.That(back.Outputs.Count, Is.EqualTo(run.Outputs.Count));
        for (int o = 0; o < run.Outputs.Count; o++)
        {
            Assert.That(back.Outputs[o].Shape, Is.EqualTo(run.Outputs[o].Shape));
            OnnxExportTests.AssertScaledClose(back.Outputs[o].ToArray(), run.Outputs[o].ToArray(), $"{name}: output {o}");
        }

        var names = (net.HasParameters ? net.Parameters.Select(p => p.Name) : []).Concat(net.Buffers.Select(b => b.Name)).Order().ToArray();
        var again = (back.HasParameters ? back.Parameters.Select(p => p.Name) : []).Concat(back.Buffers.Select(b => b.Name)).Order().ToArray();
        Assert.That(again, Is.EqualTo(names), "parameter and buffer names");
    }

    [Test]
    public void Median_pooling_export_is_not_read_back_and_says_so()
    {
        var m = OnnxTestModels.Get("median_pool2d");
        using var model = m.Build();
        using var net = model.Compile(Dev, m.Inputs, options: new CompileOptions { Training = false });
        var ex = Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(OnnxExporter.ToBytes(net), "median.onnx").Dispose())!;
        Assert.That(ex.Message, Does.StartWith("median.onnx: node '/0/Slice' (Slice) is read only on values known at import time").And.Contain("supported node types: Abs,"));
    }

    [Test]
    public void An_imported_model_trains_with_correct_gradients()
    {
        var m = OnnxTestModels.Get("residual");
        using var model = m.Build();
        using var net = model.Compile(Dev, m.Inputs, options: new CompileOptions { Training = false });
        OnnxExportTests.Randomize(net, 5);
        using var imported = OnnxImporter.Load(OnnxExporter.ToBytes(net), "residual");
        using var train = imported.Compile(Dev, m.Inputs, Loss.Mse());
        GraphTestUtil.RandomInputs(train, 9);
        train.Target!.CopyFrom(HostMath.Random((int)train.Target.Length, 10));
        GraphTestUtil.AssertGradients(train);
    }
}
