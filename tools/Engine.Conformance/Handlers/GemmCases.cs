// Conformance handler for `gemm` cases: y = alpha * op(a) @ op(b) + beta * c, 2-D or strided-batched 3-D.
using System.Collections.Generic;
using Engine.Ops;

namespace Engine.Conformance.Handlers;

/// <summary>Runs <c>gemm</c> cases through <see cref="GemmOp.Run"/>.</summary>
internal sealed class GemmCases : IConformanceHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> Ops { get; } = ["gemm"];

    /// <inheritdoc />
    public IReadOnlyDictionary<string, HostTensor> Run(Device device, ConformanceCase testCase)
    {
        var p = testCase.Params;
        bool ta = p.Bool("trans_a", false), tb = p.Bool("trans_b", false);
        float alpha = (float)p.Number("alpha", 1), beta = (float)p.Number("beta", 0);
        var ah = testCase.Input("a");
        var bh = testCase.Input("b");
        var ch = testCase.OptionalInput("c");
        using var a = Tensor.FromHost(device, ah.ToFloat(), ah.ToShape());
        using var b = Tensor.FromHost(device, bh.ToFloat(), bh.ToShape());
        int o = ah.Shape.Length - 2;
        int m = ta ? ah.Shape[o + 1] : ah.Shape[o];
        int n = tb ? bh.Shape[o] : bh.Shape[o + 1];
        int[] cShape = o == 1 ? [ah.Shape[0], m, n] : [m, n];
        using var c = ch is null ? Tensor.Zeros(device, new Shape(cShape)) : Tensor.FromHost(device, ch.ToFloat(), ch.ToShape());
        GemmOp.Run(a, b, c, ta, tb, alpha, ch is null ? 0f : beta);
        return new Dictionary<string, HostTensor> { ["y"] = HostTensor.From(c) };
    }
}
