// Conformance handler for conv2d and conv_transpose2d cases: forward, and with g the input, weight and bias gradients.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using Engine.Ops;

namespace Engine.Conformance.Handlers;

/// <summary>
/// Runs <c>conv2d</c> and <c>conv_transpose2d</c> cases through <see cref="Conv2d"/> and <see cref="ConvTranspose2d"/>.
/// conv2d's padding may be [pH, pW], a number, [top, left, bottom, right] or "same"/"valid".
/// </summary>
public sealed class ConvCases : IConformanceHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> Ops { get; } = ["conv2d", "conv_transpose2d"];

    /// <inheritdoc />
    public IReadOnlyDictionary<string, HostTensor> Run(Device device, ConformanceCase testCase)
    {
        ArgumentNullException.ThrowIfNull(testCase);
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
