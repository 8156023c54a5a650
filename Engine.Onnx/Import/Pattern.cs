// Subgraph patterns: PyTorch writes some layers as a chain of primitives (GELU is Div, Erf, Add, Mul, Mul; layer norm
// below opset 17 is ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add). A pattern is an expression tree over
// ONNX ops, matched backwards from the node that writes the result; Add and Mul match in either operand order, a
// named op matches the same node wherever it appears (a shared subexpression), and every node of a match but the
// last must be read only inside the match.
using System;
using System.Collections.Generic;
using System.Linq;
using Onnx;

namespace Engine.Onnx.Import;

/// <summary>A pattern: an op, a computed input, or a known value.</summary>
internal abstract record Pat
{
    /// <summary>A node of <paramref name="op"/> on <paramref name="args"/> (its first inputs).</summary>
    public static Pat Op(string op, params Pat[] args) => new OpPat(op, args, null);

    /// <summary>A named node, matched to the same node wherever the name appears.</summary>
    public static Pat Named(string bind, string op, params Pat[] args) => new OpPat(op, args, bind);

    /// <summary>A value computed by the model (the same value wherever the name appears).</summary>
    public static Pat In(string name) => new InPat(name);

    /// <summary>A value known at import time (a constant or initializer).</summary>
    public static Pat K(string name) => new ConstPat(name);
}

internal sealed record OpPat(string Type, Pat[] Args, string? Bind) : Pat;

internal sealed record InPat(string Name) : Pat;

internal sealed record ConstPat(string Name) : Pat;

/// <summary>What a pattern matched: values and known values by name, nodes by bind name, and every node it covers.</summary>
internal sealed class Match
{
    private Match(Dictionary<string, string> values, Dictionary<string, NodeProto> nodes, List<NodeProto> covered)
    {
        Values = values;
        Nodes = nodes;
        Covered = covered;
    }

    public Match()
        : this(new(StringComparer.Ordinal), new(StringComparer.Ordinal), new())
    {
    }

    /// <summary>The ONNX value of each <see cref="Pat.In"/> and <see cref="Pat.K"/> name.</summary>
    public Dictionary<string, string> Values { get; }

    /// <summary>The node of each <see cref="Pat.Named"/> name.</summary>
    public Dictionary<string, NodeProto> Nodes { get; }

    /// <summary>The nodes of the match, the root first.</summary>
    public List<NodeProto> Covered { get; }

    public NodeProto Root => Covered[0];

    public Match Clone() => new(new(Values, StringComparer.Ordinal), new(Nodes, StringComparer.Ordinal), new(Covered));
}

/// <summary>Matches patterns against the graph of one import.</summary>
internal static class Matcher
{
    private static readonly HashSet<string> Commutative = new(StringComparer.Ordinal) { "Add", "Mul" };

    /// <summary>The match of <paramref name="p"/> ending at <paramref name="root"/>, or null.</summary>
    public static Match? TryMatch(ImportState s, Pat p, NodeProto root, ISet<NodeProto> taken)
    {
        if (p is not OpPat op || op.Type != root.OpType || root.Output.Count == 0)
        {
            return null;
        }

        var m = Match(s, p, root.Output[0], new Match(), taken);
        if (m is null)
        {
            return null;
        }

        // Every node but the root must be read only inside the match.
        var inside = new HashSet<NodeProto>(m.Covered, ReferenceEqualityComparer.Instance);
        foreach (var n in m.Covered.Skip(1))
        {
            foreach (var o in n.Output.Where(o => o.Length > 0))
            {
                if (s.Outputs.Contains(o) || (s.Consumers.TryGetValue(o, out var readers) && readers.Any(r => !inside.Contains(r))))
                {
                    return null;
                }
            }
        }

        return m;
    }

    private static Match? Match(ImportState s, Pat p, string value, Match m, ISet<NodeProto> taken)
    {
        switch (p)
        {
            case InPat i:
                if (s.Known.Contains(value) || (m.Values.TryGetValue(i.Name, out var bound) && bound != value))
                {
                    return null;
                }

                m.Values[i.Name] = value;
                return m;
            case ConstPat k:
                if (!s.Known.Contains(value) || (m.Values.TryGetValue(k.Name, out var kb) && kb != value))
                {
                    return null;
                }

                m.Values[k.Name] = value;
                return m;
            case OpPat op:
                return MatchOp(s, op, value, m, taken);
            default:
                throw new InvalidOperationException($"unknown pattern {p}");
        }
    }

    private static Match? MatchOp(ImportState s, OpPat op, string value, Match m, ISet<NodeProto> taken)
    {
        if (s.Known.Contains(value) || !s.File.Producers.TryGetValue(value, out var node) || node.OpType != op.Type
            || node.Output[0] != value || node.Input.Count < op.Args.Length || taken.Contains(node))
        {
            return null;
        }

        if (op.Bind is not null && m.Nodes.TryGetValue(op.Bind, out var same))
        {
            return ReferenceEquals(same, node) ? m : null;
        }

        var orders = Commutative.Contains(op.Type) && op.Args.Length == 2 ? new[] { new[] { 0, 1 }, new[] { 1, 0 } } : [Enumerable.Range(0, op.Args.Length).ToArray()];
        foreach (var order in orders)
        {
            var trial = m.Clone();
            if (op.Bind is not null)
            {
                trial.Nodes[op.Bind] = node;
            }

            if (!trial.Covered.Any(c => ReferenceEquals(c, node)))
            {
                trial.Covered.Add(node);
            }

            for (int a = 0; a < op.Args.Length && trial is not null; a++)
            {
                trial = Match(s, op.Args[a], node.Input[order[a]], trial, taken);
            }

            if (trial is not null)
            {
                return trial;
            }
        }

        return null;
    }
}
