// The engine's dependency rule as data: which namespaces form each layer and which layers each may use. Everything
// points down: core (Devices/Memory/Tensors/Dispatch) <- Kernels <- Backends <- Ops <- Nn <- Optim <- Training, with
// Data and Distributed beside them on the core and Checkpoints above Nn and Optim. docs/architecture.md draws the same picture.
using System;
using System.Collections.Generic;
using System.Linq;

namespace Engine.Tests.Architecture;

/// <summary>One layer: the namespaces in it and the layers below it that it may use.</summary>
/// <param name="Name">The layer's name, as docs/architecture.md names it.</param>
/// <param name="Namespaces">Its namespaces; each also covers the namespaces under it unless another layer claims them.</param>
/// <param name="MayUse">The layers it may reference (itself always).</param>
internal sealed record Layer(string Name, string[] Namespaces, string[] MayUse);

/// <summary>A reference that points to a layer its source may not use.</summary>
/// <param name="FromLayer">The referencing layer.</param>
/// <param name="ToLayer">The referenced layer.</param>
/// <param name="Edge">The reference.</param>
internal sealed record LayerViolation(string FromLayer, string ToLayer, TypeReferenceEdge Edge)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"{FromLayer} -> {ToLayer}: {Edge.FromType} ({Edge.Member}) uses {Edge.ToType}{(Edge.File is null ? string.Empty : " in " + Edge.File)}";
}

/// <summary>The layer map and the check of references against it.</summary>
internal sealed class LayerRule
{
    private readonly List<Layer> layers;

    public LayerRule(IEnumerable<Layer> layers) => this.layers = layers.ToList();

    /// <summary>The engine's layers (Engine.dll and Engine.Kernels.dll), lowest first.</summary>
    public static LayerRule Engine { get; } = new(
    [
        // Devices, Tensors (namespace Engine: Device, Tensor, Shape, DType, options), Memory, the dispatch table, and
        // Engine.Interop (the devices' and tensors' ILGPU objects for hosts, in Engine/Devices).
        new("Core", ["Engine", "Engine.Memory", "Engine.Dispatch", "Engine.Interop"], []),

        // The ILGPU kernels, their own assembly; it references ILGPU alone.
        new("Kernels", ["Engine.Kernels"], ["Core"]),
        new("Backends", ["Engine.Backends"], ["Core", "Kernels"]),
        new("Ops", ["Engine.Ops"], ["Core", "Kernels", "Backends"]),
        // Process groups (MPI, NCCL) for data-parallel training: collectives on host spans and device tensors, nothing
        // of the layers above; synchronized batch norm (Nn) and the trainer's gradient reducer (Training) use them.
        new("Distributed", ["Engine.Distributed"], ["Core"]),
        new("Nn", ["Engine.Nn"], ["Core", "Kernels", "Backends", "Ops", "Distributed"]),
        new("Optim", ["Engine.Optim"], ["Core", "Kernels", "Backends", "Ops", "Nn", "Distributed"]),

        // Beside the stack: Data fills device tensors from datasets; Checkpoints saves model and optimizer state.
        new("Data", ["Engine.Data"], ["Core"]),
        new("Checkpoints", ["Engine.Checkpoints"], ["Core", "Kernels", "Backends", "Ops", "Nn", "Optim", "Distributed"]),
        new("Training", ["Engine.Training"], ["Core", "Kernels", "Backends", "Ops", "Nn", "Optim", "Data", "Checkpoints", "Distributed"]),
    ]);

    /// <summary>This rule with <paramref name="ns"/> (and the namespaces under it) placed in layer <paramref name="layer"/>.</summary>
    public LayerRule WithNamespace(string ns, string layer)
    {
        var copy = layers.Select(l => l.Name == layer ? l with { Namespaces = [.. l.Namespaces, ns] } : l).ToList();
        return copy.Any(l => l.Name == layer) ? new LayerRule(copy) : throw new ArgumentException($"No layer '{layer}'.", nameof(layer));
    }

    /// <summary>The layer of a namespace (the longest matching namespace wins), or null when it is not the engine's.</summary>
    public string? LayerOf(string ns)
    {
        string? best = null;
        int bestLength = -1;
        foreach (var l in layers)
        {
            foreach (var n in l.Namespaces)
            {
                bool match = ns == n || (n != "Engine" && ns.StartsWith(n + ".", StringComparison.Ordinal));
                if (match && n.Length > bestLength)
                {
                    best = l.Name;
                    bestLength = n.Length;
                }
            }
        }

        return best;
    }

    /// <summary>Whether <paramref name="from"/> may reference <paramref name="to"/>.</summary>
    public bool Allows(string from, string to) => from == to || layers.Single(l => l.Name == from).MayUse.Contains(to);

    /// <summary>The references that point to a layer their source may not use (references outside the engine are ignored).</summary>
    public List<LayerViolation> Violations(IEnumerable<TypeReferenceEdge> edges)
    {
        var found = new List<LayerViolation>();
        foreach (var e in edges)
        {
            string? from = LayerOf(e.FromNamespace), to = LayerOf(e.ToNamespace);
            if (from is not null && to is not null && !Allows(from, to))
            {
                found.Add(new LayerViolation(from, to, e));
            }
        }

        return found;
    }

    /// <summary>Namespaces under "Engine" that no layer claims (a new folder must be placed in a layer).</summary>
    public IEnumerable<string> Unplaced(IEnumerable<string> namespaces) =>
        namespaces.Where(n => (n == "Engine" || n.StartsWith("Engine.", StringComparison.Ordinal)) && LayerOf(n) is null).Distinct();
}
