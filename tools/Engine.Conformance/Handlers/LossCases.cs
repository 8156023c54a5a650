// Conformance handler for the loss ops: the loss (shape [1]) and the gradient of each differentiable input.
using System.Collections.Generic;
using Engine.Ops;

namespace Engine.Conformance.Handlers;

/// <summary>
/// Runs loss cases through <see cref="Losses"/>: inputs pred, target and optional weight (triplet: anchor, positive,
/// negative); outputs loss and dpred (triplet: danchor, dpositive, dnegative).
/// </summary>
internal sealed class LossCases : IConformanceHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> Ops => LossSpec.Ops;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, HostTensor> Run(Device device, ConformanceCase testCase)
    {
        var spec = LossSpec.Parse(testCase.Op, testCase.Params);
        using var loss = Tensor.Empty(device, new Shape(1));
        var result = new Dictionary<string, HostTensor>();
        if (spec.IsTriplet)
        {
            using var a = Load(device, testCase.Input("anchor"));
            using var p = Load(device, testCase.Input("positive"));
            using var n = Load(device, testCase.Input("negative"));
            Losses.TripletForward(spec, a, p, n, loss);
            result["loss"] = HostTensor.From(loss);
            using var da = Tensor.Empty(device, a.Shape);
            using var dp = Tensor.Empty(device, a.Shape);
            using var dn = Tensor.Empty(device, a.Shape);
            Losses.TripletBackward(spec, a, p, n, da, dp, dn);
            result["danchor"] = HostTensor.From(da);
            result["dpositive"] = HostTensor.From(dp);
            result["dnegative"] = HostTensor.From(dn);
            return result;
        }

        using var pred = Load(device, testCase.Input("pred"));
        using var target = Load(device, testCase.Input("target"));
        var wh = testCase.OptionalInput("weight");
        using var weight = wh is null ? null : Load(device, wh);
        Losses.Forward(spec, pred, target, loss, weight);
        result["loss"] = HostTensor.From(loss);
        using var dpred = Tensor.Empty(device, pred.Shape);
        Losses.Backward(spec, pred, target, dpred, weight);
        result["dpred"] = HostTensor.From(dpred);
        return result;
    }

    private static Tensor Load(Device device, HostTensor h) => Tensor.FromHost(device, h.ToFloat(), h.ToShape());
}
