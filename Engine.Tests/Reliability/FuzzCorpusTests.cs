// The fuzz targets' seeds and every input kept from fuzzing (Fixtures/fuzz/TARGET: afl's corpus and each crash or hang
// it found, fixed since) replayed under the fuzz contract: accepted, or refused with the parser's own error naming the
// file, within the memory budget. A crash found by `./build.sh fuzz` stays a regression test here.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Engine.Reliability.Fuzz;
using NUnit.Framework;

namespace Engine.Tests.Reliability;

public sealed class FuzzCorpusTests
{
    public static IEnumerable<string> TargetNames => FuzzTargets.All.Select(t => t.Name);

    private static string CorpusDir(string target) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "fuzz", target);

    [TestCaseSource(nameof(TargetNames))]
    public void Seeds_keep_the_contract_and_valid_ones_are_accepted(string name)
    {
        var target = FuzzTargets.Find(name);
        using var w = new FuzzWorkspace();
        var seeds = target.Seeds().ToList();
        Assert.That(seeds.Count(s => s.Name.StartsWith("valid", StringComparison.Ordinal)), Is.GreaterThan(0));
        Assert.That(seeds.Count(s => !s.Name.StartsWith("valid", StringComparison.Ordinal)), Is.GreaterThan(0), "each target has broken seeds too");
        foreach (var (seed, data) in seeds)
        {
            var outcome = target.Execute(data, w, out string? message);
            if (seed.StartsWith("valid", StringComparison.Ordinal))
            {
                Assert.That(outcome, Is.EqualTo(FuzzOutcome.Accepted), $"{name}/{seed}: {message}");
            }
        }
    }

    [TestCaseSource(nameof(TargetNames))]
    public void Every_input_kept_from_fuzzing_keeps_the_contract(string name)
    {
        var target = FuzzTargets.Find(name);
        using var w = new FuzzWorkspace();
        string dir = CorpusDir(name);
        var files = Directory.Exists(dir) ? Directory.GetFiles(dir).Order(StringComparer.Ordinal).ToList() : [];
        Assert.That(files, Is.Not.Empty, $"no corpus for {name} in {dir}: run ./build.sh fuzz and commit Engine.Tests/Fixtures/fuzz");
        var breaches = new List<string>();
        foreach (string file in files)
        {
            try
            {
                target.Execute(File.ReadAllBytes(file), w);
            }
            catch (FuzzContractException e)
            {
                breaches.Add($"{Path.GetFileName(file)}: {e.Message}");
            }
        }

        Assert.That(breaches, Is.Empty);
    }

    [Test]
    public void A_breach_of_the_contract_is_caught()
    {
        // The contract itself can fail: an exception of another type, a message without the file's name, a big allocation.
        using var w = new FuzzWorkspace();
        var wrongType = new FuzzTarget("t", "d", (_, _) => throw new IndexOutOfRangeException("boom"), [typeof(InvalidDataException)], [], () => []);
        Assert.That(() => wrongType.Execute([1], w), Throws.TypeOf<FuzzContractException>().With.Message.Contains("IndexOutOfRangeException"));
        var unnamed = new FuzzTarget("t", "d", (d, ws) => { ws.Write("x", d); throw new InvalidDataException("bad"); }, [typeof(InvalidDataException)], [], () => []);
        Assert.That(() => unnamed.Execute([1], w), Throws.TypeOf<FuzzContractException>().With.Message.Contains("does not name the file"));
        var greedy = new FuzzTarget("t", "d", (_, _) => GC.KeepAlive(new byte[100 << 20]), [typeof(InvalidDataException)], [], () => []);
        Assert.That(() => greedy.Execute([1], w), Throws.TypeOf<FuzzContractException>().With.Message.Contains("allocate"));
    }
}
