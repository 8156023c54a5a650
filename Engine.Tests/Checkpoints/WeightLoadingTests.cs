// Partial weight loads for transfer learning: a new head with Sequential.Replace, name maps into a wrapped model,
// tensors left out or of another shape skipped, the report of what happened, and the failures that stay failures.
using System;
using System.IO;
using System.Linq;
using Engine.Checkpoints;
using Engine.Nn;
using Engine.Tests.Data;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Checkpoints;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class WeightLoadingTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    /// <summary>Saves Sequential(Linear(3, 4), ReLU, Linear(4, 2)) with seeded weights; returns the path and the values by name.</summary>
    private (string Path, CompiledModel Net, Module Model) Saved(TempDir tmp)
    {
        var model = new Sequential(new Linear(3, 4), new Relu(), new Linear(4, 2));
        var net = model.Compile(Dev, new Shape(1, 3), options: new CompileOptions { Training = false, Seed = 1 });
        string path = Path.Combine(tmp.Path, "base.safetensors");
        net.SaveWeights(path);
        return (path, net, model);
    }

    [Test]
    public void A_replaced_head_keeps_its_initialization_and_the_body_loads()
    {
        using var tmp = new TempDir();
        var (path, old, oldModel) = Saved(tmp);
        using var _ = oldModel;
        using var __ = old;
        var model = new Sequential(new Linear(3, 4), new Relu(), new Linear(4, 2));
        var replaced = model.Replace(-1, new Linear(4, 5));
        Assert.That(replaced, Is.InstanceOf<Linear>());
        Assert.That(model[2], Is.InstanceOf<Linear>().With.Property("OutFeatures").EqualTo(5));
        using var m = model;
        using var net = model.Compile(Dev, new Shape(1, 3), options: new CompileOptions { Training = false, Seed = 9 });
        var fresh = net.Parameters["2.weight"].Value.ToArray();

        Assert.That(() => net.LoadWeights(path, new WeightLoadOptions { Strict = false }),
            Throws.InstanceOf<CheckpointMismatchException>().With.Message.Contain("shape: '2.weight' is [2, 4] in the file, [5, 4] in the model"),
            "a shape mismatch fails unless skipped, as PyTorch's load_state_dict(strict=False)");
        var report = net.LoadWeights(path, new WeightLoadOptions { Strict = false, SkipMismatchedShapes = true });
        Assert.That(report.Loaded, Is.EqualTo(new[] { "0.weight", "0.bias" }));
        Assert.That(report.Missing, Is.EqualTo(new[] { "2.weight", "2.bias" }));
        Assert.That(report.Unexpected, Is.Empty);
        Assert.That(report.Skipped, Is.EquivalentTo(new[] { "2.weight ([2, 4] in the file, [5, 4] in the model)", "2.bias ([2] in the file, [5] in the model)" }));
        Assert.That(net.Parameters["0.weight"].Value.ToArray(), Is.EqualTo(old.Parameters["0.weight"].Value.ToArray()));
        Assert.That(net.Parameters["2.weight"].Value.ToArray(), Is.EqualTo(fresh), "the new head is untouched");
        Assert.That(() => net.LoadWeights(path, new WeightLoadOptions { SkipMismatchedShapes = true }),
            Throws.InstanceOf<CheckpointMismatchException>().With.Message.Contain("missing: '2.weight'"), "strict wants every model tensor");
    }

    [Test]
    public void A_name_map_loads_into_a_wrapped_model_and_leaves_out_what_it_maps_to_null()
    {
        using var tmp = new TempDir();
        var (path, old, oldModel) = Saved(tmp);
        using var _ = oldModel;
        using var __ = old;
        using var model = new Sequential(new Sequential(new Linear(3, 4), new Relu()), new Linear(4, 2));
        using var net = model.Compile(Dev, new Shape(1, 3), options: new CompileOptions { Training = false });
        var options = new WeightLoadOptions { NameMap = n => n.StartsWith("0.", StringComparison.Ordinal) ? "0." + n : n.StartsWith("2.", StringComparison.Ordinal) ? "1." + n[2..] : null };
        var report = net.LoadWeights(path, options);
        Assert.That(report.Loaded, Is.EqualTo(new[] { "0.0.weight", "0.0.bias", "1.weight", "1.bias" }));
        Assert.That(net.Parameters["1.bias"].Value.ToArray(), Is.EqualTo(old.Parameters["2.bias"].Value.ToArray()));
        Assert.That(net.Parameters["0.0.weight"].Value.ToArray(), Is.EqualTo(old.Parameters["0.weight"].Value.ToArray()));

        var head = net.Parameters["1.weight"].Value.ToArray();
        var skip = net.LoadWeights(path, new WeightLoadOptions { Strict = false, NameMap = n => n.StartsWith("2.", StringComparison.Ordinal) ? null : "0." + n });
        Assert.That(skip.Skipped, Is.EquivalentTo(new[] { "2.weight (left out by the name map)", "2.bias (left out by the name map)" }));
        Assert.That(skip.Missing, Is.EqualTo(new[] { "1.weight", "1.bias" }));
        Assert.That(net.Parameters["1.weight"].Value.ToArray(), Is.EqualTo(head));

        Assert.That(() => net.LoadWeights(path, new WeightLoadOptions { NameMap = n => "0.0.weight" }),
            Throws.InstanceOf<CheckpointMismatchException>().With.Message.Contain("both map to '0.0.weight'"));
        Assert.That(() => net.LoadWeights(path, new WeightLoadOptions()),
            Throws.InstanceOf<CheckpointMismatchException>().With.Message.Contain("unexpected: '0.weight'").And.Message.Contain("missing: '0.0.weight'"));
        var loose = net.LoadWeights(path, new WeightLoadOptions { Strict = false });
        Assert.That(loose.Unexpected, Is.EquivalentTo(new[] { "0.weight", "0.bias", "2.weight", "2.bias" }));
        Assert.That(loose.Loaded, Is.Empty);
    }

    [Test]
    public void Replace_checks_its_index_and_a_compiled_root_refuses_a_changed_parameter_list()
    {
        using var model = new Sequential(new Linear(3, 4), new Relu());
        Assert.That(() => model.Replace(2, new Relu()), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => model.Replace(-3, new Relu()), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => model.Replace(0, model), Throws.ArgumentException.With.Message.Contain("cycle"));
        using (model.Compile(Dev, new Shape(1, 3), options: new CompileOptions { Training = false }))
        {
        }

        model.Replace(0, new Linear(3, 6));
        Assert.That(() => model.Compile(Dev, new Shape(1, 3)), Throws.InvalidOperationException.With.Message.Contain("changed since it was first compiled"));
        model.Dispose();
        using var again = model.Compile(Dev, new Shape(1, 3), options: new CompileOptions { Training = false });
        Assert.That(again.Output.Shape, Is.EqualTo(new Shape(1, 6)), "after disposing (freeing the old parameters) the new model compiles");
    }
}
