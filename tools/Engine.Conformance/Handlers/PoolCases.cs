// Conformance handler for the pooling cases: max, median, average and power-average pooling, global average and max pooling.
using System;
using System.Collections.Generic;
using Engine.Ops;

namespace Engine.Conformance.Handlers;

/// <summary>
/// Runs <c>max_pool2d</c> and <c>median_pool2d</c> (outputs y, optional indices, dx), <c>avg_pool2d</c>, <c>lp_pool2d</c>,
/// <c>global_avg_pool2d</c> (x (N, C, H, W) to y (N, C)) and <c>global_max_pool2d</c> (to y (N, C, 1, 1)) cases.
/// </summary>
internal sealed class PoolCases : IConformanceHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> Ops { get; } = ["max_pool2d", "median_pool2d", "avg_pool2d", "lp_pool2d", "global_avg_pool2d", "global_max_pool2d"];

    /// <inheritdoc />
    public IReadOnlyDictionary<string, HostTensor> Run(Device device, ConformanceCase testCase)
    {
        ArgumentNullException.ThrowIfNull(testCase);
        var p = testCase.Params;
        var xh = testCase.Input("x");
        var gh = testCase.OptionalInput("g");
        using var x = Tensor.FromHost(device, xh.ToFloat(), xh.ToShape());
        using var g = gh is null ? null : Tensor.FromHost(device, gh.ToFloat(), gh.ToShape());
        var outputs = new Dictionary<string, HostTensor>();
        using var dx = g is null ? null : Tensor.Empty(device, x.Shape);
        if (testCase.Op == "global_avg_pool2d")
        {
            using var y = Tensor.Empty(device, new Shape(x.Shape[0], x.Shape[1]));
            GlobalAvgPool2dOp.Forward(x, y);
            outputs["y"] = HostTensor.From(y);
            if (g is not null)
            {
                GlobalAvgPool2dOp.Backward(g, dx!);
            }
        }
        else if (testCase.Op == "global_max_pool2d")
        {
            Indexed(device, new Shape(x.Shape[0], x.Shape[1], 1, 1), g, outputs, (y, i) => GlobalMaxPool2dOp.Forward(x, y, i), (gy, i) => GlobalMaxPool2dOp.Backward(gy, i, dx!));
        }
        else
        {
            var k = p.Pair("kernel", 0);
            var s = p.Has("stride") ? p.Pair("stride", 0) : k;
            var pad = p.Pair("padding", 0);
            var o = new Pool2dOptions((k[0], k[1])) { Stride = (s[0], s[1]), Padding = (pad[0], pad[1]) };
            switch (testCase.Op)
            {
                case "max_pool2d":
                    Indexed(device, MaxPool2dOp.OutputShape(x.Shape, o), g, outputs, (y, i) => MaxPool2dOp.Forward(x, y, i, o), (gy, i) => MaxPool2dOp.Backward(gy, i, dx!, o));
                    break;

                case "median_pool2d":
                    Indexed(device, MedianPool2dOp.OutputShape(x.Shape, o), g, outputs, (y, i) => MedianPool2dOp.Forward(x, y, i, o), (gy, i) => MedianPool2dOp.Backward(gy, i, dx!, o));
                    break;

                case "avg_pool2d":
                {
                    using var y = Tensor.Empty(device, AvgPool2dOp.OutputShape(x.Shape, o));
                    AvgPool2dOp.Forward(x, y, o);
                    outputs["y"] = HostTensor.From(y);
                    if (g is not null)
                    {
                        AvgPool2dOp.Backward(g, dx!, o);
                    }

                    break;
                }

                default:
                {
                    double norm = p.Number("norm_type", 2);
                    using var y = Tensor.Empty(device, LPPool2dOp.OutputShape(x.Shape, o));
                    LPPool2dOp.Forward(x, y, norm, o);
                    outputs["y"] = HostTensor.From(y);
                    if (g is not null)
                    {
                        LPPool2dOp.Backward(x, g, dx!, norm, o);
                    }

                    break;
                }
            }
        }

        if (dx is not null)
        {
            outputs["dx"] = HostTensor.From(dx);
        }

        return outputs;
    }

    // A pooling that saves an index per output (max, median, global max): y and indices, and with g the gradient.
    private static void Indexed(Device device, Shape shape, Tensor? g, Dictionary<string, HostTensor> outputs, Action<Tensor, Tensor> forward, Action<Tensor, Tensor> backward)
    {
        using var y = Tensor.Empty(device, shape);
        using var indices = Tensor.Empty(device, shape);
        forward(y, indices);
        outputs["y"] = HostTensor.From(y);
        outputs["indices"] = HostTensor.From(indices);
        if (g is not null)
        {
            backward(g, indices);
        }
    }
}
