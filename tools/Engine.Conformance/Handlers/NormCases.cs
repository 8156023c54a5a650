// Conformance handler for `batch_norm` and `layer_norm` cases (forward, running statistics, and gradients).
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using Engine.Ops;

namespace Engine.Conformance.Handlers;

/// <summary>Runs <c>batch_norm</c> and <c>layer_norm</c> cases through <see cref="BatchNormOp"/> and <see cref="LayerNormOp"/>.</summary>
internal sealed class NormCases : IConformanceHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> Ops { get; } = ["batch_norm", "layer_norm"];

    /// <inheritdoc />
    public IReadOnlyDictionary<string, HostTensor> Run(Device device, ConformanceCase testCase)
    {
        ArgumentNullException.ThrowIfNull(testCase);
        return testCase.Op == "batch_norm" ? RunBatchNorm(device, testCase) : RunLayerNorm(device, testCase);
    }

    private static Tensor Load(Device device, HostTensor h) => Tensor.FromHost(device, h.ToFloat(), h.ToShape());

    private static Tensor? LoadOptional(Device device, HostTensor? h) => h is null ? null : Load(device, h);

    private static IReadOnlyDictionary<string, HostTensor> RunBatchNorm(Device device, ConformanceCase c)
    {
        var p = c.Params;
        bool training = p.Bool("training", false);
        float momentum = (float)p.Number("momentum", 0.1);
        float eps = (float)p.Number("eps", 1e-5);
        using var x = Load(device, c.Input("x"));
        using var gamma = LoadOptional(device, c.OptionalInput("gamma"));
        using var beta = LoadOptional(device, c.OptionalInput("beta"));
        using var runningMean = Load(device, c.Input("running_mean"));
        using var runningVar = Load(device, c.Input("running_var"));
        using var gy = LoadOptional(device, c.OptionalInput("g"));
        int channels = x.Shape[1];
        using var y = Tensor.Empty(device, x.Shape);
        using var mean = Tensor.Empty(device, new Shape(channels));
        using var invStd = Tensor.Empty(device, new Shape(channels));
        BatchNormOp.Forward(x, y, gamma, beta, runningMean, runningVar, mean, invStd, training, momentum, eps);
        var result = new Dictionary<string, HostTensor>
        {
            ["y"] = HostTensor.From(y),
            ["running_mean_out"] = HostTensor.From(runningMean),
            ["running_var_out"] = HostTensor.From(runningVar),
        };
        if (gy is not null)
        {
            using var dx = Tensor.Empty(device, x.Shape);
            using var dgamma = gamma is null ? null : Tensor.Empty(device, new Shape(channels));
            using var dbeta = beta is null ? null : Tensor.Empty(device, new Shape(channels));
            BatchNormOp.Backward(x, gy, gamma, mean, invStd, dx, dgamma, dbeta, training);
            result["dx"] = HostTensor.From(dx);
            if (dgamma is not null)
            {
                result["dgamma"] = HostTensor.From(dgamma);
            }

            if (dbeta is not null)
            {
                result["dbeta"] = HostTensor.From(dbeta);
            }
        }

        return result;
    }

    private static IReadOnlyDictionary<string, HostTensor> RunLayerNorm(Device device, ConformanceCase c)
    {
        var p = c.Params;
        var normalized = p.Node("normalized_shape") switch
        {
            JsonArray a => new Shape(a.Select(v => (int)v!.GetValue<double>()).ToArray()),
            JsonValue v => new Shape((int)v.GetValue<double>()),
            _ => throw new FormatException("layer_norm: param 'normalized_shape' is required"),
        };
        float eps = (float)p.Number("eps", 1e-5);
        using var x = Load(device, c.Input("x"));
        using var gamma = LoadOptional(device, c.OptionalInput("gamma"));
        using var beta = LoadOptional(device, c.OptionalInput("beta"));
        using var gy = Load(device, c.Input("g"));
        int rows = (int)(x.Length / normalized.Length);
        using var y = Tensor.Empty(device, x.Shape);
        using var mean = Tensor.Empty(device, new Shape(rows));
        using var rstd = Tensor.Empty(device, new Shape(rows));
        LayerNormOp.Forward(x, y, gamma, beta, mean, rstd, normalized, eps);
        using var dx = Tensor.Empty(device, x.Shape);
        using var dgamma = gamma is null ? null : Tensor.Empty(device, normalized);
        using var dbeta = beta is null ? null : Tensor.Empty(device, normalized);
        LayerNormOp.Backward(x, gy, gamma, mean, rstd, dx, dgamma, dbeta, normalized);
        var result = new Dictionary<string, HostTensor> { ["y"] = HostTensor.From(y), ["dx"] = HostTensor.From(dx) };
        if (dgamma is not null)
        {
            result["dgamma"] = HostTensor.From(dgamma);
        }

        if (dbeta is not null)
        {
            result["dbeta"] = HostTensor.From(dbeta);
        }

        return result;
    }
}
