// The conformance case format (see docs/conformance.md): PyTorch-generated inputs, params and expected outputs.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;

namespace Engine.Conformance;

/// <summary>A tensor in a case file: shape and row-major data.</summary>
/// <param name="Shape">Dimensions (empty for a scalar).</param>
/// <param name="Data">Row-major values.</param>
public sealed record HostTensor(int[] Shape, double[] Data)
{
    /// <summary>The data as float32, as the engine consumes it.</summary>
    public float[] ToFloat() => Data.Select(d => (float)d).ToArray();

    /// <summary>The engine shape (a scalar becomes [1]).</summary>
    public Shape ToShape() => Shape.Length == 0 ? new Shape(1) : new Shape(Shape);

    /// <summary>Builds a host tensor from engine output.</summary>
    public static HostTensor From(int[] shape, ReadOnlySpan<float> data)
    {
        var d = new double[data.Length];
        for (int i = 0; i < d.Length; i++)
        {
            d[i] = data[i];
        }

        return new HostTensor(shape, d);
    }

    /// <summary>Builds a host tensor from an engine tensor (copies it to the host).</summary>
    public static HostTensor From(Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        return From(t.Shape.ToArray(), t.ToArray());
    }
}

/// <summary>One conformance case.</summary>
public sealed class ConformanceCase
{
    private readonly HashSet<string> readInputs = new(StringComparer.Ordinal);

    /// <summary>The op name, e.g. <c>relu</c>.</summary>
    public required string Op { get; init; }

    /// <summary>Free text describing the case.</summary>
    public required string Label { get; init; }

    /// <summary>The op's settings.</summary>
    public required CaseParams Params { get; init; }

    /// <summary>Input tensors by name.</summary>
    public required IReadOnlyDictionary<string, HostTensor> Inputs { get; init; }

    /// <summary>Expected outputs by name.</summary>
    public required IReadOnlyDictionary<string, HostTensor> Outputs { get; init; }

    /// <summary>A required input.</summary>
    /// <exception cref="FormatException">The input is missing.</exception>
    public HostTensor Input(string name) =>
        OptionalInput(name) ?? throw new FormatException($"case '{Label}' ({Op}) has no input '{name}'");

    /// <summary>An optional input (marks the name read).</summary>
    public HostTensor? OptionalInput(string name)
    {
        readInputs.Add(name);
        return Inputs.TryGetValue(name, out var t) ? t : null;
    }

    /// <summary>Inputs present in the file that the handler never asked for (a misspelled name, say); the runner fails the case on them.</summary>
    public IEnumerable<string> UnreadInputs => Inputs.Keys.Where(k => !readInputs.Contains(k));

    /// <summary>Whether an output of that name is expected.</summary>
    public bool Wants(string name) => Outputs.ContainsKey(name);

    /// <summary>Parses a case object.</summary>
    /// <exception cref="FormatException">The object is not a case: a field is missing or of the wrong kind; the message names it.</exception>
    public static ConformanceCase Parse(JsonObject o)
    {
        ArgumentNullException.ThrowIfNull(o);
        return new ConformanceCase
        {
            Op = Text(o["op"]) ?? throw new FormatException("case without an 'op' string"),
            Label = o["label"] is null ? string.Empty : Text(o["label"]) ?? throw new FormatException("'label' is not a string"),
            Params = new CaseParams(Object(o, "params")),
            Inputs = ParseTensors(Object(o, "inputs"), "input"),
            Outputs = ParseTensors(Object(o, "outputs"), "output"),
        };
    }

    private static string? Text(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static JsonObject? Object(JsonObject o, string key) => o[key] switch
    {
        null => null,
        JsonObject j => j,
        _ => throw new FormatException($"'{key}' is not an object"),
    };

    private static Dictionary<string, HostTensor> ParseTensors(JsonObject? o, string what)
    {
        var d = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        if (o is null)
        {
            return d;
        }

        foreach (var (name, node) in o)
        {
            var shapeNode = node?["shape"] as JsonArray ?? throw new FormatException($"{what} '{name}' has no shape array");
            var dataNode = node!["data"] as JsonArray ?? throw new FormatException($"{what} '{name}' has no data array");
            var shape = shapeNode.Select(x => x is JsonValue v && v.TryGetValue<int>(out int n) && n >= 0 ? n
                : throw new FormatException($"{what} '{name}' has a shape entry that is not a non-negative integer")).ToArray();

            // The element count is compared with the data actually listed, so no shape can declare more than the file holds.
            long count = shape.Contains(0) ? 0 : 1;
            foreach (int n in shape)
            {
                count = count > dataNode.Count ? count : count * n;
            }

            if (count != dataNode.Count)
            {
                throw new FormatException($"{what} '{name}' has shape [{string.Join(", ", shape)}] but {dataNode.Count} values");
            }

            var data = dataNode.Select(x => ToDouble(x) ?? throw new FormatException($"{what} '{name}' has a value that is not a number (or \"nan\", \"inf\", \"-inf\")")).ToArray();
            d[name] = new HostTensor(shape, data);
        }

        return d;
    }

    private static double? ToDouble(JsonNode? x) => x switch
    {
        JsonValue v when v.TryGetValue<double>(out var d) => d,
        JsonValue v when v.TryGetValue<string>(out var s) => s switch
        {
            "nan" or "NaN" => double.NaN,
            "inf" or "Infinity" => double.PositiveInfinity,
            "-inf" or "-Infinity" => double.NegativeInfinity,
            _ => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double p) ? p : null,
        },
        _ => null,
    };
}
