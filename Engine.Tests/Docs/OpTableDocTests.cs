// docs/ops.md and docs/optimizers.md embed tables generated from the code (dispatch rows, activations, losses,
// optimizers); this keeps each from drifting apart from its table.
using System;
using System.IO;
using Engine.Dispatch;
using Engine.Ops;
using Engine.Optim;
using NUnit.Framework;

namespace Engine.Tests.Docs;

public sealed class OpTableDocTests
{
    [TestCase("ops.md", "OP-TABLE", "dispatch")]
    [TestCase("ops.md", "ACTIVATION-TABLE", "activations")]
    [TestCase("ops.md", "LOSS-TABLE", "losses")]
    [TestCase("ops.md", "BINARY-TABLE", "binary")]
    [TestCase("optimizers.md", "OPTIMIZER-TABLE", "optimizers")]
    public void Docs_show_the_tables_of_the_code(string file, string marker, string table)
    {
        string doc = File.ReadAllText(Path.Combine(ReadmeTests.RepoRoot(), "docs", file)).Replace("\r\n", "\n", StringComparison.Ordinal);
        string start = $"<!-- {marker}-START -->\n", end = $"<!-- {marker}-END -->";
        int s = doc.IndexOf(start, StringComparison.Ordinal);
        int e = doc.IndexOf(end, StringComparison.Ordinal);
        Assert.That(s, Is.GreaterThanOrEqualTo(0), $"docs/{file} lacks the {marker} markers");
        string want = table switch
        {
            "dispatch" => OpTable.ToMarkdown(),
            "activations" => ActivationTable.ToMarkdown(),
            "losses" => LossTable.ToMarkdown(),
            "binary" => BinaryTable.ToMarkdown(),
            "optimizers" => OptimizerTable.ToMarkdown(),
            _ => throw new ArgumentException($"unknown table {table}", nameof(table)),
        };
        Assert.That(doc[(s + start.Length)..e], Is.EqualTo(want),
            $"docs/{file}'s {table} table is stale: replace it with the output of `engine-conformance --op-table {table}`");
    }

    [Test]
    public void Every_op_has_a_kernel_implementation()
    {
        foreach (var r in OpTable.All)
        {
            Assert.That(r.Variants, Has.Some.Matches<OpVariantInfo>(v => v.Path == ComputePath.Kernels && v.IsDefault), r.Op);
        }
    }

    [Test]
    public void Every_activation_loss_and_optimizer_has_its_dispatch_rows()
    {
        var ops = OpTable.All;
        foreach (var r in ActivationTable.All)
        {
            if (r.IsElementwise)
            {
                Assert.That(ops, Has.Some.Matches<IOpRegistry>(o => o.Op == r.Key), r.Key);
                Assert.That(ops, Has.Some.Matches<IOpRegistry>(o => o.Op == r.Key + "_backward"), r.Key);
            }
        }

        foreach (var r in LossTable.All)
        {
            Assert.That(ops, Has.Some.Matches<IOpRegistry>(o => o.Op == r.Name), r.Name);
            Assert.That(ops, Has.Some.Matches<IOpRegistry>(o => o.Op == r.Name + "_backward"), r.Name);
        }

        foreach (var r in BinaryTable.All)
        {
            Assert.That(ops, Has.Some.Matches<IOpRegistry>(o => o.Op == "binary." + r.Name), r.Name);
            Assert.That(ops, Has.Some.Matches<IOpRegistry>(o => o.Op == "binary." + r.Name + "_backward"), r.Name);
        }

        foreach (var r in OptimizerTable.All)
        {
            Assert.That(ops, Has.Some.Matches<IOpRegistry>(o => o.Op == "optim." + r.Name), r.Name);
        }
    }
}
