// The optimizer table is the one list of optimizers: names, torch class names, state names and dispatch rows come
// from it, and building from PyTorch-named settings rejects unknown names and maximize=true.
using System.Linq;
using Engine.Nn;
using Engine.Ops;
using Engine.Optim;
using NUnit.Framework;

namespace Engine.Tests.Optim;

public sealed class OptimizerTableTests
{
    [Test]
    public void Every_row_builds_its_optimizer_with_its_name_and_state_names()
    {
        Assert.That(OptimizerTable.Names, Is.EqualTo(new[] { "sgd", "adagrad", "adadelta", "rmsprop", "adam", "adamw", "adamax", "nadam" }));
        Assert.That(OptimizerTable.All.Select(r => r.TorchName), Is.EqualTo(new[] { "SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "Adamax", "NAdam" }));
        using var device = Device.Create(DeviceKind.Cpu, new DeviceOptions { HonorEnvironment = false });
        using var set = ParameterSet.Create(device, [("w", new Shape(5), ParameterRole.Weight)]);
        foreach (var row in OptimizerTable.All)
        {
            using var opt = OptimizerTable.Create(set, new OpParams([new("name", row.Name), new("lr", 0.1)]));
            Assert.That(opt.Definition, Is.SameAs(row));
            Assert.That(opt.Name, Is.EqualTo(row.Name));
            Assert.That(opt.AllStateNames, Is.EqualTo(row.StateNames));
            Assert.That(row.Registry.Op, Is.EqualTo("optim." + row.Name));
        }
    }

    [Test]
    public void Unknown_names_settings_and_maximize_are_rejected()
    {
        using var device = Device.Create(DeviceKind.Cpu, new DeviceOptions { HonorEnvironment = false });
        using var set = ParameterSet.Create(device, [("w", new Shape(5), ParameterRole.Weight)]);
        Assert.That(() => OptimizerTable.Create(set, new OpParams([new("name", "lion")])), Throws.ArgumentException.With.Message.Contain("unknown optimizer 'lion'").And.Message.Contain("nadam"));
        Assert.That(() => OptimizerTable.Create(set, new OpParams([new("name", "adam"), new("maximize", true)])), Throws.ArgumentException.With.Message.Contain("maximize"));
        var p = new OpParams([new("name", "adam"), new("betas", 0.9)]);
        using (OptimizerTable.Create(set, p))
        {
            Assert.That(p.Unread, Is.EqualTo(new[] { "betas" }), "a setting no optimizer reads stays unread, so callers can reject it");
        }

        Assert.That(() => OptimizerTable.Create(set, new OpParams([new("name", "sgd")])), Throws.InstanceOf<System.ArgumentOutOfRangeException>().With.Message.Contain("lr"));
    }
}
