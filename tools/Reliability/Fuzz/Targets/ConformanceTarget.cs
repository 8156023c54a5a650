// Fuzz target: a conformance case file (JSON a user may be sent to check the engine against PyTorch).
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Engine.Conformance;

namespace Engine.Reliability.Fuzz.Targets;

internal static class ConformanceTarget
{
    public static FuzzTarget Target { get; } = new(
        "conformance-json",
        "ConformanceRunner.Load of a case file",
        Run,
        [typeof(FormatException)],
        ["Engine.Conformance.dll:Engine.Conformance"],
        Seeds);

    private static void Run(byte[] data, FuzzWorkspace w)
    {
        string path = w.Write("cases.json", data);
        foreach (var c in ConformanceRunner.Load(path))
        {
            if (c.Inputs.Values.Concat(c.Outputs.Values).Any(t => t.Shape.Aggregate(1L, (a, b) => a * b) != t.Data.Length))
            {
                throw new FuzzContractException($"case '{c.Label}' holds a tensor whose shape does not fit its data");
            }
        }
    }

    private static IEnumerable<(string, byte[])> Seeds()
    {
        yield return ("valid-relu", Utf8("""
            {"cases": [{"op": "relu", "label": "small", "params": {},
              "inputs": {"x": {"shape": [2, 2], "data": [-1, 0.5, "nan", "-inf"]}, "g": {"shape": [2, 2], "data": [1, 1, 1, 1]}},
              "outputs": {"y": {"shape": [2, 2], "data": [0, 0.5, "nan", 0]}, "dx": {"shape": [2, 2], "data": [0, 1, "nan", 0]}}}]}
            """));
        yield return ("valid-conv-params", Utf8("""
            {"cases": [{"op": "conv2d", "label": "k3", "params": {"stride": [1, 2], "padding": 1, "groups": 1},
              "inputs": {"x": {"shape": [1, 1, 2, 2], "data": [1, 2, 3, 4]}, "w": {"shape": [1, 1, 1, 1], "data": [2]}},
              "outputs": {"y": {"shape": [1, 1, 2, 1], "data": [2, 6]}}}]}
            """));
        yield return ("hostile-shape-overflow", Utf8("""{"cases": [{"op": "relu", "inputs": {"x": {"shape": [65536, 65536, 65536, 65536], "data": []}}}]}"""));
        yield return ("hostile-wrong-kinds", Utf8("""{"cases": [{"op": 7, "params": [], "inputs": {"x": {"shape": ["a"], "data": {}}}}]}"""));
        yield return ("hostile-deep", Utf8(new string('[', 2000) + new string(']', 2000)));
    }

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
}
