// Liveness analysis and offset planning: every activation, gradient, workspace and saved tensor of a compiled
// model gets an interval of steps and an offset in one arena; tensors whose intervals do not overlap share memory.
using System;
using System.Collections.Generic;
using System.Linq;

namespace Engine.Nn;

/// <summary>A planned buffer during planning; aliases point at the slot whose memory they use.</summary>
internal sealed class Slot(string label, BufferKind kind, long elements, int start, int end)
{
    public const int Align = 64;

    public string Label { get; } = label;

    public BufferKind Kind { get; } = kind;

    public long Elements { get; } = elements;

    public int Start { get; private set; } = start;

    public int End { get; private set; } = end;

    public long Offset { get; set; } = -1;

    public Slot? Parent { get; init; }

    public Slot Root => Parent?.Root ?? this;

    public long Padded => (Elements + Align - 1) / Align * Align;

    public void Touch(int step)
    {
        var r = Root;
        r.Start = Math.Min(r.Start, step);
        r.End = Math.Max(r.End, step);
    }
}

/// <summary>Where each tensor of a compiled model lives.</summary>
internal sealed class MemoryLayout
{
    public required Slot?[] Values { get; init; }

    public required Slot?[] Grads { get; init; }

    public required Slot?[][] Workspaces { get; init; }

    public required Slot?[][] Saved { get; init; }

    /// <summary>Per node and input: the partial slot the layer writes instead of the gradient, or null.</summary>
    public required Slot?[][] PartialInputGrads { get; init; }

    /// <summary>Per node and input: whether the layer adds into the gradient (true) or overwrites it.</summary>
    public required bool[][] AccumulateInput { get; init; }

    /// <summary>Per node and parameter: partial slot, or null.</summary>
    public required Slot?[][] PartialParamGrads { get; init; }

    /// <summary>Per node and parameter: whether the layer adds into the parameter gradient.</summary>
    public required bool[][] AccumulateParam { get; init; }

    /// <summary>Per node: an alias node whose input gradient is its output gradient's memory (backward does nothing).</summary>
    public required bool[] AliasedBackward { get; init; }

    public required long ArenaElements { get; init; }

    public required MemoryPlan Report { get; init; }
}

/// <summary>Computes a <see cref="MemoryLayout"/>.</summary>
internal static class MemoryPlanner
{
    public static MemoryLayout Plan(GraphBuilder b, Schedule s, LayerPlan[] plans, GraphValue[] outputs, GraphValue? lossValue, GraphValue? target, CompileOptions o)
    {
        int end = s.End, nn = b.Nodes.Count;
        var slots = new List<Slot>();
        Slot New(string label, BufferKind kind, long elements, int start, int stop, Slot? parent = null)
        {
            var x = new Slot(label, kind, elements, start, stop) { Parent = parent };
            slots.Add(x);
            if (parent is not null)
            {
                x.Touch(start);
                x.Touch(stop);
            }

            return x;
        }

        var outputSet = new HashSet<GraphValue>(outputs);
        if (lossValue is not null)
        {
            outputSet.Add(lossValue);
        }

        // Activations, in forward order so that an alias finds its source's slot.
        var values = new Slot?[b.Values.Count];
        foreach (var v in b.Inputs)
        {
            values[v.Id] = New(v.Name, ReferenceEquals(v, target) ? BufferKind.Target : BufferKind.Input, v.Shape.Length, -1, end);
        }

        foreach (var n in s.Forward)
        {
            int f = s.FStep[n.Id];
            for (int i = 0; i < n.Outputs.Length; i++)
            {
                var v = n.Outputs[i];
                bool isOut = outputSet.Contains(v);
                var kind = isOut ? BufferKind.Output : BufferKind.Activation;
                values[v.Id] = plans[n.Id].AliasesInput
                    ? New(v.Name, kind, v.Shape.Length, f, isOut ? end : f, values[n.Inputs[0].Id])
                    : New(v.Name, kind, v.Shape.Length, f, isOut ? end : f);
            }
        }

        foreach (var n in s.Forward)
        {
            int f = s.FStep[n.Id], bs = s.BStep[n.Id];
            var p = plans[n.Id];
            for (int i = 0; i < n.Inputs.Length; i++)
            {
                values[n.Inputs[i].Id]!.Touch(f);
                if (bs >= 0 && p.KeptInputs.Contains(i))
                {
                    values[n.Inputs[i].Id]!.Touch(bs);
                }
            }

            foreach (int i in p.KeptOutputs)
            {
                if (bs >= 0)
                {
                    values[n.Outputs[i].Id]!.Touch(bs);
                }
            }
        }

        // Gradients: a value's gradient lives from its first contribution to its producer's backward.
        var grads = new Slot?[b.Values.Count];
        var partialIn = new Slot?[nn][];
        var accIn = new bool[nn][];
        var wantIn = new bool[nn][];
        var forceIn = new bool[nn][];
        var aliased = new bool[nn];
        foreach (var n in b.Nodes)
        {
            partialIn[n.Id] = new Slot?[n.Inputs.Length];
            accIn[n.Id] = new bool[n.Inputs.Length];
            wantIn[n.Id] = new bool[n.Inputs.Length];
            forceIn[n.Id] = new bool[n.Inputs.Length];
        }

        foreach (var v in b.Values.Where(v => s.HasGrad[v.Id]).OrderByDescending(v => v.Producer is null ? -1 : s.FStep[v.Producer.Id]))
        {
            bool seeded = lossValue is null && outputSet.Contains(v);
            bool persistent = seeded || v.Producer is null;
            var contributors = v.Consumers
                .Where(c => s.InputNeedsGrad[c.Node.Id][c.Input])
                .OrderBy(c => s.BStep[c.Node.Id]).ThenBy(c => c.Input).ToList();
            int first = contributors.Count > 0 ? s.BStep[contributors[0].Node.Id] : end;
            int last = v.Producer is null ? end : s.BStep[v.Producer.Id];
            var c0 = contributors.Count > 0 ? contributors[0].Node : null;
            string label = "grad " + v.Name;
            if (!seeded && c0 is not null && plans[c0.Id].AliasesInput && grads[c0.Outputs[0].Id] is { } outGrad)
            {
                grads[v.Id] = New(label, BufferKind.Gradient, v.Shape.Length, first, persistent ? end : last, outGrad);
                aliased[c0.Id] = true;
                if (persistent)
                {
                    grads[v.Id]!.Touch(-1);
                }
            }
            else
            {
                grads[v.Id] = New(label, BufferKind.Gradient, v.Shape.Length, persistent ? -1 : first, persistent ? end : last);
            }

            for (int k = 0; k < contributors.Count; k++)
            {
                var (node, input) = contributors[k];
                wantIn[node.Id][input] = k > 0 || seeded;
                forceIn[node.Id][input] = node.Inputs.Take(input).Any(x => ReferenceEquals(x, v));
            }
        }

        // Parameter gradients: the first use in backward order overwrites, later uses of a shared layer add.
        var wantP = new bool[nn][];
        var seen = new HashSet<Layer>(ReferenceEqualityComparer.Instance);
        foreach (var n in b.Nodes)
        {
            wantP[n.Id] = new bool[n.Layer.ParameterSpecs.Count];
        }

        foreach (var n in s.Backward.Where(n => s.ParamsNeedGrad[n.Id]))
        {
            bool acc = o.AccumulateGradients || !seen.Add(n.Layer);
            Array.Fill(wantP[n.Id], acc);
        }

        // Where a layer cannot add into a gradient it must add to, it writes a partial gradient that the executor adds.
        var partialP = new Slot?[nn][];
        var accP = new bool[nn][];
        foreach (var n in s.Backward)
        {
            var cap = n.Layer.Accumulation;
            int np = n.Layer.ParameterSpecs.Count, bs = s.BStep[n.Id];
            var inDirect = Enumerable.Range(0, n.Inputs.Length).Select(i => s.InputNeedsGrad[n.Id][i] && !forceIn[n.Id][i]
                && (!wantIn[n.Id][i] || cap.HasFlag(GradientAccumulation.Inputs))).ToArray();
            var pDirect = Enumerable.Range(0, np).Select(i => s.ParamsNeedGrad[n.Id] && (!wantP[n.Id][i] || cap.HasFlag(GradientAccumulation.Parameters))).ToArray();
            if (cap.HasFlag(GradientAccumulation.Uniform))
            {
                bool anyOverwrite = Enumerable.Range(0, n.Inputs.Length).Any(i => inDirect[i] && !wantIn[n.Id][i])
                    || Enumerable.Range(0, np).Any(i => pDirect[i] && !wantP[n.Id][i]);
                if (anyOverwrite)
                {
                    for (int i = 0; i < n.Inputs.Length; i++)
                    {
                        inDirect[i] &= !wantIn[n.Id][i];
                    }

                    for (int i = 0; i < np; i++)
                    {
                        pDirect[i] &= !wantP[n.Id][i];
                    }
                }
            }

            for (int i = 0; i < n.Inputs.Length; i++)
            {
                if (!s.InputNeedsGrad[n.Id][i])
                {
                    continue;
                }

                if (inDirect[i])
                {
                    accIn[n.Id][i] = wantIn[n.Id][i];
                }
                else
                {
                    partialIn[n.Id][i] = New($"partial {n.Name} in{i}", BufferKind.PartialGradient, n.Inputs[i].Shape.Length, bs, bs);
                }
            }

            partialP[n.Id] = new Slot?[np];
            accP[n.Id] = new bool[np];
            for (int i = 0; i < np && s.ParamsNeedGrad[n.Id]; i++)
            {
                if (pDirect[i])
                {
                    accP[n.Id][i] = wantP[n.Id][i];
                }
                else
                {
                    partialP[n.Id][i] = New($"partial {n.Name} {n.Layer.ParameterSpecs[i].Name}", BufferKind.PartialGradient,
                        n.Layer.ParameterSpecs[i].Shape.Length, bs, bs);
                }
            }
        }

        foreach (var n in b.Nodes.Where(n => partialP[n.Id] is null))
        {
            partialP[n.Id] = new Slot?[n.Layer.ParameterSpecs.Count];
            accP[n.Id] = new bool[n.Layer.ParameterSpecs.Count];
        }

        // Workspaces and saved tensors.
        var ws = new Slot?[nn][];
        var saved = new Slot?[nn][];
        foreach (var n in b.Nodes)
        {
            var p = plans[n.Id];
            int f = s.FStep[n.Id], bs = s.BStep[n.Id];
            ws[n.Id] = p.Workspaces.Select((w, i) => w.Phase == WorkspacePhase.Forward
                ? New($"{n.Name} ws{i}", BufferKind.Workspace, w.Shape.Length, f, f)
                : bs >= 0 ? New($"{n.Name} ws{i}", BufferKind.Workspace, w.Shape.Length, bs, bs) : null).ToArray();
            saved[n.Id] = p.SavedShapes.Select((sh, i) => New($"{n.Name} saved{i}", BufferKind.Saved, sh.Length, f, bs >= 0 ? bs : f)).ToArray();
        }

        long arena = Place(slots.Where(x => x.Parent is null).ToList(), o.ShareMemory);
        var stepNames = s.Forward.Select(n => "fwd " + n.Name).Concat(s.Backward.Select(n => "bwd " + n.Name)).ToList();
        var report = new MemoryPlan(
            slots.Where(x => x.Parent is null).Select(x => new PlannedBuffer(x.Label, x.Kind, x.Elements * 4, x.Offset * 4, x.Start, x.End)).ToList(),
            stepNames, s.Forward.Length, arena * 4);
        return new MemoryLayout
        {
            Values = values,
            Grads = grads,
            Workspaces = ws,
            Saved = saved,
            PartialInputGrads = partialIn,
            AccumulateInput = accIn,
            PartialParamGrads = partialP,
            AccumulateParam = accP,
            AliasedBackward = aliased,
            ArenaElements = arena,
            Report = report,
        };
    }

    /// <summary>
    /// Greedy offset assignment, largest first: each slot goes to the lowest aligned offset where it overlaps no
    /// already placed slot that is live in a common step. Returns the arena size in elements.
    /// </summary>
    internal static long Place(List<Slot> roots, bool share = true)
    {
        var placed = new List<Slot>();
        long size = 0;
        foreach (var x in roots.OrderByDescending(r => r.Padded).ThenBy(r => r.Start))
        {
            long offset = 0;
            foreach (var y in placed.Where(y => !share || (y.Start <= x.End && x.Start <= y.End)).OrderBy(y => y.Offset))
            {
                if (offset + x.Padded <= y.Offset)
                {
                    break;
                }

                offset = Math.Max(offset, y.Offset + y.Padded);
            }

            x.Offset = offset;
            placed.Add(x);
            size = Math.Max(size, offset + x.Padded);
        }

        return size;
    }
}
