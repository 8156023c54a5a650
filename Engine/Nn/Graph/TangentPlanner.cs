// The memory plan of forward mode: a tangent per value and each node's tangent workspaces, placed in their own arena
// with the same greedy layout as the main plan. Tangents are written and read only during the forward steps.
using System.Collections.Generic;
using System.Linq;

namespace Engine.Nn;

/// <summary>Where each tangent of a forward-mode plan lives.</summary>
internal sealed class TangentLayout
{
    /// <summary>Per value (by id): its tangent's slot (an aliasing node's output tangent is its input's).</summary>
    public required Slot?[] Values { get; init; }

    /// <summary>Per node: its tangent workspaces.</summary>
    public required (Slot Slot, Shape Shape)[][] Workspaces { get; init; }

    public required long ArenaElements { get; init; }

    public required MemoryPlan Report { get; init; }
}

/// <summary>
/// Plans the tangents of a forward-mode plan (<see cref="CompileOptions.Tangents"/>). Steps are the forward steps
/// 0..F-1 (a node's tangent rule runs in its forward step); -1 and F stand for "the caller writes it before" (input
/// tangents) and "the caller reads it after" (output tangents). A tangent lives from its producer's step to its last
/// consumer's; a tangent workspace only in its node's step.
/// </summary>
internal static class TangentPlanner
{
    public static TangentLayout Plan(GraphBuilder graph, Schedule schedule, LayerPlan[] plans, GraphValue[] outputs, CompileOptions options)
    {
        int end = schedule.Forward.Length;
        var slots = new List<Slot>();
        Slot New(string label, BufferKind kind, long elements, int start, int stop, Slot? parent = null) =>
            MemoryPlanner.NewSlot(slots, label, kind, elements, start, stop, parent);

        var results = new HashSet<GraphValue>(outputs);
        var values = new Slot?[graph.Values.Count];
        foreach (var v in graph.Inputs)
        {
            values[v.Id] = New("tangent " + v.Name, BufferKind.Tangent, v.Shape.Length, -1, end);
        }

        var workspaces = new (Slot, Shape)[graph.Nodes.Count][];
        foreach (var n in schedule.Forward)
        {
            int step = schedule.FStep[n.Id];
            foreach (var v in n.Inputs)
            {
                values[v.Id]!.Touch(step);
            }

            foreach (var v in n.Outputs)
            {
                int stop = results.Contains(v) ? end : step;
                values[v.Id] = plans[n.Id].AliasesInput
                    ? New("tangent " + v.Name, BufferKind.Tangent, v.Shape.Length, step, stop, values[n.Inputs[0].Id])
                    : New("tangent " + v.Name, BufferKind.Tangent, v.Shape.Length, step, stop);
            }

            workspaces[n.Id] = plans[n.Id].TangentWorkspaces.Select((w, i) => (New($"{n.Name} tws{i}", BufferKind.Workspace, w.Length, step, step), w)).ToArray();
        }

        var roots = slots.Where(x => x.Parent is null).ToList();
        long arena = MemoryPlanner.Place(roots, options.ShareMemory);
        var report = new MemoryPlan(
            roots.Select(x => new PlannedBuffer(x.Label, x.Kind, x.Elements * 4, x.Offset * 4, x.Start, x.End)).ToList(),
            schedule.Forward.Select(n => "fwd " + n.Name).ToList(), end, arena * 4);
        return new TangentLayout { Values = values, Workspaces = workspaces, ArenaElements = arena, Report = report };
    }
}
