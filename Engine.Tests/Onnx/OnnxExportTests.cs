// Export is checked by ONNX Runtime: every test model (every layer type and every activation of the table) is exported
// and run in ONNX Runtime on random inputs of another batch size than it was compiled for; the outputs must match the
// engine's own forward to 1e-5 of the output scale.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Nn;
using Engine.Onnx;
using Engine.Ops;
using Engine.Tests.Graph;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Onnx;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class OnnxExportTests(DeviceConfig config)
{
    internal const int RunBatch = 5;

    private Device Dev => TestDevices.Get(config);

    public static IEnumerable<TestCaseData> Models() => OnnxTestModels.All.Select(m => new TestCaseData(m.Name).SetName($"OnnxRuntime_matches_the_engine({m.Name})"));

    [TestCaseSource(nameof(Models))]
    public void OnnxRuntime_matches_the_engine(string name)
    {
        var m = OnnxTestModels.Get(name);
        using var model = m.Build();
        using var net = model.Compile(Dev, m.Inputs, options: new CompileOptions { Training = false });
        Randomize(net, 11);
        var bytes = OnnxExporter.ToBytes(net);

        var run = net.ForBatchSize(RunBatch);
        var inputs = run.Inputs.Select((t, i) => HostMath.Random((int)t.Length, 100 + i)).ToArray();
        for (int i = 0; i < inputs.Length; i++)
        {
            run.Inputs[i].CopyFrom(inputs[i]);
        }

        run.Forward();
        using var ort = new OrtSession(bytes);
        var got = ort.Run(inputs.Select((x, i) => (x, run.Inputs[i].Shape.Select(d => (long)d).ToArray())).ToArray());
        Assert.That(got, Has.Length.EqualTo(run.Outputs.Count));
        for (int o = 0; o < got.Length; o++)
        {
            Assert.That(got[o].Shape, Is.EqualTo(run.Outputs[o].Shape.Select(d => (long)d).ToArray()), $"{name}: output {o} shape");
            AssertScaledClose(got[o].Data, run.Outputs[o].ToArray(), $"{name}: output {o}");
        }
    }

    [Test]
    public void Exported_models_have_opset_17_a_dynamic_batch_and_state_dict_initializers()
    {
        var m = OnnxTestModels.Get("mnist_cnn");
        using var model = m.Build();
        using var net = model.Compile(Dev, m.Inputs, Loss.CrossEntropy());
        var proto = global::Onnx.ModelProto.Parser.ParseFrom(OnnxExporter.ToBytes(net));
        Assert.That(proto.OpsetImport.Single().Version, Is.EqualTo(17));
        Assert.That(proto.IrVersion, Is.EqualTo(8));
        Assert.That(proto.Graph.Input.Single().Type.TensorType.Shape.Dim[0].DimParam, Is.EqualTo("batch"));
        Assert.That(proto.Graph.Output.Single().Type.TensorType.Shape.Dim[0].DimParam, Is.EqualTo("batch"));
        var names = net.Parameters.Select(p => p.Name).Concat(net.Buffers.Select(b => b.Name)).ToArray();
        Assert.That(proto.Graph.Initializer.Select(i => i.Name), Is.EqualTo(names));
        Assert.That(proto.Graph.Node.Select(n => n.OpType), Does.Not.Contain("Dropout"), "eval mode: dropout is an identity");
    }

    [Test]
    public void Batch_norm_exports_its_running_statistics_whatever_the_mode()
    {
        using var model = new Sequential(new BatchNorm1d(3));
        using var net = model.Compile(Dev, [4, 3], Loss.Mse());
        net.Training = true;
        net.Buffers["0.running_mean"].Value.CopyFrom([1f, 2f, 3f]);
        net.Buffers["0.running_var"].Value.CopyFrom([4f, 1f, 0.25f]);
        using var ort = new OrtSession(OnnxExporter.ToBytes(net));
        var y = ort.Run([1f, 2f, 3f, 3f, 3f, 3f], new Shape(2, 3));
        Assert.That(y, Is.EqualTo(new[] { 0f, 0f, 0f, 1f, 1f, 0f }).Within(1e-4));
    }

    [Test]
    public void Every_layer_type_and_activation_is_in_the_export_suite()
    {
        var used = OnnxTestModels.All.SelectMany(m =>
        {
            using var model = m.Build();
            using var net = model.Compile(Dev, m.Inputs, options: new CompileOptions { Training = false });
            return Modules(model).Select(x => x.GetType()).Concat(net.Graph.Nodes.Select(n => n.Layer.GetType())).ToList();
        }).ToHashSet();
        var types = typeof(Module).Assembly.GetExportedTypes().Where(t => typeof(Module).IsAssignableFrom(t) && !t.IsAbstract).ToList();
        Assert.That(types, Is.Not.Empty);
        Assert.That(types.Where(t => !used.Contains(t)).Select(t => t.Name), Is.Empty, "module types without an export test");

        var keys = OnnxTestModels.All.SelectMany(m =>
        {
            using var model = m.Build();
            return Modules(model).OfType<Activation>().Select(a => Engine.Onnx.Export.ActivationExport.KeyOf(a.Op)).ToList();
        }).ToHashSet();
        Assert.That(ActivationTable.All.Select(r => r.Key).Where(k => !keys.Contains(k)), Is.Empty, "activation rows without an export test");
    }

    [Test]
    public void Every_activation_row_has_an_onnx_form()
    {
        var missing = ActivationTable.All.Select(r => r.Key).Where(k => !Engine.Onnx.Export.ActivationExport.Emitters.ContainsKey(k)).ToList();
        Assert.That(missing, Is.Empty);
        Assert.That(Engine.Onnx.Export.ActivationExport.Emitters.Keys.Except(ActivationTable.All.Select(r => r.Key)), Is.Empty, "emitters for rows that do not exist");
    }

    [Test]
    public void A_layer_without_an_onnx_form_is_a_clear_error()
    {
        using var model = new Sequential(new Linear(3, 3), new NoOnnx());
        using var net = model.Compile(Dev, [2, 3], options: new CompileOptions { Training = false });
        var ex = Assert.Throws<NotSupportedException>(() => OnnxExporter.ToBytes(net))!;
        Assert.That(ex.Message, Does.Contain("layer '1'").And.Contain("NoOnnx").And.Contain("supported: Linear"));
    }

    internal static void Randomize(CompiledModel net, int seed)
    {
        if (net.HasParameters)
        {
            GraphTestUtil.Randomize(net.Parameters, seed);
        }

        foreach (var b in net.Buffers)
        {
            var r = HostMath.Random((int)b.Value.Length, seed + b.Name.Length, -0.5f, 0.5f);
            b.Value.CopyFrom(b.Name.EndsWith("running_var", StringComparison.Ordinal) ? r.Select(v => v + 1f).ToArray() : r);
        }
    }

    /// <summary>max |got - want| &lt;= 1e-5 max |want| (NaN only where the engine has NaN).</summary>
    internal static void AssertScaledClose(float[] got, float[] want, string what, double tolerance = 1e-5)
    {
        Assert.That(got, Has.Length.EqualTo(want.Length), what);
        double scale = want.Where(float.IsFinite).Select(v => (double)Math.Abs(v)).DefaultIfEmpty(0).Max();
        Assert.That(scale, Is.GreaterThan(0), $"{what}: the output is all zeros");
        double worst = 0;
        int at = -1;
        for (int i = 0; i < want.Length; i++)
        {
            if (float.IsNaN(want[i]) || float.IsNaN(got[i]))
            {
                Assert.That(float.IsNaN(got[i]) && float.IsNaN(want[i]), Is.True, $"{what}[{i}]: {got[i]} vs {want[i]}");
                continue;
            }

            double d = Math.Abs(got[i] - want[i]);
            if (d > worst)
            {
                (worst, at) = (d, i);
            }
        }

        Assert.That(worst, Is.LessThanOrEqualTo(tolerance * scale), $"{what}: max abs difference {worst:G3} at {at} ({(at >= 0 ? got[at] : 0)} vs {(at >= 0 ? want[at] : 0)}), output scale {scale:G3}");
    }

    private static IEnumerable<Module> Modules(Module m) => m.Children.SelectMany(c => Modules(c.Module)).Prepend(m);

    private sealed class NoOnnx : Layer
    {
        public override Shape[] InferShapes(IReadOnlyList<Shape> inputs) => [inputs[0]];

        public override void Forward(NodeContext context) => context.Output().CopyFrom(context.Input());
    }
}
