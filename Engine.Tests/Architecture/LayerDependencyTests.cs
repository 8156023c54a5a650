// Dependencies point one way: reads the compiled Engine.dll and Engine.Kernels.dll and fails on any type reference
// that points up the layer stack (LayerRule), naming the edge, the types and the file; reads the sources for the same
// rule over `using Engine.*` lines and for each folder's layer. The probe tests prove that a back edge is reported.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Engine.Tests.Docs;
using NUnit.Framework;

namespace Engine.Tests.Architecture;

public sealed partial class LayerDependencyTests
{
    /// <summary>Top folders of the sources and the layer each sits in.</summary>
    private static readonly (string Folder, string Layer)[] Folders =
    [
        ("Engine/Devices", "Core"), ("Engine/Tensors", "Core"), ("Engine/Memory", "Core"), ("Engine/Dispatch", "Core"),
        ("Kernels", "Kernels"), ("Engine/Backends", "Backends"), ("Engine/Ops", "Ops"), ("Engine/Nn", "Nn"), ("Engine/Optim", "Optim"),
        ("Engine/Data", "Data"), ("Engine/Distributed", "Distributed"), ("Engine/Checkpoints", "Checkpoints"),

        // Engine/Training/Distributed (the gradient reducer, model sync, the trainer's data-parallel side) is in
        // namespace Engine.Training, so in the Training layer with its folder.
        ("Engine/Training", "Training"),
    ];

    private static List<TypeReferenceEdge> EngineEdges()
    {
        string root = ReadmeTests.RepoRoot();
        return TypeReferenceScanner.Scan(typeof(Device).Assembly.Location, _ => true)
            .Concat(TypeReferenceScanner.Scan(typeof(Engine.Kernels.Rng.Philox).Assembly.Location, _ => true))
            .Select(e => e.File is { } f && f.StartsWith(root, StringComparison.Ordinal) ? e with { File = Path.GetRelativePath(root, f).Replace('\\', '/') } : e)
            .ToList();
    }

    [Test]
    public void No_type_reference_points_up_the_layers()
    {
        var unexpected = LayerRule.Engine.Violations(EngineEdges()).Select(v => v.ToString()).Distinct().ToList();
        Assert.That(unexpected, Is.Empty, "references against the layer rule (docs/architecture.md):\n" + string.Join("\n", unexpected));
    }

    [Test]
    public void Every_engine_namespace_sits_in_a_layer()
    {
        var namespaces = EngineEdges().Select(e => e.FromNamespace).Distinct();
        Assert.That(LayerRule.Engine.Unplaced(namespaces).ToList(), Is.Empty, "place each new namespace in LayerRule.Engine");
    }

    [Test]
    public void No_using_line_points_up_the_layers_and_each_folder_declares_its_own_layer()
    {
        string root = ReadmeTests.RepoRoot();
        var problems = Directory.EnumerateDirectories(Path.Combine(root, "Engine"))
            .Select(d => "Engine/" + Path.GetFileName(d))
            .Where(d => d is not "Engine/bin" and not "Engine/obj" && !Folders.Any(f => f.Folder == d))
            .Select(d => $"{d}: a folder of no layer; add it to Folders and LayerRule.Engine")
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "Engine"), "*.cs").Select(f => $"{Path.GetFileName(f)}: a source file outside the layer folders"))
            .ToList();
        foreach (var (folder, layer) in Folders)
        {
            foreach (var path in Directory.EnumerateFiles(Path.Combine(root, folder), "*.cs", SearchOption.AllDirectories))
            {
                string file = Path.GetRelativePath(root, path).Replace('\\', '/');
                if (file.Contains("/obj/", StringComparison.Ordinal) || file.Contains("/bin/", StringComparison.Ordinal))
                {
                    continue;
                }

                var lines = File.ReadAllLines(path);
                string? ns = lines.Select(l => NamespaceLine().Match(l)).FirstOrDefault(m => m.Success)?.Groups[1].Value;
                if (ns is null || LayerRule.Engine.LayerOf(ns) != layer)
                {
                    problems.Add($"{file}: namespace {ns ?? "(none)"} is not in layer {layer}, where its folder {folder} sits");
                    continue;
                }

                for (int i = 0; i < lines.Length; i++)
                {
                    var m = UsingLine().Match(lines[i]);
                    if (m.Success && LayerRule.Engine.LayerOf(m.Groups[1].Value) is { } to && !LayerRule.Engine.Allows(layer, to))
                    {
                        problems.Add($"{layer} -> {to}: {file}:{i + 1}: {lines[i].Trim()}");
                    }
                }
            }
        }

        Assert.That(problems, Is.Empty, string.Join("\n", problems));
    }

    [Test]
    public void The_rule_reports_a_synthetic_back_edge_and_allows_a_downward_one()
    {
        var up = new TypeReferenceEdge("Engine.Ops.Probe", "Engine.Ops", "Run", "Engine.Nn.Linear", "Engine.Nn", "Engine/Ops/Probe.cs");
        var down = new TypeReferenceEdge("Engine.Nn.Probe", "Engine.Nn", "Run", "Engine.Ops.GemmOp", "Engine.Ops", "Engine/Nn/Probe.cs");
        var sideways = new TypeReferenceEdge("Engine.Data.Probe", "Engine.Data", "Run", "Engine.Nn.Linear", "Engine.Nn", null);
        var violations = LayerRule.Engine.Violations([up, down, sideways]);
        Assert.That(violations.Select(v => v.ToString()), Is.EqualTo(new[]
        {
            "Ops -> Nn: Engine.Ops.Probe (Run) uses Engine.Nn.Linear in Engine/Ops/Probe.cs",
            "Data -> Nn: Engine.Data.Probe (Run) uses Engine.Nn.Linear",
        }));
    }

    [Test]
    public void The_scan_finds_a_real_back_edge_in_compiled_code()
    {
        // The probe namespace of this test assembly, placed in the Backends layer, calls Engine.Ops.Conv2dOp.
        const string probe = "Engine.Tests.Architecture.Probe";
        var rule = LayerRule.Engine.WithNamespace(probe, "Backends");
        var edges = TypeReferenceScanner.Scan(typeof(LayerDependencyTests).Assembly.Location, ns => ns == probe);
        var found = rule.Violations(edges);
        Assert.That(found, Is.Not.Empty);
        Assert.That(found.Select(v => (v.FromLayer, v.ToLayer, v.Edge.FromType, v.Edge.Member, v.Edge.ToType)),
            Does.Contain(("Backends", "Ops", probe + ".BackEdgeProbe", "OutputOf", "Engine.Ops.Conv2dOp")));
        Assert.That(found.Single(v => v.Edge.ToType == "Engine.Ops.Conv2dOp").Edge.File, Does.EndWith("LayerDependencyProbe.cs"));
    }

    [GeneratedRegex(@"^\s*namespace\s+([\w.]+)\s*[;{]?")]
    private static partial Regex NamespaceLine();

    [GeneratedRegex(@"^\s*(?:global\s+)?using\s+(?:static\s+)?(?:\w+\s*=\s*)?(Engine(?:\.\w+)*)\s*;")]
    private static partial Regex UsingLine();
}
