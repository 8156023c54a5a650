// Which ReLU nodes the compiler folds into the node before them (batch norm, same-shape add), so that one node writes relu(f(x))
// and takes the gradient through relu' in its own sweeps over memory, and the ReLU node becomes a view.
using System.Linq;
using Engine.Ops;

namespace Engine.Nn;

/// <summary>Finds the (producer, ReLU) pairs to fold; the plans carry the result (<see cref="LayerPlan.FoldsRelu"/>).</summary>
internal static class ReluFolding
{
    /// <summary>
    /// Per node id: whether the node folds the ReLU after it, and whether the node is such a folded ReLU. A ReLU is
    /// folded when its input is the single output of a batch-norm node or of a same-shape add, it is that output's only
    /// reader, and that output is not a model output (so nobody sees the pre-ReLU values); never in forward-mode plans
    /// (no tangent rule for the pair).
    /// </summary>
    public static (bool[] FoldsRelu, bool[] ReluFolded) Find(GraphBuilder b, GraphValue[] outputs, CompileOptions o)
    {
        var folds = new bool[b.Nodes.Count];
        var folded = new bool[b.Nodes.Count];
        if (!o.FoldActivations || o.Tangents)
        {
            return (folds, folded);
        }

        foreach (var n in b.Nodes)
        {
            // Exactly the engine's own layers (a subclass may override Forward or Backward).
            bool relu = (n.Layer.GetType() == typeof(Relu) || n.Layer.GetType() == typeof(Activation))
                && ((Activation)n.Layer).Op is ActivationSpec spec && ReferenceEquals(spec.Definition, ActivationSpec.Relu.Definition);
            if (!relu)
            {
                continue;
            }

            var v = n.Inputs[0];
            if (v.Producer is { } p && p.Outputs.Length == 1 && Folds(p) && !folds[p.Id]
                && v.Consumers.Count == 1 && !outputs.Contains(v) && v.Shape == n.Outputs[0].Shape)
            {
                folds[p.Id] = true;
                folded[n.Id] = true;
            }
        }

        return (folds, folded);
    }

    private static bool Folds(GraphNode p) =>
        p.Layer.GetType() == typeof(BatchNorm) || p.Layer.GetType() == typeof(BatchNorm1d) || p.Layer.GetType() == typeof(BatchNorm2d)
        || (p.Layer.GetType() == typeof(Add) && p.Inputs[0].Shape == p.Inputs[1].Shape && p.Inputs[0].Shape == p.Outputs[0].Shape);
}
