// The loss table is the one list of losses: names, parameters with their rules, parsing and dispatch rows come from it.
using System;
using System.Linq;
using Engine.Ops;
using NUnit.Framework;

namespace Engine.Tests.Ops;

public sealed class LossTableTests
{
    [Test]
    public void Names_parameters_and_defaults_come_from_the_table()
    {
        Assert.That(LossSpec.Ops, Is.EqualTo(LossTable.All.Select(r => r.Name)));
        foreach (var row in LossTable.All)
        {
            var spec = LossSpec.Parse(row.Name, new OpParams([]));
            Assert.That(spec.Definition, Is.SameAs(row));
            Assert.That(row.ForwardRegistry.Op, Is.EqualTo(row.Name));
            Assert.That(row.BackwardRegistry.Op, Is.EqualTo(row.Name + "_backward"));
            foreach (var q in row.Parameters)
            {
                Assert.That(spec.ToString(), Does.Contain($"{q.Name}="), $"{row.Name} shows {q.Name}");
            }
        }

        Assert.That(LossSpec.Tversky().Alpha, Is.EqualTo(0.5f), "tversky's alpha default is its own, not focal's");
        Assert.That(LossSpec.Focal().Alpha, Is.EqualTo(0.25f));
        Assert.That(LossSpec.Huber(0.5f).ToString(), Is.EqualTo("huber(delta=0.5, mean)"));
    }

    [Test]
    public void Every_rule_rejects_what_it_should_naming_the_parameter()
    {
        Assert.That(() => LossSpec.Focal(gamma: -1f), Throws.ArgumentException.With.Property("ParamName").EqualTo("gamma").And.Message.Contain(">= 0"));
        Assert.That(() => LossSpec.Focal(alpha: float.PositiveInfinity), Throws.ArgumentException.With.Property("ParamName").EqualTo("alpha").And.Message.Contain("finite"));
        Assert.That(() => LossSpec.Triplet(margin: float.NaN), Throws.ArgumentException.With.Property("ParamName").EqualTo("margin"));
        Assert.That(() => LossSpec.Parse("dice", new OpParams([new("reduction", "sum")])), Throws.Nothing, "region losses read no reduction (it stays unread)");
        Assert.That(() => LossTable.Get("nll"), Throws.ArgumentException.With.Message.Contain("not a loss").And.Message.Contain("triplet"));
    }
}
