// Conformance handler for `onnx_import` cases: a PyTorch-exported ONNX model (base64) is imported, compiled for x in
// evaluation mode, run forward, and backward from the upstream gradient g; outputs `output` and `grad.NAME` for every
// trainable parameter (running statistics are buffers, not parameters).
using System;
using System.Collections.Generic;
using Engine.Nn;
using Engine.Onnx;

namespace Engine.Conformance.Handlers;

/// <summary>Runs <c>onnx_import</c> cases.</summary>
public sealed class OnnxImportCases : IConformanceHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> Ops { get; } = ["onnx_import"];

    /// <inheritdoc />
    public IReadOnlyDictionary<string, HostTensor> Run(Device device, ConformanceCase testCase)
    {
        ArgumentNullException.ThrowIfNull(testCase);
        var text = testCase.Params.Str("model_base64", string.Empty);
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(text);
        }
        catch (FormatException ex)
        {
            throw new FormatException($"param 'model_base64' is not base64: {ex.Message}", ex);
        }

        var x = testCase.Input("x");
        var g = testCase.Input("g");
        using var model = OnnxImporter.Load(bytes, $"case '{testCase.Label}'");
        using var net = model.Compile(device, x.ToShape());
        net.Training = false;
        net.Input.CopyFrom(x.ToFloat());
        net.Forward();
        if (!g.ToShape().SameAs(net.Output.Shape.ToArray()))
        {
            throw new FormatException($"g has shape [{string.Join(", ", g.Shape)}] but the output is {net.Output.Shape}");
        }

        var got = new Dictionary<string, HostTensor>(StringComparer.Ordinal) { ["output"] = HostTensor.From(net.Output) };
        if (net.HasParameters)
        {
            using var grad = Tensor.FromHost(device, g.ToFloat(), net.Output.Shape);
            net.Backward(grad);
            foreach (var p in net.Parameters)
            {
                got["grad." + p.Name] = HostTensor.From(p.Grad);
            }
        }

        return got;
    }
}
