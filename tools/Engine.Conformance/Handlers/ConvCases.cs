// Conformance handler for conv1d, conv2d and conv_transpose2d cases: forward, and with g the input, weight and bias gradients.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using Engine.Ops;

namespace Engine.Conformance.Handlers;

/// <summary>
/// Runs <c>conv1d</c>, <c>conv2d</c> and <c>conv_transpose2d</c> cases through <see cref="Conv1d"/>, <see cref="Conv2d"/>
/// and <see cref="ConvTranspose2d"/>. conv2d's padding may be [pH, pW], a number, [top, left, bottom, right] or
/// "same"/"valid"; conv1d's settings are numbers (padding also "same"/"valid").
/// </summary>
public sealed class ConvCases : IConformanceHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> Ops { get; } = ["conv1d", "conv2d", "conv_transpose2d"];

    /// <inheritdoc />
    public IReadOnlyDictionary<string, HostTensor> Run(Device device, ConformanceCase testCase)
    {
        ArgumentNullException.ThrowIfNull(testCase);
        if (testCase.Op == "conv1d")
        {
            return RunConv1d(device, testCase);
        }

        var p = testCase.Params;
        var stride = p.Pair("stride", 1);
        var dilation = p.Pair("dilation", 1);
        int groups = p.Int("groups", 1);
        bool transposed = testCase.Op == "conv_transpose2d";
        using var x = Load(device, testCase.Input("x"));
        using var w = Load(device, testCase.Input("w"));
        var bh = testCase.OptionalInput("b");
        using var b = bh is null ? null : Load(device, bh);
        var gh = testCase.OptionalInput("g");
        var outputs = new Dictionary<string, HostTensor>();
        if (!transposed)
        {
            var o = new Conv2dOptions { Stride = (stride[0], stride[1]), Dilation = (dilation[0], dilation[1]), Groups = groups, Padding = Padding(p.Node("padding")) };
            using var y = Tensor.Empty(device, Conv2d.OutputShape(x.Shape, w.Shape, o));
            Conv2d.Forward(x, w, b, y, o);
            outputs["y"] = HostTensor.From(y);
            if (gh is not null)
            {
                using var g = Load(device, gh);
                using var dx = Tensor.Empty(device, x.Shape);
                using var dw = Tensor.Empty(device, w.Shape);
                using var db = b is null ? null : Tensor.Empty(device, b.Shape);
                Conv2d.Backward(x, w, g, dx, dw, db, o);
                Collect(outputs, dx, dw, db);
            }
        }
        else
        {
            var pad = p.Pair("padding", 0);
            var outPad = p.Pair("output_padding", 0);
            var o = new ConvTranspose2dOptions
            {
                Stride = (stride[0], stride[1]), Dilation = (dilation[0], dilation[1]), Groups = groups,
                Padding = (pad[0], pad[1]), OutputPadding = (outPad[0], outPad[1]),
            };
            using var y = Tensor.Empty(device, ConvTranspose2d.OutputShape(x.Shape, w.Shape, o));
            ConvTranspose2d.Forward(x, w, b, y, o);
            outputs["y"] = HostTensor.From(y);
            if (gh is not null)
            {
                using var g = Load(device, gh);
                using var dx = Tensor.Empty(device, x.Shape);
                using var dw = Tensor.Empty(device, w.Shape);
                using var db = b is null ? null : Tensor.Empty(device, b.Shape);
                ConvTranspose2d.Backward(x, w, g, dx, dw, db, o);
                Collect(outputs, dx, dw, db);
            }
        }

        return outputs;
    }

    /// <summary>conv1d's settings from <c>stride</c>, <c>padding</c> (a number, "same" or "valid"), <c>dilation</c>, <c>groups</c>.</summary>
    internal static Conv1dOptions Conv1dOptions(CaseParams p)
    {
        var pad = p.Node("padding");
        bool same = pad is JsonValue v && v.TryGetValue<string>(out var text) && ConvPadding.Parse(text).IsSame;
        return new Conv1dOptions
        {
            Stride = p.Int("stride", 1), Dilation = p.Int("dilation", 1), Groups = p.Int("groups", 1), SamePadding = same,
            Padding = pad is JsonValue n && n.TryGetValue<double>(out var d) ? (int)Math.Round(d) : 0,
        };
    }

    private static Dictionary<string, HostTensor> RunConv1d(Device device, ConformanceCase c)
    {
        var o = Conv1dOptions(c.Params);
        using var x = Load(device, c.Input("x"));
        using var w = Load(device, c.Input("w"));
        var bh = c.OptionalInput("b");
        using var b = bh is null ? null : Load(device, bh);
        var outputs = new Dictionary<string, HostTensor>();
        using var y = Tensor.Empty(device, Conv1d.OutputShape(x.Shape, w.Shape, o));
        Conv1d.Forward(x, w, b, y, o);
        outputs["y"] = HostTensor.From(y);
        if (c.OptionalInput("g") is { } gh)
        {
            using var g = Load(device, gh);
            using var dx = Tensor.Empty(device, x.Shape);
            using var dw = Tensor.Empty(device, w.Shape);
            using var db = b is null ? null : Tensor.Empty(device, b.Shape);
            Conv1d.Backward(x, w, g, dx, dw, db, o);
            Collect(outputs, dx, dw, db);
        }

        return outputs;
    }

    private static Tensor Load(Device device, HostTensor t) => Tensor.FromHost(device, t.ToFloat(), t.ToShape());

    private static void Collect(Dictionary<string, HostTensor> outputs, Tensor dx, Tensor dw, Tensor? db)
    {
        outputs["dx"] = HostTensor.From(dx);
        outputs["dw"] = HostTensor.From(dw);
        if (db is not null)
        {
            outputs["db"] = HostTensor.From(db);
        }
    }

    private static ConvPadding Padding(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return ConvPadding.Valid;
            case JsonValue v when v.TryGetValue<string>(out var s):
                return ConvPadding.Parse(s);
            case JsonValue v:
                int n = (int)Math.Round(v.GetValue<double>());
                return ConvPadding.Symmetric(n, n);
            case JsonArray a:
                var d = a.Select(e => (int)Math.Round(e!.GetValue<double>())).ToArray();
                return d.Length switch
                {
                    2 => ConvPadding.Symmetric(d[0], d[1]),
                    4 => new ConvPadding(d[0], d[1], d[2], d[3]),
                    _ => throw new FormatException($"padding must have 2 or 4 numbers, got {d.Length}"),
                };
            default:
                throw new FormatException("padding must be a number, a list or \"same\"/\"valid\"");
        }
    }
}
