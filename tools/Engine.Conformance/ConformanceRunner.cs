// Runs conformance case files on a device, compares with PyTorch's values and reports one line per case.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.Json.Nodes;

namespace Engine.Conformance;

/// <summary>The outcome of one case.</summary>
/// <param name="Op">The op.</param>
/// <param name="Label">The case's label.</param>
/// <param name="Passed">Whether every output was within tolerance and the case was understood.</param>
/// <param name="WorstAbs">Largest absolute error over all outputs.</param>
/// <param name="WorstRel">Largest relative error over all outputs (elements whose expected value is non-zero).</param>
/// <param name="Message">Why it failed, or null.</param>
public sealed record CaseResult(string Op, string Label, bool Passed, double WorstAbs, double WorstRel, string? Message)
{
    /// <inheritdoc />
    public override string ToString() => string.Format(
        CultureInfo.InvariantCulture,
        "{0,-18} {1,-44} {2}  abs {3:0.00e+00}  rel {4:0.00e+00}{5}",
        Op, Label.Length > 44 ? Label[..44] : Label, Passed ? "pass" : "FAIL", WorstAbs, WorstRel, Message is null ? string.Empty : "  " + Message);
}

/// <summary>
/// Reads case files in the conformance format and runs them with the handlers found in this assembly.
/// A value passes when |got - want| &lt;= atol + rtol * |want| (atol 1e-4, rtol 1e-3). Unknown ops, unknown params,
/// inputs the op never reads, a case without outputs and missing outputs are failures.
/// </summary>
public static class ConformanceRunner
{
    /// <summary>Absolute tolerance.</summary>
    public const double Atol = 1e-4;

    /// <summary>Relative tolerance.</summary>
    public const double Rtol = 1e-3;

    private static readonly Lazy<Dictionary<string, IConformanceHandler>> Handlers = new(Discover);

    /// <summary>Every op a handler exists for.</summary>
    public static IReadOnlyCollection<string> KnownOps => Handlers.Value.Keys;

    /// <summary>Parses a case file.</summary>
    /// <exception cref="FormatException">The file is not in the conformance format.</exception>
    public static IReadOnlyList<ConformanceCase> Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses the text of a case file; <paramref name="source"/> names it in messages.</summary>
    /// <exception cref="FormatException">The text is not in the conformance format; the message names the source, the case and what is wrong.</exception>
    internal static IReadOnlyList<ConformanceCase> Parse(string json, string source)
    {
        JsonNode? root;
        try
        {
            // A repeated key is refused while parsing (JsonObject would otherwise throw ArgumentException on first use).
            root = JsonNode.Parse(json, documentOptions: new System.Text.Json.JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new FormatException($"{source}: not valid JSON: {ex.Message}", ex);
        }

        var cases = (root as JsonObject ?? throw new FormatException($"{source}: not a JSON object"))["cases"] as JsonArray
            ?? throw new FormatException($"{source}: no 'cases' array");
        var list = new List<ConformanceCase>(cases.Count);
        for (int i = 0; i < cases.Count; i++)
        {
            try
            {
                list.Add(ConformanceCase.Parse(cases[i] as JsonObject ?? throw new FormatException("not an object")));
            }
            catch (FormatException ex)
            {
                throw new FormatException($"{source}: case {i}: {ex.Message}", ex);
            }
        }

        return list;
    }

    /// <summary>Runs every case of a file, calling <paramref name="report"/> after each.</summary>
    public static IReadOnlyList<CaseResult> RunFile(Device device, string path, Action<CaseResult>? report = null)
    {
        var results = new List<CaseResult>();
        foreach (var c in Load(path))
        {
            var r = RunCase(device, c);
            report?.Invoke(r);
            results.Add(r);
        }

        return results;
    }

    /// <summary>Runs one case.</summary>
    public static CaseResult RunCase(Device device, ConformanceCase c)
    {
        ArgumentNullException.ThrowIfNull(c);
        if (!Handlers.Value.TryGetValue(c.Op, out var handler))
        {
            return new CaseResult(c.Op, c.Label, false, double.NaN, double.NaN, $"unknown op '{c.Op}'");
        }

        if (c.Outputs.Count == 0)
        {
            return new CaseResult(c.Op, c.Label, false, double.NaN, double.NaN, "the case lists no outputs: nothing would be compared");
        }

        IReadOnlyDictionary<string, HostTensor> got;
        try
        {
            got = handler.Run(device, c);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return new CaseResult(c.Op, c.Label, false, double.NaN, double.NaN, $"{ex.GetType().Name}: {ex.Message}");
        }

        var unread = c.Params.Unread.ToList();
        if (unread.Count > 0)
        {
            return new CaseResult(c.Op, c.Label, false, double.NaN, double.NaN, $"unknown param(s): {string.Join(", ", unread)}");
        }

        var unused = c.UnreadInputs.ToList();
        if (unused.Count > 0)
        {
            return new CaseResult(c.Op, c.Label, false, double.NaN, double.NaN, $"unknown input(s): {string.Join(", ", unused)}");
        }

        double worstAbs = 0, worstRel = 0;
        var problems = new List<string>();
        foreach (var (name, want) in c.Outputs)
        {
            if (!got.TryGetValue(name, out var g))
            {
                problems.Add($"output '{name}' not computed");
                continue;
            }

            if (g.Data.Length != want.Data.Length || !SameShape(g.Shape, want.Shape))
            {
                problems.Add($"output '{name}' has shape [{string.Join(", ", g.Shape)}], expected [{string.Join(", ", want.Shape)}]");
                continue;
            }

            int bad = -1;
            for (int i = 0; i < want.Data.Length; i++)
            {
                double w = want.Data[i], v = g.Data[i];
                if (double.IsNaN(w) || double.IsNaN(v) || double.IsInfinity(w) || double.IsInfinity(v))
                {
                    if (!(w.Equals(v)))
                    {
                        bad = bad < 0 ? i : bad;
                        worstAbs = double.PositiveInfinity;
                    }

                    continue;
                }

                double err = Math.Abs(v - w);
                worstAbs = Math.Max(worstAbs, err);
                if (w != 0)
                {
                    worstRel = Math.Max(worstRel, err / Math.Abs(w));
                }

                if (err > Atol + (Rtol * Math.Abs(w)) && bad < 0)
                {
                    bad = i;
                }
            }

            if (bad >= 0)
            {
                problems.Add(string.Format(CultureInfo.InvariantCulture, "{0}[{1}] = {2:G7}, expected {3:G7}", name, bad, g.Data[bad], want.Data[bad]));
            }
        }

        return new CaseResult(c.Op, c.Label, problems.Count == 0, worstAbs, worstRel, problems.Count == 0 ? null : string.Join("; ", problems));
    }

    private static bool SameShape(int[] a, int[] b)
    {
        static int[] Norm(int[] s) => s.Length == 0 ? [1] : s;
        return Norm(a).SequenceEqual(Norm(b));
    }

    private static Dictionary<string, IConformanceHandler> Discover()
    {
        var d = new Dictionary<string, IConformanceHandler>(StringComparer.Ordinal);
        foreach (var t in typeof(ConformanceRunner).Assembly.GetTypes())
        {
            if (t.IsClass && !t.IsAbstract && typeof(IConformanceHandler).IsAssignableFrom(t) && t.GetConstructor(Type.EmptyTypes) is not null)
            {
                var h = (IConformanceHandler)Activator.CreateInstance(t)!;
                foreach (var op in h.Ops)
                {
                    if (!d.TryAdd(op, h))
                    {
                        throw new InvalidOperationException($"Two conformance handlers claim op '{op}': {d[op].GetType().Name} and {t.Name}.");
                    }
                }
            }
        }

        return d;
    }
}
