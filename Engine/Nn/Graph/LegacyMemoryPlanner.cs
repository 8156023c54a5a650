// TEMPORARY: the planner before the rewrite, run beside the new one by the compiler to prove the plans identical.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;

namespace Engine.Nn;

/// <summary>Computes a <see cref="MemoryLayout"/>.</summary>
internal static class LegacyMemoryPlanner
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

    /// <summary>Throws unless the two layouts are the same in every slot, flag, offset and size.</summary>
    public static void AssertSame(MemoryLayout a, MemoryLayout b)
    {
        static string Key(Slot? x) => x is null ? "-" : $"{x.Label}|{x.Kind}|{x.Elements}|{x.Root.Label}|{x.Root.Offset}|{x.Root.Start}|{x.Root.End}";
        static string Slots(IEnumerable<Slot?> xs) => string.Join(";", xs.Select(Key));
        static string Jagged(Slot?[][] xs) => string.Join("/", xs.Select(Slots));
        static string Flags(bool[][] xs) => string.Join("/", xs.Select(r => string.Join(",", r)));
        var diffs = new List<string>();
        void Check(string what, string x, string y)
        {
            if (x != y)
            {
                diffs.Add($"{what}: new {x} | old {y}");
            }
        }

        Check("values", Slots(a.Values), Slots(b.Values));
        Check("grads", Slots(a.Grads), Slots(b.Grads));
        Check("workspaces", Jagged(a.Workspaces), Jagged(b.Workspaces));
        Check("saved", Jagged(a.Saved), Jagged(b.Saved));
        Check("partial inputs", Jagged(a.PartialInputGrads), Jagged(b.PartialInputGrads));
        Check("partial params", Jagged(a.PartialParamGrads), Jagged(b.PartialParamGrads));
        Check("accumulate inputs", Flags(a.AccumulateInput), Flags(b.AccumulateInput));
        Check("accumulate params", Flags(a.AccumulateParam), Flags(b.AccumulateParam));
        Check("aliased", string.Join(",", a.AliasedBackward), string.Join(",", b.AliasedBackward));
        Check("arena", a.ArenaElements.ToString(System.Globalization.CultureInfo.InvariantCulture), b.ArenaElements.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Check("report", string.Join(";", a.Report.Buffers) + "|" + string.Join(";", a.Report.StepNames) + "|" + a.Report.PeakBytes,
            string.Join(";", b.Report.Buffers) + "|" + string.Join(";", b.Report.StepNames) + "|" + b.Report.PeakBytes);
        if (diffs.Count > 0)
        {
            throw new InvalidOperationException("The rewritten memory planner differs from the old one:\n" + string.Join("\n", diffs));
        }

        Interlocked.Increment(ref comparedPlans);
        if (Environment.GetEnvironmentVariable("ENGINE_PLAN_COMPARE_LOG") is { Length: > 0 } log)
        {
            lock (LogLock)
            {
                System.IO.File.AppendAllText(log, $"{a.Report.Buffers.Count} buffers, arena {a.ArenaElements * 4} bytes: same\n");
            }
        }
    }

    private static readonly object LogLock = new();

    private static int comparedPlans;

    /// <summary>Plans compared so far in this process.</summary>
    public static int ComparedPlans => comparedPlans;
}
