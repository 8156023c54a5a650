// Conformance handler for the element-wise binary ops with broadcasting: add, subtract, multiply, divide.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Ops;

namespace Engine.Conformance.Handlers;

/// <summary>
/// Runs <c>add</c>, <c>subtract</c>, <c>multiply</c> and <c>divide</c> cases through <see cref="BinaryOps"/>: inputs a, b
/// (shapes that broadcast) and g; outputs y, da, db (each summed over its operand's broadcast dimensions).
/// </summary>
internal sealed class BinaryCases : IConformanceHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> Ops { get; } = BinaryTable.All.Select(r => r.Name).ToArray();

    /// <inheritdoc />
    public IReadOnlyDictionary<string, HostTensor> Run(Device device, ConformanceCase testCase)
    {
        ArgumentNullException.ThrowIfNull(testCase);
        var op = BinaryTable.Get(testCase.Op).Op;
        using var a = Load(device, testCase.Input("a"));
        using var b = Load(device, testCase.Input("b"));
        using var g = Load(device, testCase.Input("g"));
        using var y = Tensor.Empty(device, BinaryOps.BroadcastShape(a.Shape, b.Shape));
        using var da = Tensor.Empty(device, a.Shape);
        using var db = Tensor.Empty(device, b.Shape);
        BinaryOps.Forward(op, a, b, y);
        BinaryOps.Backward(op, a, b, g, da, db);
        return new Dictionary<string, HostTensor> { ["y"] = HostTensor.From(y), ["da"] = HostTensor.From(da), ["db"] = HostTensor.From(db) };
    }

    private static Tensor Load(Device device, HostTensor h) => Tensor.FromHost(device, h.ToFloat(), h.ToShape());
}
