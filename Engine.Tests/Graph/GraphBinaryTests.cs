// Gated and attention-like blocks built with GraphModule's element-wise binary ops: a PyTorch fixture of a gated
// convolution with channel attention, divide and subtract; the gradient check; x * x; broadcast Add.
using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Engine.Conformance;
using Engine.Nn;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Graph;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class GraphBinaryTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    /// <summary>The block of scripts/fixtures/gated_block.py, layer for layer.</summary>
    internal static GraphModule GatedBlock(int cin, int c, int h, int w, int classes)
    {
        var g = new GraphModule();
        var x = g.Input();
        var convH = g.Register("conv_h", new Conv2d(cin, c, 3, padding: 1));
        var convG = g.Register("conv_g", new Conv2d(cin, c, 3, padding: 1));
        var fc = g.Register("fc", new Linear(c, c));
        var fc2 = g.Register("fc2", new Linear(cin, c));
        var head = g.Register("head", new Linear(c * h * w, classes));
        var y = g.Multiply(g.Apply(convH, x), g.Apply(new Sigmoid(), g.Apply(convG, x)));                 // gated convolution
        var s = g.Apply(new Unflatten(1, c, 1, 1), g.Apply(new Sigmoid(), g.Apply(fc, g.Apply(new GlobalAvgPool(), y))));
        var z = g.Multiply(y, s);                                                                          // channel attention
        var q = g.Apply(new Unflatten(1, c, 1, 1), g.Apply(new Sigmoid(), g.Apply(fc2, g.Apply(new GlobalAvgPool(), x))));
        var u = g.Subtract(g.Divide(z, q), y);
        g.Output(g.Apply(head, g.Apply(new Flatten(), u)));
        return g;
    }

    [Test]
    public void Gated_attention_block_matches_pytorch()
    {
        string file = Path.Combine(AppContext.BaseDirectory, "Fixtures", "graphs", "gated_block.json");
        var root = (JsonObject)JsonNode.Parse(File.ReadAllText(file))!;
        var c = ConformanceCase.Parse((JsonObject)((JsonArray)root["cases"]!)[0]!);
        var xh = c.Input("x");
        using var model = GatedBlock(4, 6, 5, 7, 3);
        using var net = model.Compile(Dev, xh.ToShape(), Loss.CrossEntropy());
        Assert.That(net.Parameters.Select(p => p.Name), Is.EquivalentTo(c.Inputs.Keys.Where(k => k is not "x" and not "target")));
        foreach (var p in net.Parameters)
        {
            p.Value.CopyFrom(c.Input(p.Name).ToFloat());
        }

        net.Input.CopyFrom(xh.ToFloat());
        net.Target!.CopyFrom(c.Input("target").ToFloat());
        net.Forward();
        net.Backward();
        HostMath.AssertClose(net.Loss!.ToArray(), c.Outputs["loss"].Data, 1e-4, 1e-3, "loss");
        HostMath.AssertClose(net.Output.ToArray(), c.Outputs["output"].Data, 1e-4, 1e-3, "output");
        foreach (var p in net.Parameters)
        {
            HostMath.AssertClose(p.Grad.ToArray(), c.Outputs["grad." + p.Name].Data, 1e-4, 1e-3, "grad." + p.Name);
        }
    }

    [Test]
    public void Gated_attention_block_passes_the_gradient_check()
    {
        using var model = GatedBlock(2, 3, 3, 4, 3);
        using var net = model.Compile(Dev, [2, 2, 3, 4], Loss.CrossEntropy(), new CompileOptions { InputGradients = true });
        GraphTestUtil.Randomize(net.Parameters, 140, 0.6f);
        GraphTestUtil.RandomInputs(net, 141);
        net.Target!.CopyFrom([1f, 2f]);
        GraphTestUtil.AssertGradients(net);
    }

    [Test]
    public void Square_of_one_symbol_and_a_broadcast_bias_add()
    {
        // y = x * x + b (b of shape (F), broadcast over rows): dy/dx = 2 x g, db = column sums of g.
        var g = new GraphModule();
        var x = g.Input();
        var b = g.Input("b");
        g.Output(g.Add(g.Multiply(x, x), b));
        using var net = g.Compile(Dev, [new Shape(3, 5), new Shape(5)], null, new CompileOptions { InputGradients = true });
        var xh = HostMath.Random(15, 142, -2f, 2f);
        var bh = HostMath.Random(5, 143);
        var gh = HostMath.Random(15, 144);
        net.Inputs[0].CopyFrom(xh);
        net.Inputs[1].CopyFrom(bh);
        net.Forward();
        HostMath.AssertClose(net.Output.ToArray(), xh.Select((v, i) => ((double)v * v) + bh[i % 5]).ToArray(), 1e-6, 1e-6, "y");
        net.OutputGrad(0)!.CopyFrom(gh);
        net.Backward();
        HostMath.AssertClose(net.InputGrad(0)!.ToArray(), xh.Select((v, i) => 2.0 * v * gh[i]).ToArray(), 1e-6, 1e-6, "dx");
        HostMath.AssertClose(net.InputGrad(1)!.ToArray(), Enumerable.Range(0, 5).Select(j => (double)gh[j] + gh[5 + j] + gh[10 + j]).ToArray(), 1e-6, 1e-6, "db");
    }

    [Test]
    public void Shapes_that_do_not_broadcast_fail_at_compile_time_naming_the_node()
    {
        var g = new GraphModule();
        var a = g.Input();
        var b = g.Input("b");
        g.Output(g.Multiply(a, b));
        Assert.That(() => g.Compile(Dev, [new Shape(2, 3), new Shape(4)]), Throws.InstanceOf<Exception>().With.Message.Contain("Multiply").And.Message.Contain("[2, 3]").And.Message.Contain("[4]"));
    }
}
