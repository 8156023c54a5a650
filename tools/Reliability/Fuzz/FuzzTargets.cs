// The fuzz targets, one entry each: `./build.sh fuzz` runs them all and the test suite replays their corpora.
// Adding a parser is one entry here (a FuzzTarget: name, run, clear error types, namespaces to instrument, seeds) and,
// after a first fuzz run, its corpus folder under Engine.Tests/Fixtures/fuzz/NAME (see docs/reliability.md).
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Reliability.Fuzz.Targets;

namespace Engine.Reliability.Fuzz;

/// <summary>Every fuzz target.</summary>
internal static class FuzzTargets
{
    /// <summary>The targets, in the order they are fuzzed.</summary>
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        SafeTensorsTarget.Target,
        CheckpointTarget.Target,
        IdxTarget.Target,
        NpmTarballTarget.Target,
        ConformanceTarget.Target,
    ];

    /// <summary>The target named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No target has that name; the message lists them.</exception>
    public static FuzzTarget Find(string name) => All.FirstOrDefault(t => t.Name == name)
        ?? throw new ArgumentException($"No fuzz target '{name}'; targets: {string.Join(", ", All.Select(t => t.Name))}.", nameof(name));

    /// <summary>Each assembly to instrument with the union of the namespace prefixes the targets ask for.</summary>
    public static IEnumerable<(string Assembly, string[] Prefixes)> Instrumentation() =>
        All.SelectMany(t => t.Instrument)
            .Select(s => s.Split(':', 2))
            .GroupBy(p => p[0], StringComparer.Ordinal)
            .Select(g => (g.Key, g.Select(p => p[1]).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray()));
}
