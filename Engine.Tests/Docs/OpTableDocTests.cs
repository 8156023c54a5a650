// docs/ops.md embeds the dispatch table generated from the code; this keeps the two from drifting apart.
using System;
using System.IO;
using Engine.Dispatch;
using NUnit.Framework;

namespace Engine.Tests.Docs;

public sealed class OpTableDocTests
{
    [Test]
    public void Docs_show_the_dispatch_table_of_the_code()
    {
        string doc = File.ReadAllText(Path.Combine(ReadmeTests.RepoRoot(), "docs", "ops.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        const string start = "<!-- OP-TABLE-START -->\n", end = "<!-- OP-TABLE-END -->";
        int s = doc.IndexOf(start, StringComparison.Ordinal);
        int e = doc.IndexOf(end, StringComparison.Ordinal);
        Assert.That(s, Is.GreaterThanOrEqualTo(0), "docs/ops.md lacks the table markers");
        string table = doc[(s + start.Length)..e];
        Assert.That(table, Is.EqualTo(OpTable.ToMarkdown()),
            "docs/ops.md's dispatch table is stale: replace it with the output of `engine-conformance --op-table`");
    }

    [Test]
    public void Every_op_has_a_kernel_implementation()
    {
        foreach (var r in OpTable.All)
        {
            Assert.That(r.Variants, Has.Some.Matches<OpVariantInfo>(v => v.Path == ComputePath.Kernels && v.IsDefault), r.Op);
        }
    }
}
