// Conformance handler for the extra ops of docs/conformance.md: `bias_add` and `concat`, with gradients (add is BinaryCases').
using System;
using System.Collections.Generic;
using System.Globalization;
using Engine.Ops;

namespace Engine.Conformance.Handlers;

/// <summary>Runs <c>bias_add</c> and <c>concat</c> cases through <see cref="Elementwise"/> and <see cref="ConcatOp"/>.</summary>
internal sealed class MiscCases : IConformanceHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> Ops { get; } = ["bias_add", "concat"];

    /// <inheritdoc />
    public IReadOnlyDictionary<string, HostTensor> Run(Device device, ConformanceCase testCase)
    {
        ArgumentNullException.ThrowIfNull(testCase);
        return testCase.Op == "bias_add" ? RunBias(device, testCase) : RunConcat(device, testCase);
    }

    private static Tensor Load(Device device, HostTensor h) => Tensor.FromHost(device, h.ToFloat(), h.ToShape());

    /// <summary>
    /// y = x + b broadcast along axis. dx is computed by the engine's pass-through gradient (add's backward, which every
    /// bias and residual path uses) into a NaN-filled tensor, so a wrong or missing copy fails the case.
    /// </summary>
    private static Dictionary<string, HostTensor> RunBias(Device device, ConformanceCase c)
    {
        int axis = c.Params.Int("axis", -1);
        using var y = Load(device, c.Input("x"));
        using var b = Load(device, c.Input("b"));
        using var g = Load(device, c.Input("g"));
        using var db = Tensor.Empty(device, b.Shape);
        using var dx = Tensor.Empty(device, y.Shape);
        dx.Fill(float.NaN);
        Elementwise.AddBias(y, b, axis);
        Elementwise.BiasBackward(g, db, axis);
        Elementwise.AddBackward(g, dx, null);
        return new() { ["y"] = HostTensor.From(y), ["dx"] = HostTensor.From(dx), ["db"] = HostTensor.From(db) };
    }

    private static Dictionary<string, HostTensor> RunConcat(Device device, ConformanceCase c)
    {
        int axis = c.Params.Int("axis", 0);
        var parts = new List<Tensor>();
        var grads = new List<Tensor>();
        try
        {
            for (int i = 0; c.OptionalInput(Name("x", i)) is { } h; i++)
            {
                parts.Add(Load(device, h));
                grads.Add(Tensor.Empty(device, parts[i].Shape));
            }

            using var g = Load(device, c.Input("g"));
            using var y = Tensor.Empty(device, g.Shape);
            ConcatOp.Forward(parts.ToArray(), y, axis);
            ConcatOp.Backward(g, grads.ToArray(), axis);
            var result = new Dictionary<string, HostTensor> { ["y"] = HostTensor.From(y) };
            for (int i = 0; i < grads.Count; i++)
            {
                result[Name("dx", i)] = HostTensor.From(grads[i]);
            }

            return result;
        }
        finally
        {
            parts.ForEach(t => t.Dispose());
            grads.ForEach(t => t.Dispose());
        }
    }

    private static string Name(string prefix, int i) => prefix + i.ToString(CultureInfo.InvariantCulture);
}
