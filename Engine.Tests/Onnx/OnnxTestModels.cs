// Small models of every layer type and every activation of the table, with an input shape: exported to ONNX and run
// in ONNX Runtime by OnnxExportTests, and imported back by OnnxRoundTripTests.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Engine.Nn;
using Engine.Ops;
using BatchNorm = Engine.Nn.BatchNorm;
using Conv1d = Engine.Nn.Conv1d;
using Conv2d = Engine.Nn.Conv2d;
using MedianPool2d = Engine.Nn.MedianPool2d;
using ConvTranspose2d = Engine.Nn.ConvTranspose2d;
using MaxPool2d = Engine.Nn.MaxPool2d;
using AvgPool2d = Engine.Nn.AvgPool2d;
using LayerNorm = Engine.Nn.LayerNorm;
using Dropout = Engine.Nn.Dropout;
using Maxout = Engine.Nn.Maxout;
using Softmax = Engine.Nn.Softmax;

namespace Engine.Tests.Onnx;

/// <summary>A test model: a name, how to build it, its input shapes (batch first), and whether the importer reads its export back.</summary>
internal sealed record OnnxTestModel(string Name, Func<Module> Build, Shape[] Inputs, bool Imports = true)
{
    public override string ToString() => Name;
}

internal static class OnnxTestModels
{
    public static IReadOnlyList<OnnxTestModel> All { get; } = Build();

    public static OnnxTestModel Get(string name) => All.Single(m => m.Name == name);

    private static OnnxTestModel M(string name, Func<Module> build, params int[] shape) => new(name, build, [new Shape(shape)]);

    private static List<OnnxTestModel> Build()
    {
        var list = new List<OnnxTestModel>
        {
            M("linear", () => new Sequential(new Linear(6, 4)), 3, 6),
            M("linear_3d_no_bias", () => new Sequential(new Linear(6, 4, bias: false), new Linear(4, 3)), 3, 2, 6),
            M("conv1d", () => new Sequential(new Conv1d(3, 4, 3, stride: 2, padding: 1), new Conv1d(4, 6, 3, dilation: 2, groups: 2, bias: false),
                new Conv1d(6, 2, 4, new Conv1dOptions { SamePadding = true })), 3, 3, 13),
            M("conv2d_stride_padding", () => new Sequential(new Conv2d(2, 4, 3, stride: 2, padding: 1)), 3, 2, 7, 7),
            M("conv2d_grouped_dilated_asymmetric", () => new Sequential(new Conv2d(4, 6, (3, 2), new Conv2dOptions
            {
                Stride = (1, 2), Padding = new ConvPadding(1, 0, 2, 1), Dilation = (2, 1), Groups = 2,
            }, bias: false)), 3, 4, 8, 7),
            M("conv2d_same", () => new Sequential(new Conv2d(2, 3, (3, 4), new Conv2dOptions { Padding = ConvPadding.Same })), 3, 2, 6, 5),
            M("separable_conv2d", () => new Sequential(new SeparableConv2d(3, 5, 3, padding: 1, bias: true)), 3, 3, 6, 6),
            M("conv_transpose2d", () => new Sequential(new ConvTranspose2d(4, 6, 3, stride: 2, padding: 1, outputPadding: 1, groups: 2)), 3, 4, 4, 5),
            M("max_pool2d", () => new Sequential(new Conv2d(2, 3, 3), new MaxPool2d(3, stride: 2, padding: 1)), 3, 2, 9, 8),
            M("avg_pool2d", () => new Sequential(new AvgPool2d((3, 2), (2, 1), (1, 1)), new AvgPool2d(2)), 3, 2, 9, 8),
            M("lp_pool2d", () => new Sequential(new Sigmoid(), new LPPool2d(2, 2), new LPPool2d(1.5, (2, 3), (1, 2))), 3, 2, 8, 12),
            // Median pooling has no ONNX op; its export (strided Slices, TopK, ReduceMax) is checked by ONNX Runtime only.
            new("median_pool2d", () => new Sequential(new MedianPool2d(3, stride: 1), new MedianPool2d((3, 1), (2, 1))), [new Shape(3, 2, 8, 6)], Imports: false),
            M("global_max_pool", () => new Sequential(new Conv2d(2, 4, 3), new GlobalMaxPool(), new Linear(4, 3)), 3, 2, 6, 5),
            M("global_avg_pool", () => new Sequential(new Conv2d(2, 4, 3), new GlobalAvgPool(), new Linear(4, 3)), 3, 2, 6, 5),
            M("batch_norm2d", () => new Sequential(new Conv2d(2, 4, 3), new BatchNorm2d(4), new Relu()), 3, 2, 6, 6),
            M("batch_norm1d", () => new Sequential(new Linear(6, 5), new BatchNorm1d(5, eps: 1e-3f, momentum: 0.2f)), 3, 6),
            M("batch_norm_any_rank_no_affine", () => new Sequential(new BatchNorm(4, affine: false), new BatchNorm1d(4)), 3, 4, 5),
            M("layer_norm", () => new Sequential(new LayerNorm(new Shape(5)), new Linear(5, 5), new LayerNorm(new Shape(5), eps: 1e-3f, elementwiseAffine: false)), 3, 5),
            M("layer_norm_2d", () => new Sequential(new LayerNorm(new Shape(4, 5))), 3, 2, 4, 5),
            M("dropout_identity", () => new Sequential(new Linear(6, 6), new Dropout(0.5f), new Identity(), new Linear(6, 2)), 3, 6),
            M("flatten", () => new Sequential(new Flatten(2), new Flatten(1, 2), new Flatten()), 3, 2, 3, 4, 2),
            M("residual", () => new Sequential(new Linear(5, 6), new Residual(new Linear(6, 6), new Tanh(), new Linear(6, 6)), new Linear(6, 2)), 3, 5),
            new("graph_add_concat_two_outputs", Graph, [new Shape(3, 2, 5, 5)]),
            new("graph_gates_broadcast", Gates, [new Shape(3, 2, 5, 4)]),
            M("mnist_cnn", () => new Sequential(
                new Conv2d(1, 4, 3, padding: 1), new BatchNorm2d(4), new Relu(), new MaxPool2d(2),
                new Conv2d(4, 8, 3, padding: 1), new Relu(), new MaxPool2d(2), new Flatten(), new Linear(8 * 7 * 7, 16), new Relu(), new Dropout(0.25f), new Linear(16, 10), new LogSoftmax(1)), 3, 1, 28, 28),
        };

        // Every row of the activation table, with default and non-default settings.
        foreach (var row in ActivationTable.All)
        {
            list.Add(row.Name switch
            {
                ActivationTable.MaxoutName => M("act_maxout", () => new Sequential(new Maxout(2), new Maxout(3)), 3, 12),
                ActivationTable.SoftmaxName => M("act_softmax", () => new Sequential(new Softmax(1), new Softmax(-1)), 3, 4, 5),
                ActivationTable.LogSoftmaxName => M("act_log_softmax", () => new Sequential(new LogSoftmax(1), new LogSoftmax()), 3, 4, 5),
                _ => M("act_" + row.Key, () => new Sequential(new Activation(ActivationTable.Named(row.Name, Choice(row)))), 3, 7),
            });
        }

        list.Add(M("act_settings", () => new Sequential(
            new LeakyRelu(0.2f), new Elu(0.7f), new Gelu(), new Gelu(GeluApproximation.Tanh), new Swish(1.5f), new Softplus(2f), new Softplus(0.5f, 3f), new Softplus(1f, 1.5f)), 3, 7));
        return list;
    }

    private static OpParams Choice(ActivationDefinition row) => new(row.ChoiceParameter is { } c
        ? [new KeyValuePair<string, object>(c, row.ChoiceValue!)]
        : []);

    private static Module Graph()
    {
        var g = new GraphModule();
        var x = g.Input();
        var a = g.Apply(g.Register("conv", new Conv2d(2, 2, 3, padding: 1)), x);
        var h = g.Apply(new Relu(), a);
        var s = g.Add(x, h);
        var c = g.Concat(1, s, g.Apply(g.Register("side", new Conv2d(2, 3, 1)), x));
        var flat = g.Apply(new Flatten(), c);
        g.Output(g.Apply(g.Register("head", new Linear(5 * 5 * 5, 3)), flat), c);
        return g;
    }

    // A gated convolution with squeeze-and-excitation weights: Multiply, Subtract and Divide, (N, C, 1, 1) broadcast
    // on (N, C, H, W) through Unflatten, and global max pooling.
    private static Module Gates()
    {
        var g = new GraphModule();
        var x = g.Input();
        var h = g.Apply(g.Register("conv_h", new Conv2d(2, 3, 3, padding: 1)), x);
        var gate = g.Apply(new Sigmoid(), g.Apply(g.Register("conv_g", new Conv2d(2, 3, 3, padding: 1)), x));
        var y = g.Multiply(h, gate);
        var w = g.Apply(new Unflatten(1, 3, 1, 1), g.Apply(new Sigmoid(), g.Apply(g.Register("fc", new Linear(3, 3)), g.Apply(new GlobalMaxPool(), y))));
        var z = g.Subtract(g.Multiply(y, w), g.Divide(h, g.Apply(new Softplus(), gate)));
        g.Output(g.Apply(g.Register("head", new Linear(3, 2)), g.Apply(new GlobalAvgPool(), z)));
        return g;
    }

    public static string Describe(Shape s) => string.Join("x", s.Select(d => d.ToString(CultureInfo.InvariantCulture)));
}
