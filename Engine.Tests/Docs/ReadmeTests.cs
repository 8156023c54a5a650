// Keeps the README honest: its example is the code in ReadmeExample.cs, and that code runs and gives its printed result.
using System;
using System.IO;
using System.Linq;
using NUnit.Framework;

namespace Engine.Tests.Docs;

public sealed class ReadmeTests
{
    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Engine.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Engine.sln not found above " + AppContext.BaseDirectory);
    }

    [Test]
    public void Readme_example_runs_and_prints_the_product()
    {
        Assert.That(ReadmeExample.Run(), Is.EqualTo(new[] { 4f, 5f, 10f, 11f }));
    }

    [Test]
    public void Readme_shows_the_compiled_example_verbatim()
    {
        string root = RepoRoot();
        var source = File.ReadAllLines(Path.Combine(root, "Engine.Tests", "Docs", "ReadmeExample.cs"));
        int start = Array.FindIndex(source, l => l.Contains("README-EXAMPLE-START", StringComparison.Ordinal));
        int end = Array.FindIndex(source, l => l.Contains("README-EXAMPLE-END", StringComparison.Ordinal));
        var lines = source[(start + 1)..end];
        int indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        string snippet = string.Join("\n", lines.Select(l => l.Length >= indent ? l[indent..] : l.Trim()));
        string readme = File.ReadAllText(Path.Combine(root, "README.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.That(readme, Does.Contain(snippet), "README.md must contain the example from Engine.Tests/Docs/ReadmeExample.cs");
    }
}
