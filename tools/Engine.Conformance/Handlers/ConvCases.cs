// Conformance handler for conv1d, conv2d and conv_transpose2d cases: forward, and with g the input, weight and bias gradients.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using Engine.Ops;

namespace Engine.Conformance.Handlers;

/// <summary>
/// Runs <c>conv1d</c>, <c>conv2d</c> and <c>conv_transpose2d</c> cases through <see cref="Conv1dOp"/>, <see cref="Conv2dOp"/>
/// and <see cref="ConvTranspose2dOp"/>. conv2d's padding may be [pH, pW], a number, [top, left, bottom, right] or
/// "same"/"valid"; conv1d's settings are numbers (padding also "same"/"valid").
/// </summary>
internal sealed class ConvCases : IConformanceHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> Ops { get; } = ["conv1d", "conv2d", "conv_transpose2d"];

    /// <inheritdoc />
    public IReadOnlyDictionary<string, HostTensor> Run(Device device, ConformanceCase testCase)
    {
        ArgumentNullException.ThrowIfNull(testCase);
        var p = testCase.Params;
        using var x = Load(device, testCase.Input("x"));
        using var w = Load(device, testCase.Input("w"));
        var bh = testCase.OptionalInput("b");
        using var b = bh is null ? null : Load(device, bh);
        switch (testCase.Op)
        {
            case "conv1d":
            {
                var o = Conv1dOptions(p);
                return Convolve(device, testCase, x, w, b, Conv1dOp.OutputShape(x.Shape, w.Shape, o),
                    y => Conv1dOp.Forward(x, w, b, y, o), (g, dx, dw, db) => Conv1dOp.Backward(x, w, g, dx, dw, db, o));
            }

            case "conv2d":
            {
                var (stride, dilation) = (p.Pair("stride", 1), p.Pair("dilation", 1));
                var o = new Conv2dOptions { Stride = (stride[0], stride[1]), Dilation = (dilation[0], dilation[1]), Groups = p.Int("groups", 1), Padding = Padding(p.Node("padding")) };
                return Convolve(device, testCase, x, w, b, Conv2dOp.OutputShape(x.Shape, w.Shape, o),
                    y => Conv2dOp.Forward(x, w, b, y, o), (g, dx, dw, db) => Conv2dOp.Backward(x, w, g, dx, dw, db, o));
            }

            default:
            {
                var (stride, dilation, pad, outPad) = (p.Pair("stride", 1), p.Pair("dilation", 1), p.Pair("padding", 0), p.Pair("output_padding", 0));
                var o = new ConvTranspose2dOptions
                {
                    Stride = (stride[0], stride[1]), Dilation = (dilation[0], dilation[1]), Groups = p.Int("groups", 1),
                    Padding = (pad[0], pad[1]), OutputPadding = (outPad[0], outPad[1]),
                };
                return Convolve(device, testCase, x, w, b, ConvTranspose2dOp.OutputShape(x.Shape, w.Shape, o),
                    y => ConvTranspose2dOp.Forward(x, w, b, y, o), (g, dx, dw, db) => ConvTranspose2dOp.Backward(x, w, g, dx, dw, db, o));
            }
        }
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

    // y, and with g the gradients dx, dw and db (db when the case has a bias).
    private static Dictionary<string, HostTensor> Convolve(Device device, ConformanceCase c, Tensor x, Tensor w, Tensor? b, Shape yShape,
        Action<Tensor> forward, Action<Tensor, Tensor, Tensor, Tensor?> backward)
    {
        var outputs = new Dictionary<string, HostTensor>();
        using var y = Tensor.Empty(device, yShape);
        forward(y);
        outputs["y"] = HostTensor.From(y);
        if (c.OptionalInput("g") is { } gh)
        {
            using var g = Load(device, gh);
            using var dx = Tensor.Empty(device, x.Shape);
            using var dw = Tensor.Empty(device, w.Shape);
            using var db = b is null ? null : Tensor.Empty(device, b.Shape);
            backward(g, dx, dw, db);
            outputs["dx"] = HostTensor.From(dx);
            outputs["dw"] = HostTensor.From(dw);
            if (db is not null)
            {
                outputs["db"] = HostTensor.From(db);
            }
        }

        return outputs;
    }

    private static Tensor Load(Device device, HostTensor t) => Tensor.FromHost(device, t.ToFloat(), t.ToShape());

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
