// Keeps docs/distributed.md honest: its example is the code in Engine.Tests.RankHost/DistributedExample.cs, and that
// code trains on two ranks under mpirun, then a single process picks up its last checkpoint.
using System;
using System.IO;
using System.Linq;
using Engine.Tests.Data;
using Engine.Tests.Distributed;
using NUnit.Framework;

namespace Engine.Tests.Docs;

[NonParallelizable]
public sealed class DistributedExampleTests
{
    [Test]
    public void The_distributed_example_trains_on_two_ranks_and_resumes_on_one()
    {
        using var dir = new TempDir();
        var two = RankJob.Mpi(2, "example", "--checkpoints", dir.Path);
        Assert.That(two.ExitCode, Is.EqualTo(0), two.ToString());
        Assert.That(two.Output, Does.Contain("2 ranks: validation accuracy 100.0 %"), two.ToString());
        Assert.That(two.Output.Split('\n').Count(l => l.StartsWith("example done: Completed after 150 steps", StringComparison.Ordinal)), Is.EqualTo(2));
        var one = RankJob.Single("example", "--checkpoints", dir.Path);
        Assert.That(one.ExitCode, Is.EqualTo(0), one.ToString());
        Assert.That(one.Output, Does.Contain("1 ranks: validation accuracy 100.0 %").And.Contain("example done: Completed after 150 steps"), one.ToString());
    }

    [Test]
    public void Distributed_doc_shows_the_example_verbatim()
    {
        string root = ReadmeTests.RepoRoot();
        var source = File.ReadAllLines(Path.Combine(root, "Engine.Tests.RankHost", "DistributedExample.cs"));
        int start = Array.FindIndex(source, l => l.Contains("DISTRIBUTED-EXAMPLE-START", StringComparison.Ordinal));
        int end = Array.FindIndex(source, l => l.Contains("DISTRIBUTED-EXAMPLE-END", StringComparison.Ordinal));
        var lines = source[(start + 1)..end];
        int indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        string snippet = string.Join("\n", lines.Select(l => l.Length >= indent ? l[indent..] : l.Trim()));
        string doc = File.ReadAllText(Path.Combine(root, "docs", "distributed.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.That(doc, Does.Contain(snippet), "docs/distributed.md must contain the example from Engine.Tests.RankHost/DistributedExample.cs");
    }
}
