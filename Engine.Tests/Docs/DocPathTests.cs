// Docs name files by paths relative to the repository, never by the absolute paths of one machine.
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using NUnit.Framework;

namespace Engine.Tests.Docs;

public sealed class DocPathTests
{
    private static readonly Regex MachinePath = new(@"(?<![\w.])/(work|home|root|Users|mnt|opt)/[\w.-]+", RegexOptions.CultureInvariant);

    [Test]
    public void No_doc_names_an_absolute_path_of_a_machine()
    {
        string root = ReadmeTests.RepoRoot();
        var docs = Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Append(Path.Combine(root, "README.md"));
        var hits = docs.SelectMany(f => File.ReadAllLines(f).Select((line, i) => (f, i, line)))
            .Where(x => MachinePath.IsMatch(x.line))
            .Select(x => $"{Path.GetFileName(x.f)}:{x.i + 1}: {MachinePath.Match(x.line).Value}")
            .ToList();
        Assert.That(hits, Is.Empty);
    }
}
