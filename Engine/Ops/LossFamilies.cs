// The four loss families (pointwise, region, cross-entropy, triplet): each checks its inputs' shapes and values,
// fills the kernel arguments from a spec, and names its kernel and host implementations. Pointwise and region
// families are generic over the loss operator struct, so one family class serves every loss of its kind.
using System;
using Engine.Backends;
using Engine.Backends.Cpu;
using Engine.Backends.Kernel;
using Engine.Kernels.Losses;

namespace Engine.Ops;

/// <summary>What a loss family does on the host before dispatch, and its implementations.</summary>
internal abstract class LossFamily
{
    public virtual bool HasReduction => true;

    /// <summary>Whether the target of <paramref name="spec"/> holds one class number per row of pred.</summary>
    public virtual bool TakesClassIndices(LossSpec spec) => false;

    public abstract LossForwardImpl KernelForward { get; }

    public abstract LossBackwardImpl KernelBackward { get; }

    public abstract LossForwardImpl HostForward { get; }

    public abstract LossBackwardImpl HostBackward { get; }

    public abstract string KernelForwardText { get; }

    public abstract string KernelBackwardText { get; }

    public abstract string HostForwardText { get; }

    public abstract string HostBackwardText { get; }

    /// <summary>Checks shapes (naming the argument and what was expected) and returns the kernel arguments.</summary>
    public abstract LossArgs Describe(LossSpec spec, Shape pred, Shape target, Shape? weight);

    /// <summary>Checks host-readable values (class indices, probabilities).</summary>
    public virtual void CheckValues(LossSpec spec, in LossArgs a, ReadOnlySpan<float> pred, ReadOnlySpan<float> target)
    {
    }

    protected static LossCall Call(int n, int c, float scale) => new() { N = n, C = c, Scale = scale };

    protected static void CheckClassIndices(string op, ReadOnlySpan<float> target, int c)
    {
        for (int i = 0; i < target.Length; i++)
        {
            float t = target[i];
            if (!(t >= 0f && t < c) || t != MathF.Floor(t))
            {
                throw new ArgumentException($"{op}: target[{i}] = {t} is not a class index in [0, {c}) (pred has {c} classes).", "target");
            }
        }
    }

    protected static void CheckProbabilities(string op, ReadOnlySpan<float> v, string name, string rule)
    {
        for (int i = 0; i < v.Length; i++)
        {
            if (!(v[i] >= 0f && v[i] <= 1f))
            {
                throw new ArgumentException($"{op}: {name}[{i}] = {v[i]}; {rule}.", name);
            }
        }
    }
}

/// <summary>Elementwise losses of pred and target of one shape.</summary>
internal sealed class PointwiseFamily<TOp>(bool predIsProbability) : LossFamily
    where TOp : struct, IPointwiseLoss
{
    public override LossForwardImpl KernelForward => LossLaunchers.PointwiseForward<TOp>;

    public override LossBackwardImpl KernelBackward => LossLaunchers.PointwiseBackward<TOp>;

    public override LossForwardImpl HostForward => CpuLosses.PointwiseForward<TOp>;

    public override LossBackwardImpl HostBackward => CpuLosses.PointwiseBackward<TOp>;

    public override string KernelForwardText => $"ILGPU PointwiseLossKernels.Reduce<{typeof(TOp).Name}>: grid-stride group partial sums, one-group finish";

    public override string KernelBackwardText => "ILGPU: one thread per element";

    public override string HostForwardText => "managed, double accumulation, blocks across cores";

    public override string HostBackwardText => "managed, double precision, elements across cores";

    public override LossArgs Describe(LossSpec spec, Shape pred, Shape target, Shape? weight)
    {
        if (target != pred)
        {
            throw new ArgumentException($"{spec.Op}: target is {target} but pred is {pred}; they must have the same shape.", nameof(target));
        }

        return new LossArgs
        {
            Call = Call(checked((int)pred.Length), 1, spec.Reduction == LossReduction.Mean ? 1f / pred.Length : 1f),
            Pointwise = new PointwiseLossParams { HuberDelta = spec.Delta, SmoothL1Beta = spec.Beta, FocalGamma = spec.Gamma, FocalAlpha = spec.Alpha },
        };
    }

    public override void CheckValues(LossSpec spec, in LossArgs a, ReadOnlySpan<float> pred, ReadOnlySpan<float> target)
    {
        if (predIsProbability)
        {
            CheckProbabilities(spec.Op, pred, "pred", "all elements of pred must be probabilities in [0, 1]");
        }
    }
}

/// <summary>Per-class losses of (N, C) probabilities against one-hot targets.</summary>
internal sealed class RegionFamily<TOp> : LossFamily
    where TOp : struct, IRegionLoss
{
    public override bool HasReduction => false;

    public override LossForwardImpl KernelForward => LossLaunchers.RegionForward<TOp>;

    public override LossBackwardImpl KernelBackward => LossLaunchers.RegionBackward<TOp>;

    public override LossForwardImpl HostForward => CpuLosses.RegionForward<TOp>;

    public override LossBackwardImpl HostBackward => CpuLosses.RegionBackward<TOp>;

    public override string KernelForwardText => $"ILGPU: per-class sums, then RegionLossKernels.Finish<{typeof(TOp).Name}> in one group";

    public override string KernelBackwardText => "ILGPU: per-class sums, then one thread per element";

    public override string HostForwardText => "managed, double per-class sums over row blocks across cores";

    public override string HostBackwardText => "managed, double per-class sums, then elements across cores";

    public override LossArgs Describe(LossSpec spec, Shape pred, Shape target, Shape? weight)
    {
        if (pred.Rank != 2)
        {
            throw new ArgumentException($"{spec.Op}: pred is {pred}; expected probabilities (N, C).", nameof(pred));
        }

        if (target != pred)
        {
            throw new ArgumentException($"{spec.Op}: target is {target} but pred is {pred}; expected a one-hot target of pred's shape.", nameof(target));
        }

        return new LossArgs
        {
            Call = Call(pred[0], pred[1], 1f),
            Region = new RegionLossParams { Eps = spec.Eps, FalsePositiveWeight = spec.Alpha, FalseNegativeWeight = spec.Beta },
        };
    }

    public override void CheckValues(LossSpec spec, in LossArgs a, ReadOnlySpan<float> pred, ReadOnlySpan<float> target)
    {
        CheckProbabilities(spec.Op, pred, "pred", "all elements of pred must be probabilities in [0, 1]");
        CheckProbabilities(spec.Op, target, "target", "a one-hot target must lie in [0, 1]");
    }
}

/// <summary>A loss computed per row of (N, C) logits (cross-entropy, focal_softmax): the descriptions of its implementations.</summary>
internal abstract class RowLossFamily : LossFamily
{
    public override string KernelForwardText => "ILGPU: per-row terms, grid-stride group partial sums, one-group finish";

    public override string KernelBackwardText => "ILGPU: one thread per row";

    public override string HostForwardText => "managed, double accumulation, row blocks across cores";

    public override string HostBackwardText => "managed, double precision, rows across cores";
}

/// <summary>Cross-entropy of (N, C) logits against class indices (N) or probabilities (N, C), optional weights (C).</summary>
internal sealed class CrossEntropyFamily : RowLossFamily
{
    public override bool TakesClassIndices(LossSpec spec) => spec.TargetKind == CrossEntropyTarget.Indices;

    public override LossForwardImpl KernelForward => LossLaunchers.CrossEntropyForward;

    public override LossBackwardImpl KernelBackward => LossLaunchers.CrossEntropyBackward;

    public override LossForwardImpl HostForward => CpuLosses.CrossEntropyForward;

    public override LossBackwardImpl HostBackward => CpuLosses.CrossEntropyBackward;

    public override LossArgs Describe(LossSpec spec, Shape pred, Shape target, Shape? weight)
    {
        if (pred.Rank != 2)
        {
            throw new ArgumentException($"cross_entropy: pred is {pred}; expected logits (N, C).", nameof(pred));
        }

        int n = pred[0], c = pred[1];
        bool probs = spec.TargetKind == CrossEntropyTarget.Probabilities;
        if (probs ? target != pred : target.Rank != 1 || target[0] != n)
        {
            throw new ArgumentException(
                $"cross_entropy: target is {target} but pred is {pred}; expected {(probs ? $"probabilities [{n}, {c}]" : $"class indices [{n}]")} (target_kind {(probs ? "probabilities" : "indices")}).", nameof(target));
        }

        if (weight is not null && (weight.Rank != 1 || weight[0] != c))
        {
            throw new ArgumentException($"cross_entropy: weight is {weight}; expected one weight per class, [{c}].", nameof(weight));
        }

        // The weighted mean of class-index targets divides by sum(w_y) (computed on the device); every other mean by N.
        bool weightedMean = spec.Reduction == LossReduction.Mean && !probs && weight is not null;
        return new LossArgs
        {
            Call = Call(n, c, spec.Reduction == LossReduction.Mean && !weightedMean ? 1f / n : 1f),
            CrossEntropy = new CrossEntropyParams
            {
                LabelSmoothing = spec.LabelSmoothing, HasWeight = weight is null ? 0 : 1, TargetIsProbabilities = probs ? 1 : 0, WeightedMean = weightedMean ? 1 : 0,
            },
        };
    }

    public override void CheckValues(LossSpec spec, in LossArgs a, ReadOnlySpan<float> pred, ReadOnlySpan<float> target)
    {
        if (a.CrossEntropy.TargetIsProbabilities != 0)
        {
            return;
        }

        CheckClassIndices(spec.Op, target, a.Call.C);
    }
}

/// <summary>Triplet margin loss of (N, D) anchors, positives and negatives.</summary>
internal sealed class TripletFamily : LossFamily
{
    public override LossForwardImpl KernelForward => LossLaunchers.TripletForward;

    public override LossBackwardImpl KernelBackward => LossLaunchers.TripletBackward;

    public override LossForwardImpl HostForward => CpuLosses.TripletForward;

    public override LossBackwardImpl HostBackward => CpuLosses.TripletBackward;

    public override string KernelForwardText => "ILGPU: per-row hinge terms, grid-stride group partial sums, one-group finish";

    public override string KernelBackwardText => "ILGPU: one thread per row";

    public override string HostForwardText => "managed, double accumulation, row blocks across cores";

    public override string HostBackwardText => "managed, double precision, rows across cores";

    public override LossArgs Describe(LossSpec spec, Shape pred, Shape target, Shape? weight) =>
        throw new ArgumentException("triplet has anchor, positive and negative inputs; use TripletForward / TripletBackward.", nameof(spec));

    /// <summary>The kernel arguments of (N, D) anchors.</summary>
    public static LossArgs DescribeTriplet(LossSpec spec, Shape anchor) => new()
    {
        Call = Call(anchor[0], anchor[1], spec.Reduction == LossReduction.Mean ? 1f / anchor[0] : 1f),
        Triplet = new TripletParams { Margin = spec.Margin, NormDegree = spec.P },
    };
}
