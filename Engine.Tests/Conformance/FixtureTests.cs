// Runs every committed PyTorch fixture (Engine.Tests/Fixtures/*.json) through the conformance runner, per device.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Engine.Conformance;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Conformance;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class FixtureTests(DeviceConfig config)
{
    private static readonly Dictionary<string, IReadOnlyList<ConformanceCase>> Files = new();

    internal static string FixtureDir => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    public static IEnumerable<TestCaseData> Cases()
    {
        foreach (var file in Directory.EnumerateFiles(FixtureDir, "*.json").Order(StringComparer.Ordinal))
        {
            var cases = Load(file);
            for (int i = 0; i < cases.Count; i++)
            {
                yield return new TestCaseData(Path.GetFileName(file), i)
                    .SetName($"{Path.GetFileNameWithoutExtension(file)}[{i:D3}] {cases[i].Op} {cases[i].Label}");
            }
        }
    }

    private static IReadOnlyList<ConformanceCase> Load(string file)
    {
        lock (Files)
        {
            if (!Files.TryGetValue(file, out var cases))
            {
                cases = ConformanceRunner.Load(file);
                Files[file] = cases;
            }

            return cases;
        }
    }

    private static readonly Dictionary<string, JsonArray> Raw = new();

    private static ConformanceCase Fresh(string file, int index)
    {
        // Each run gets its own parsed case so that params read-tracking starts clean; the file is read once.
        JsonArray cases;
        lock (Raw)
        {
            if (!Raw.TryGetValue(file, out cases!))
            {
                var root = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(FixtureDir, file)))!;
                cases = (JsonArray)root["cases"]!;
                Raw[file] = cases;
            }
        }

        return ConformanceCase.Parse((JsonObject)cases[index]!);
    }

    [TestCaseSource(nameof(Cases))]
    public void Matches_pytorch(string file, int index)
    {
        var c = Fresh(file, index);
        var r = ConformanceRunner.RunCase(TestDevices.Get(config), c);
        Assert.That(r.Passed, Is.True, r.ToString());
    }

    [Test]
    public void Every_committed_fixture_file_parses_and_names_known_ops()
    {
        var files = Directory.EnumerateFiles(FixtureDir, "*.json").ToList();
        Assert.That(files, Is.Not.Empty);
        foreach (var f in files)
        {
            foreach (var c in Load(f))
            {
                Assert.That(ConformanceRunner.KnownOps, Does.Contain(c.Op), $"{Path.GetFileName(f)}: {c.Label}");
            }
        }
    }
}
