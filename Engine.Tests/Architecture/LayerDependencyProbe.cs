// A deliberate back edge for the layer test to find: the test places this namespace in the Backends layer, and this
// type calls an op (Ops is above Backends). Nothing else uses it.
using Engine.Ops;

namespace Engine.Tests.Architecture.Probe;

internal static class BackEdgeProbe
{
    /// <summary>A backend-layer type that reaches up into Ops: the scan must report it.</summary>
    public static Shape OutputOf(Shape x, Shape weight) => Conv2dOp.OutputShape(x, weight);
}
