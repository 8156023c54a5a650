// Builds modules and losses from the layer and loss objects of whole-model conformance cases (docs/conformance.md).
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using Engine.Nn;
using Engine.Ops;

namespace Engine.Conformance.Handlers;

/// <summary>
/// Turns <c>{"type": "conv2d", "in_channels": 3, ...}</c> layer objects into modules and a loss object into an
/// <see cref="ILossSpec"/>. Every key must be understood: an unknown type or setting is an error naming it.
/// </summary>
internal static class LayerFactory
{
    /// <summary>The modules of a layer list, in order.</summary>
    /// <exception cref="FormatException">A layer is malformed or unknown; the message names its index.</exception>
    public static IEnumerable<Module> Build(JsonArray layers, string path)
    {
        ArgumentNullException.ThrowIfNull(layers);
        var list = new List<Module>();
        for (int i = 0; i < layers.Count; i++)
        {
            string where = path.Length == 0 ? $"layer {i}" : $"layer {path}.{i}";
            var o = layers[i] as JsonObject ?? throw new FormatException($"{where} is not an object");
            try
            {
                list.Add(Layer(o, path.Length == 0 ? $"{i}" : $"{path}.{i}"));
            }
            catch (ArgumentException ex)
            {
                throw new FormatException($"{where}: {ex.Message}", ex);
            }
        }

        return list;
    }

    /// <summary>The loss of a loss object such as <c>{"op": "cross_entropy", "reduction": "mean"}</c>.</summary>
    /// <exception cref="FormatException">Unknown loss or setting.</exception>
    public static ILossSpec Loss(JsonObject loss)
    {
        try
        {
            return Nn.Loss.From(LossSpec.FromJson(loss));
        }
        catch (ArgumentException ex)
        {
            throw new FormatException($"loss: {ex.Message}", ex);
        }
    }

    private static Module Layer(JsonObject o, string path)
    {
        string type = o["type"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new FormatException($"layer {path} has no string 'type'");
        if (ActivationTable.IsActivation(type))
        {
            return new Activation(ActivationTable.FromJson(o));
        }

        var p = new CaseParams(o);
        p.Has("type");
        Module m = type switch
        {
            "linear" => new Linear(p.Int("in_features", 0), p.Int("out_features", 0), p.Bool("bias", true)),
            "conv1d" => new Nn.Conv1d(p.Int("in_channels", 0), p.Int("out_channels", 0), p.Int("kernel", 0), ConvCases.Conv1dOptions(p), p.Bool("bias", true)),
            "conv2d" => new Nn.Conv2d(p.Int("in_channels", 0), p.Int("out_channels", 0), Tuple(p.Pair("kernel", 0)), new Conv2dOptions
            {
                Stride = Tuple(p.Pair("stride", 1)),
                Padding = ConvPadding.Symmetric(p.Pair("padding", 0)[0], p.Pair("padding", 0)[1]),
                Dilation = Tuple(p.Pair("dilation", 1)),
                Groups = p.Int("groups", 1),
            }, p.Bool("bias", true)),
            "conv_transpose2d" => new Nn.ConvTranspose2d(p.Int("in_channels", 0), p.Int("out_channels", 0), Tuple(p.Pair("kernel", 0)), new ConvTranspose2dOptions
            {
                Stride = Tuple(p.Pair("stride", 1)),
                Padding = Tuple(p.Pair("padding", 0)),
                OutputPadding = Tuple(p.Pair("output_padding", 0)),
                Dilation = Tuple(p.Pair("dilation", 1)),
                Groups = p.Int("groups", 1),
            }, p.Bool("bias", true)),
            "max_pool2d" => new Nn.MaxPool2d(Tuple(p.Pair("kernel", 0)), p.Has("stride") ? Tuple(p.Pair("stride", 0)) : null, Tuple(p.Pair("padding", 0))),
            "avg_pool2d" => new Nn.AvgPool2d(Tuple(p.Pair("kernel", 0)), p.Has("stride") ? Tuple(p.Pair("stride", 0)) : null, Tuple(p.Pair("padding", 0))),
            "median_pool2d" => new Nn.MedianPool2d(Tuple(p.Pair("kernel", 0)), p.Has("stride") ? Tuple(p.Pair("stride", 0)) : null),
            "global_max_pool2d" => new GlobalMaxPool(),
            "lp_pool2d" => new LPPool2d(p.Number("norm_type", 2), Tuple(p.Pair("kernel", 0)), p.Has("stride") ? Tuple(p.Pair("stride", 0)) : null),
            "batch_norm" => new Nn.BatchNorm(p.Int("num_features", 0), (float)p.Number("eps", 1e-5), (float)p.Number("momentum", 0.1)),
            "layer_norm" => new Nn.LayerNorm(new Shape(NormalizedShape(p)), (float)p.Number("eps", 1e-5)),
            "flatten" => new Flatten(),
            "residual" => new Residual(Build(p.Node("layers") as JsonArray ?? throw new FormatException($"layer {path}: residual needs a 'layers' list"), path).ToArray()),
            _ => throw new FormatException($"layer {path}: unknown type '{type}'"),
        };
        var unread = p.Unread.ToList();
        if (unread.Count > 0)
        {
            throw new FormatException($"layer {path} ({type}): unknown setting(s) {string.Join(", ", unread)}");
        }

        return m;
    }

    private static (int H, int W) Tuple(int[] pair) => pair.Length == 2 ? (pair[0], pair[1]) : throw new FormatException($"expected a pair, got {pair.Length} numbers");

    private static int[] NormalizedShape(CaseParams p) => p.Node("normalized_shape") switch
    {
        JsonArray a => a.Select(x => (int)x!.GetValue<double>()).ToArray(),
        JsonValue v => [(int)v.GetValue<double>()],
        _ => throw new FormatException("layer_norm needs normalized_shape"),
    };
}
