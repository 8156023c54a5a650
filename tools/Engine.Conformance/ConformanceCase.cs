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
        Inputs.TryGetValue(name, out var t) ? t : throw new FormatException($"case '{Label}' ({Op}) has no input '{name}'");

    /// <summary>An optional input.</summary>
    public HostTensor? OptionalInput(string name) => Inputs.TryGetValue(name, out var t) ? t : null;

    /// <summary>Whether an output of that name is expected.</summary>
    public bool Wants(string name) => Outputs.ContainsKey(name);

    /// <summary>Parses a case object.</summary>
    public static ConformanceCase Parse(JsonObject o)
    {
        ArgumentNullException.ThrowIfNull(o);
        return new ConformanceCase
        {
            Op = o["op"]?.GetValue<string>() ?? throw new FormatException("case without 'op'"),
            Label = o["label"]?.GetValue<string>() ?? string.Empty,
            Params = new CaseParams(o["params"] as JsonObject),
            Inputs = ParseTensors(o["inputs"] as JsonObject),
            Outputs = ParseTensors(o["outputs"] as JsonObject),
        };
    }

    private static Dictionary<string, HostTensor> ParseTensors(JsonObject? o)
    {
        var d = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        if (o is null)
        {
            return d;
        }

        foreach (var (name, node) in o)
        {
            var shape = (node?["shape"] as JsonArray)?.Select(x => x!.GetValue<int>()).ToArray() ?? throw new FormatException($"tensor '{name}' has no shape");
            var data = (node?["data"] as JsonArray)?.Select(x => ToDouble(x)).ToArray() ?? throw new FormatException($"tensor '{name}' has no data");
            long n = shape.Aggregate(1L, (a, b) => a * b);
            if (n != data.Length)
            {
                throw new FormatException($"tensor '{name}' has shape [{string.Join(", ", shape)}] ({n} elements) but {data.Length} values");
            }

            d[name] = new HostTensor(shape, data);
        }

        return d;
    }

    private static double ToDouble(JsonNode? x) => x switch
    {
        JsonValue v when v.TryGetValue<double>(out var d) => d,
        JsonValue v when v.TryGetValue<string>(out var s) => s switch
        {
            "nan" or "NaN" => double.NaN,
            "inf" or "Infinity" => double.PositiveInfinity,
            "-inf" or "-Infinity" => double.NegativeInfinity,
            _ => double.Parse(s, CultureInfo.InvariantCulture),
        },
        _ => throw new FormatException("tensor data must be numbers"),
    };
}
