// The loss family of the softmax focal loss: (N, C) logits against (N) class numbers, checked like cross-entropy's
// class indices; its kernel and host implementations are Backends' FocalSoftmax entries.
using System;
using Engine.Backends;
using Engine.Backends.Cpu;
using Engine.Backends.Kernel;
using Engine.Kernels.Losses;

namespace Engine.Ops;

/// <summary>-alpha (1 - p_t)^gamma log p_t over softmax probabilities of (N, C) logits, class numbers (N).</summary>
internal sealed class FocalSoftmaxFamily : RowLossFamily
{
    public override bool TakesClassIndices(LossSpec spec) => true;

    public override LossForwardImpl KernelForward => LossLaunchers.FocalSoftmaxForward;

    public override LossBackwardImpl KernelBackward => LossLaunchers.FocalSoftmaxBackward;

    public override LossForwardImpl HostForward => CpuLosses.FocalSoftmaxForward;

    public override LossBackwardImpl HostBackward => CpuLosses.FocalSoftmaxBackward;

    public override LossArgs Describe(LossSpec spec, Shape pred, Shape target, Shape? weight)
    {
        if (pred.Rank != 2)
        {
            throw new ArgumentException($"{spec.Op}: pred is {pred}; expected logits (N, C).", nameof(pred));
        }

        if (target.Rank != 1 || target[0] != pred[0])
        {
            throw new ArgumentException($"{spec.Op}: target is {target} but pred is {pred}; expected class indices [{pred[0]}].", nameof(target));
        }

        return new LossArgs
        {
            Call = Call(pred[0], pred[1], spec.Reduction == LossReduction.Mean ? 1f / pred[0] : 1f),
            FocalSoftmax = new FocalSoftmaxParams { Gamma = spec.Gamma, Alpha = spec.Alpha },
        };
    }

    public override void CheckValues(LossSpec spec, in LossArgs a, ReadOnlySpan<float> pred, ReadOnlySpan<float> target) =>
        CheckClassIndices(spec.Op, target, a.Call.C);
}
