// Module.SetInitialValues (weights brought from another format), applying a module registered below a container, and
// CompiledModel.Graph (the read-only view exporters walk).
using System;
using System.Linq;
using Engine.Nn;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Graph;

public sealed class InitialValuesTests
{
    private static Device Host => TestDevices.Get(new DeviceConfig("cpu-host", DeviceKind.Cpu, ForceKernels: false));

    [Test]
    public void Initial_values_replace_the_initialization_at_the_first_compile()
    {
        using var bn = new Sequential(new Linear(2, 2), new BatchNorm1d(2));
        bn.SetInitialValues([new("0.weight", [1f, 2f, 3f, 4f]), new("1.running_var", [5f, 6f])]);
        using var net = bn.Compile(Host, [3, 2]);
        Assert.That(net.Parameters["0.weight"].Value.ToArray(), Is.EqualTo(new[] { 1f, 2f, 3f, 4f }));
        Assert.That(net.Buffers["1.running_var"].Value.ToArray(), Is.EqualTo(new[] { 5f, 6f }));
        Assert.That(net.Parameters["1.weight"].Value.ToArray(), Is.EqualTo(new[] { 1f, 1f }), "the others keep their rule");
    }

    [Test]
    public void Initial_values_of_a_nested_module_follow_its_path()
    {
        var inner = new Sequential(new Linear(2, 1));
        inner.SetInitialValues([new("0.bias", [7f])]);
        using var outer = new Sequential(new Linear(2, 2), inner);
        using var net = outer.Compile(Host, [1, 2]);
        Assert.That(net.Parameters["1.0.bias"].Value.ToArray(), Is.EqualTo(new[] { 7f }));
    }

    [Test]
    public void Unknown_names_and_wrong_lengths_fail_the_compile_by_name()
    {
        using var a = new Sequential(new Linear(2, 2));
        a.SetInitialValues([new("0.wieght", new float[4])]);
        Assert.That(() => a.Compile(Host, [1, 2]), Throws.InvalidOperationException.With.Message.Contain("'0.wieght'").And.Message.Contain("names no parameter or buffer"));
        using var b = new Sequential(new Linear(2, 2));
        b.SetInitialValues([new("0.bias", new float[3])]);
        Assert.That(() => b.Compile(Host, [1, 2]), Throws.InvalidOperationException.With.Message.Contain("'0.bias' has 3 values"));
        Assert.That(() => b.SetInitialValues([new("", new float[1])]), Throws.ArgumentException);
    }

    [Test]
    public void A_module_below_a_registered_container_is_applied_under_its_own_path()
    {
        var conv = new Linear(3, 3);
        using var g = new GraphModule();
        var x = g.Input();
        g.Register("block", new Sequential(conv, new Relu()));
        g.Output(g.Apply(conv, g.Apply(conv, x)));
        using var net = g.Compile(Host, [2, 3]);
        Assert.That(net.Parameters.Select(p => p.Name), Is.EqualTo(new[] { "block.0.weight", "block.0.bias" }));
        Assert.That(g.Children.Select(c => c.Name), Is.EqualTo(new[] { "block" }), "not registered a second time");
        Assert.That(() => g.Apply(g, x), Throws.ArgumentException.With.Message.Contain("cannot apply itself"));
    }

    [Test]
    public void The_graph_view_lists_the_nodes_without_the_loss()
    {
        using var model = new Sequential(new Linear(4, 3), new Relu(), new Residual(new Linear(3, 3)));
        using var net = model.Compile(Host, [2, 4], Loss.Mse());
        var graph = net.Graph;
        Assert.That(graph.Nodes.Select(n => (n.Name, n.ModulePath)), Is.EqualTo(new (string, string?)[]
        {
            ("0", "0"), ("1", "1"), ("2.0", "2.0"), ("2.add", null),
        }));
        Assert.That(graph.Inputs.Single().Shape, Is.EqualTo(new Shape(2, 4)));
        Assert.That(graph.Outputs.Single(), Is.SameAs(graph.Nodes[^1].Outputs[0]));
        Assert.That(graph.Nodes[3].Inputs, Is.EqualTo(new[] { graph.Nodes[1].Outputs[0], graph.Nodes[2].Outputs[0] }));
    }
}
