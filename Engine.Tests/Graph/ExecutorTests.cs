// The graph executor on Linear models: forward values, gradients (central differences), names, shapes, modes.
using System;
using System.Linq;
using Engine.Nn;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Graph;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class ExecutorTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    [Test]
    public void Sequential_forward_matches_a_double_reference()
    {
        using var model = new Sequential(new Linear(5, 7), new Linear(7, 3, bias: false));
        using var net = model.Compile(Dev, [4, 5], options: new CompileOptions { Training = false });
        GraphTestUtil.Randomize(net.Parameters, 1);
        var x = HostMath.Random(20, 2);
        var y = net.Forward(x).Output.ToArray();
        var ps = net.Parameters;
        var h = GraphTestUtil.Linear(GraphTestUtil.ToDouble(x), 4, ps["0.weight"].Value.ToArray(), ps["0.bias"].Value.ToArray(), 5, 7);
        var want = GraphTestUtil.Linear(h, 4, ps["1.weight"].Value.ToArray(), null, 7, 3);
        Assert.That(net.Output.Shape, Is.EqualTo(new Shape(4, 3)));
        HostMath.AssertClose(y, want, 1e-5, 1e-4, "mlp output");
    }

    [Test]
    public void Residual_and_shared_weights_pass_the_gradient_check()
    {
        var shared = new Linear(6, 6);
        var g = new GraphModule();
        var x = g.Input();
        var a = g.Apply(g.Register("inp", new Linear(4, 6)), x);
        var b = g.Apply(shared, a);
        var c = g.Apply(shared, b);                  // the same weights twice
        var r = g.Apply(g.Register("res", new Residual(new Linear(6, 6), new Flatten())), g.Add(a, c));
        g.Output(g.Apply(g.Register("head", new Linear(6, 2)), r));
        using (g)
        {
            using var net = g.Compile(Dev, [3, 4]);
            Assert.That(net.Parameters.Select(p => p.Name), Is.EqualTo(new[]
            {
                "inp.weight", "inp.bias", "1.weight", "1.bias", "res.0.weight", "res.0.bias", "head.weight", "head.bias",
            }));
            GraphTestUtil.Randomize(net.Parameters, 3);
            net.Input.CopyFrom(HostMath.Random(12, 4));
            var result = GradientCheck.Run(net);
            Assert.That(result.Passed, Is.True, result.ToString());
            Assert.That(result.Entries, Has.Count.EqualTo(8));
        }
    }
}
