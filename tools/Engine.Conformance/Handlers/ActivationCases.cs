// Conformance handler for the activation ops: elementwise activations, softmax / log_softmax and maxout.
using System.Collections.Generic;
using Engine.Ops;

namespace Engine.Conformance.Handlers;

/// <summary>Runs activation cases (inputs x and optional g; outputs y and, with g, dx) through <see cref="IActivationOp"/>.</summary>
internal sealed class ActivationCases : IConformanceHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> Ops => ActivationTable.Names;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, HostTensor> Run(Device device, ConformanceCase testCase)
    {
        var op = ActivationTable.Parse(testCase.Op, testCase.Params);
        var xh = testCase.Input("x");
        using var x = Tensor.FromHost(device, xh.ToFloat(), xh.ToShape());
        using var y = Tensor.Empty(device, op.OutputShape(x.Shape));
        op.Forward(x, y);
        var result = new Dictionary<string, HostTensor> { ["y"] = HostTensor.From(y) };
        var gh = testCase.OptionalInput("g");
        if (gh is not null)
        {
            using var g = Tensor.FromHost(device, gh.ToFloat(), gh.ToShape());
            using var dx = Tensor.Empty(device, x.Shape);
            op.Backward(x, y, g, dx);
            result["dx"] = HostTensor.From(dx);
        }

        return result;
    }
}
