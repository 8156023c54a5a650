// Liveness analysis and offset planning: every activation, gradient, workspace and saved tensor of a compiled
// model gets an interval of steps and an offset in one arena; tensors whose intervals do not overlap share memory.
// Steps are 0..F-1 for the forward nodes and F..F+B-1 for the backward ones; -1 and F+B stand for "the caller writes
// it before" and "the caller reads it after". The plan is made in five steps, in this order (the order in which
// slots are created breaks ties when they are placed):
//   1. activations  a slot per model input and node output, live from its producer to its last reader
//   2. gradients    a slot per value that gets a gradient, live from its first contribution to its producer's backward
//   3. writes       per backward node: which gradients it writes itself (overwriting or adding) and which it writes
//                   to a partial slot that the executor adds afterwards
//   4. scratch      workspaces and saved tensors, live in their node's steps
//   5. layout       greedy placement of the slots' intervals in one arena (Place)
using System;
using System.Collections.Generic;
using System.Linq;

namespace Engine.Nn;

/// <summary>Computes a <see cref="MemoryLayout"/>.</summary>
internal sealed class MemoryPlanner
{
    private readonly GraphBuilder graph;
    private readonly Schedule schedule;
    private readonly LayerPlan[] plans;
    private readonly GraphValue? loss;
    private readonly HashSet<GraphValue> results;
    private readonly List<Slot> slots = [];

    private MemoryPlanner(GraphBuilder graph, Schedule schedule, LayerPlan[] plans, GraphValue[] outputs, GraphValue? loss)
    {
        this.graph = graph;
        this.schedule = schedule;
        this.plans = plans;
        this.loss = loss;
        results = [.. outputs];
        if (loss is not null)
        {
            results.Add(loss);
        }
    }

    /// <summary>One gradient contribution of a backward node to one of its inputs.</summary>
    /// <param name="Adds">The gradient already holds a contribution (an earlier node's, or the caller's seed): this one adds.</param>
    /// <param name="Repeated">The same value is also an earlier input of the node, so the node cannot write it in place.</param>
    private readonly record struct Contribution(bool Adds, bool Repeated);

    /// <summary>How one node's backward writes its gradients: a partial slot per gradient it cannot write in place, else whether it adds.</summary>
    private sealed record NodeWrites(Slot?[] PartialInputs, bool[] AddInputs, Slot?[] PartialParams, bool[] AddParams);

    private int End => schedule.End;

    /// <summary>Plans every tensor of one compiled model (see the file comment for the steps).</summary>
    public static MemoryLayout Plan(GraphBuilder graph, Schedule schedule, LayerPlan[] plans, GraphValue[] outputs, GraphValue? loss, GraphValue? target, CompileOptions options)
    {
        var planner = new MemoryPlanner(graph, schedule, plans, outputs, loss);
        var values = planner.ActivationSlots(target);
        var (grads, contributions, aliasedBackward) = planner.GradientSlots();
        var writes = planner.GradientWrites(contributions, planner.ParameterGradientsAdd(options.AccumulateGradients));
        var (workspaces, saved) = planner.ScratchSlots();
        var roots = planner.slots.Where(x => x.Parent is null).ToList();
        long arena = Place(roots, options.ShareMemory);
        return new MemoryLayout
        {
            Values = values,
            Grads = grads,
            Workspaces = workspaces,
            Saved = saved,
            PartialInputGrads = writes.Select(w => w.PartialInputs).ToArray(),
            AccumulateInput = writes.Select(w => w.AddInputs).ToArray(),
            PartialParamGrads = writes.Select(w => w.PartialParams).ToArray(),
            AccumulateParam = writes.Select(w => w.AddParams).ToArray(),
            AliasedBackward = aliasedBackward,
            ArenaElements = arena,
            Report = planner.Report(roots, arena),
        };
    }

    /// <summary>
    /// Step 5, the layout: greedy offset assignment, largest first (ties: earliest start, then creation order). Each
    /// slot goes to the lowest aligned offset where it overlaps no placed slot that is live in a common step (with
    /// <paramref name="share"/> false, no placed slot at all). Returns the arena size in elements.
    /// </summary>
    internal static long Place(List<Slot> roots, bool share = true)
    {
        var placed = new List<Slot>();
        long size = 0;
        foreach (var slot in roots.OrderByDescending(r => r.Padded).ThenBy(r => r.Start))
        {
            long offset = 0;
            foreach (var other in placed.Where(p => !share || LiveTogether(p, slot)).OrderBy(p => p.Offset))
            {
                if (offset + slot.Padded <= other.Offset)
                {
                    break;
                }

                offset = Math.Max(offset, other.Offset + other.Padded);
            }

            slot.Offset = offset;
            placed.Add(slot);
            size = Math.Max(size, offset + slot.Padded);
        }

        return size;
    }

    private static bool LiveTogether(Slot a, Slot b) => a.Start <= b.End && b.Start <= a.End;

    /// <summary>A new slot live in [start, stop]; with a <paramref name="parent"/> it is an alias that widens the parent's interval.</summary>
    private Slot New(string label, BufferKind kind, long elements, int start, int stop, Slot? parent = null) =>
        NewSlot(slots, label, kind, elements, start, stop, parent);

    /// <summary><see cref="New"/> for any list of slots (the tangent plan keeps its own).</summary>
    internal static Slot NewSlot(List<Slot> slots, string label, BufferKind kind, long elements, int start, int stop, Slot? parent = null)
    {
        var slot = new Slot(label, kind, elements, start, stop) { Parent = parent };
        slots.Add(slot);
        if (parent is not null)
        {
            slot.Touch(start);
            slot.Touch(stop);
        }

        return slot;
    }

    /// <summary>
    /// Step 1: a slot per model input (live through the whole step) and per node output (from its forward step; model
    /// outputs and the loss until the caller reads them); an aliasing node's output shares its input's slot. Then each
    /// slot is extended to its readers: every consumer's forward step, and the backward step of a consumer that keeps
    /// it as an input or of a producer that keeps it as an output.
    /// </summary>
    private Slot?[] ActivationSlots(GraphValue? target)
    {
        var values = new Slot?[graph.Values.Count];
        foreach (var v in graph.Inputs)
        {
            values[v.Id] = New(v.Name, ReferenceEquals(v, target) ? BufferKind.Target : BufferKind.Input, v.Shape.Length, -1, End);
        }

        // In forward order, so that an alias finds its source's slot.
        foreach (var n in schedule.Forward)
        {
            int step = schedule.FStep[n.Id];
            var source = plans[n.Id].AliasesInput ? values[n.Inputs[0].Id] : null;
            foreach (var v in n.Outputs)
            {
                bool result = results.Contains(v);
                values[v.Id] = New(v.Name, result ? BufferKind.Output : BufferKind.Activation, v.Shape.Length, step, result ? End : step, source);
            }
        }

        foreach (var n in schedule.Forward)
        {
            int forward = schedule.FStep[n.Id], backward = schedule.BStep[n.Id];
            var plan = plans[n.Id];
            for (int i = 0; i < n.Inputs.Length; i++)
            {
                values[n.Inputs[i].Id]!.Touch(forward);
                if (backward >= 0 && plan.KeptInputs.Contains(i))
                {
                    values[n.Inputs[i].Id]!.Touch(backward);
                }
            }

            foreach (int i in plan.KeptOutputs)
            {
                if (backward >= 0)
                {
                    values[n.Outputs[i].Id]!.Touch(backward);
                }
            }
        }

        return values;
    }

    /// <summary>
    /// Step 2: a gradient slot per value that gets one, from its first contribution (in backward order) to its producer's
    /// backward; the gradients of model inputs and of seeded outputs (no loss: the caller writes them) live through the
    /// whole step. A gradient whose first contributor is an aliasing node (a view such as Flatten) shares the memory of
    /// that node's output gradient, and that node's backward has nothing to do; so does one input's gradient of a node that
    /// passes its gradient through (a same-shape add, whose backward then skips the copy for that input). Also records, per contributing node and
    /// input, whether its contribution adds to an earlier one and whether the value repeats an earlier input.
    /// </summary>
    private (Slot?[] Grads, Contribution[][] Contributions, bool[] AliasedBackward) GradientSlots()
    {
        var grads = new Slot?[graph.Values.Count];
        var contributions = graph.Nodes.Select(n => new Contribution[n.Inputs.Length]).ToArray();
        var aliasedBackward = new bool[graph.Nodes.Count];
        var passUsed = new bool[graph.Nodes.Count];

        // Latest producer first, so that a view's output gradient exists before its input gradient is planned.
        foreach (var v in graph.Values.Where(v => schedule.HasGrad[v.Id]).OrderByDescending(v => v.Producer is null ? -1 : schedule.FStep[v.Producer.Id]))
        {
            bool seeded = loss is null && results.Contains(v);
            bool wholeStep = seeded || v.Producer is null;
            var contributors = v.Consumers
                .Where(c => schedule.InputNeedsGrad[c.Node.Id][c.Input])
                .OrderBy(c => schedule.BStep[c.Node.Id]).ThenBy(c => c.Input).ToList();
            int first = contributors.Count > 0 ? schedule.BStep[contributors[0].Node.Id] : End;
            int last = v.Producer is null ? End : schedule.BStep[v.Producer.Id];
            var view = contributors.Count > 0 ? contributors[0].Node : null;
            string label = "grad " + v.Name;
            // A node that passes its gradient through unchanged (same-shape add) lends its output gradient's memory to one
            // input's gradient, if it is that gradient's first contributor and its inputs are distinct values.
            bool pass = view is not null && plans[view.Id].PassesGradient && !passUsed[view.Id]
                && view.Inputs.Distinct().Count() == view.Inputs.Length;
            if (!seeded && view is not null && (plans[view.Id].AliasesInput || pass) && grads[view.Outputs[0].Id] is { } viewGrad)
            {
                grads[v.Id] = New(label, BufferKind.Gradient, v.Shape.Length, first, wholeStep ? End : last, viewGrad);
                if (pass)
                {
                    passUsed[view.Id] = true;
                }
                else
                {
                    aliasedBackward[view.Id] = true;
                }

                if (wholeStep)
                {
                    grads[v.Id]!.Touch(-1);
                }
            }
            else
            {
                grads[v.Id] = New(label, BufferKind.Gradient, v.Shape.Length, wholeStep ? -1 : first, wholeStep ? End : last);
            }

            for (int k = 0; k < contributors.Count; k++)
            {
                var (node, input) = contributors[k];
                contributions[node.Id][input] = new Contribution(Adds: k > 0 || seeded, Repeated: node.Inputs.Take(input).Any(x => ReferenceEquals(x, v)));
            }
        }

        return (grads, contributions, aliasedBackward);
    }

    /// <summary>
    /// Per node and parameter, whether its backward adds to the parameter gradient: when gradients accumulate across
    /// steps, or when a shared layer already wrote it at an earlier backward step (the first use overwrites).
    /// </summary>
    private bool[][] ParameterGradientsAdd(bool accumulateAcrossSteps)
    {
        var adds = graph.Nodes.Select(n => new bool[n.Layer.ParameterSpecs.Count]).ToArray();
        var written = new HashSet<Layer>(ReferenceEqualityComparer.Instance);
        foreach (var n in schedule.Backward.Where(n => schedule.ParamsNeedGrad[n.Id]))
        {
            Array.Fill(adds[n.Id], accumulateAcrossSteps || !written.Add(n.Layer));
        }

        return adds;
    }

    /// <summary>Step 3: how each node's backward writes its gradients (see <see cref="Writes"/>); nodes without a backward write nothing.</summary>
    private NodeWrites[] GradientWrites(Contribution[][] contributions, bool[][] paramAdds)
    {
        var writes = new NodeWrites[graph.Nodes.Count];
        foreach (var n in schedule.Backward)
        {
            writes[n.Id] = Writes(n, contributions[n.Id], paramAdds[n.Id]);
        }

        foreach (var n in graph.Nodes.Where(n => writes[n.Id] is null))
        {
            int parameters = n.Layer.ParameterSpecs.Count;
            writes[n.Id] = new NodeWrites(new Slot?[n.Inputs.Length], new bool[n.Inputs.Length], new Slot?[parameters], new bool[parameters]);
        }

        return writes;
    }

    /// <summary>
    /// One backward node's writes. A gradient is written in place unless the value repeats an earlier input of the node,
    /// or the write must add and the layer cannot add (<see cref="Layer.Accumulation"/>); a layer that uses one flag for
    /// all its writes (<see cref="GradientAccumulation.Uniform"/>) and overwrites any of them writes every adding one
    /// to a partial slot. A partial slot lives in the node's backward step only.
    /// </summary>
    private NodeWrites Writes(GraphNode n, Contribution[] inputs, bool[] paramAdds)
    {
        var can = n.Layer.Accumulation;
        int step = schedule.BStep[n.Id], parameters = n.Layer.ParameterSpecs.Count;
        bool paramsNeedGrad = schedule.ParamsNeedGrad[n.Id];
        var inPlace = inputs.Select((c, i) => schedule.InputNeedsGrad[n.Id][i] && !c.Repeated && (!c.Adds || can.HasFlag(GradientAccumulation.Inputs))).ToArray();
        var paramInPlace = paramAdds.Select(adds => paramsNeedGrad && (!adds || can.HasFlag(GradientAccumulation.Parameters))).ToArray();
        bool overwritesAny = inputs.Where((c, i) => inPlace[i] && !c.Adds).Any() || paramAdds.Where((adds, i) => paramInPlace[i] && !adds).Any();
        if (can.HasFlag(GradientAccumulation.Uniform) && overwritesAny)
        {
            for (int i = 0; i < inputs.Length; i++)
            {
                inPlace[i] &= !inputs[i].Adds;
            }

            for (int i = 0; i < parameters; i++)
            {
                paramInPlace[i] &= !paramAdds[i];
            }
        }

        var w = new NodeWrites(new Slot?[inputs.Length], new bool[inputs.Length], new Slot?[parameters], new bool[parameters]);
        for (int i = 0; i < inputs.Length; i++)
        {
            if (!schedule.InputNeedsGrad[n.Id][i])
            {
                continue;
            }

            if (inPlace[i])
            {
                w.AddInputs[i] = inputs[i].Adds;
            }
            else
            {
                w.PartialInputs[i] = New($"partial {n.Name} in{i}", BufferKind.PartialGradient, n.Inputs[i].Shape.Length, step, step);
            }
        }

        for (int i = 0; i < parameters && paramsNeedGrad; i++)
        {
            if (paramInPlace[i])
            {
                w.AddParams[i] = paramAdds[i];
            }
            else
            {
                var spec = n.Layer.ParameterSpecs[i];
                w.PartialParams[i] = New($"partial {n.Name} {spec.Name}", BufferKind.PartialGradient, spec.Shape.Length, step, step);
            }
        }

        return w;
    }

    /// <summary>
    /// Step 4: per node, its workspaces (live in the forward or the backward step that uses them; none for a backward
    /// the node does not run) and its saved tensors (from its forward to its backward step).
    /// </summary>
    private (Slot?[][] Workspaces, Slot?[][] Saved) ScratchSlots()
    {
        var workspaces = new Slot?[graph.Nodes.Count][];
        var saved = new Slot?[graph.Nodes.Count][];
        foreach (var n in graph.Nodes)
        {
            var plan = plans[n.Id];
            int forward = schedule.FStep[n.Id], backward = schedule.BStep[n.Id];
            workspaces[n.Id] = plan.Workspaces.Select((w, i) => w.Phase == WorkspacePhase.Forward
                ? New($"{n.Name} ws{i}", BufferKind.Workspace, w.Shape.Length, forward, forward)
                : backward >= 0 ? New($"{n.Name} ws{i}", BufferKind.Workspace, w.Shape.Length, backward, backward) : null).ToArray();
            saved[n.Id] = plan.SavedShapes.Select((shape, i) => New($"{n.Name} saved{i}", BufferKind.Saved, shape.Length, forward, backward >= 0 ? backward : forward)).ToArray();
        }

        return (workspaces, saved);
    }

    /// <summary>The public report: every placed slot in bytes, in creation order, with the step names.</summary>
    private MemoryPlan Report(List<Slot> roots, long arena)
    {
        var stepNames = schedule.Forward.Select(n => "fwd " + n.Name).Concat(schedule.Backward.Select(n => "bwd " + n.Name)).ToList();
        return new MemoryPlan(
            roots.Select(x => new PlannedBuffer(x.Label, x.Kind, x.Elements * 4, x.Offset * 4, x.Start, x.End)).ToList(),
            stepNames, schedule.Forward.Length, arena * 4);
    }
}
