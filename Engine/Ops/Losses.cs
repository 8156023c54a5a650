// Losses: the public forward/backward calls and host-side validation of shapes and (where the data is host-readable)
// of target values, through the loss's table row; its dispatch rows run Backends/Kernel/LossLaunchers or
// Backends/Cpu/CpuLosses.
using System;
using Engine.Backends;

namespace Engine.Ops;

/// <summary>An implementation of a loss forward (writes <see cref="LossViews.Loss"/>).</summary>
internal delegate void LossForwardImpl(Device device, in LossViews views, in LossArgs args);

/// <summary>An implementation of a loss backward (writes the gradient views).</summary>
internal delegate void LossBackwardImpl(Device device, in LossViews views, in LossArgs args);

/// <summary>
/// Loss forward (a [1] tensor) and backward (gradients scaled by the loss's upstream gradient) for every
/// row of <see cref="LossTable"/>. Scratch memory (reduction partials, per-class sums) is rented once per device
/// (<see cref="OpScratch"/>), so warm calls allocate nothing.
/// <para>
/// Validation: shapes always, before any launch. On devices whose memory the host can read (the CPU device, on
/// either path) target values are checked too: cross-entropy class indices must be integers in [0, C); bce, dice,
/// iou and tversky predictions must lie in [0, 1], and region-loss targets too. On GPU devices the values are not
/// read back (that would stall the stream); there an invalid class index makes its row's loss and gradient NaN,
/// and out-of-range bce probabilities give NaN through the logarithm. Call <see cref="ValidateValues"/> to check
/// GPU data explicitly (it copies to the host).
/// </para>
/// Each loss's variants (<c>kernel.reduce</c> / <c>kernel.elementwise</c> and <c>host.parallel</c>) are its
/// <see cref="LossDefinition.ForwardRegistry"/> and <see cref="LossDefinition.BackwardRegistry"/>.
/// </summary>
public static class Losses
{
    /// <summary>
    /// loss[0] = L(pred, target). <paramref name="weight"/> (C) only for cross-entropy. Not for triplet (see
    /// <see cref="TripletForward"/>).
    /// </summary>
    /// <exception cref="ArgumentException">Shapes, devices or (host-readable) target values are invalid.</exception>
    public static void Forward(LossSpec spec, Tensor pred, Tensor target, Tensor loss, Tensor? weight = null, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(pred);
        if (SegmentationLosses.Applies(spec, pred.Shape))
        {
            SegmentationLosses.Forward(spec, pred, target, loss, weight, variant);
            return;
        }

        var p = Prepare(spec, pred, target, weight, loss, nameof(loss));
        Check(pred, loss, nameof(loss));
        if (loss.Length != 1)
        {
            throw new ArgumentException($"{spec.Op}: loss is {loss.Shape}; expected a tensor of one element ([1]).", nameof(loss));
        }

        var v = new LossViews { Pred = pred.View, Target = target.View, Weight = (weight ?? pred).View, Negative = pred.View, Loss = loss.View, Upstream = loss.View, DPred = pred.View, DTarget = pred.View, DNegative = pred.View };
        spec.Definition.ForwardRegistry.Select(pred.Device, variant)(pred.Device, v, p);
    }

    /// <summary>
    /// dpred = dL/dpred * upstream, where upstream = <paramref name="scale"/> * <paramref name="gradLoss"/>[0]
    /// (<paramref name="gradLoss"/> null: upstream = <paramref name="scale"/>, default 1). dpred has pred's shape.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes, devices or (host-readable) target values are invalid.</exception>
    public static void Backward(LossSpec spec, Tensor pred, Tensor target, Tensor dpred, Tensor? weight = null, Tensor? gradLoss = null, float scale = 1f, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(pred);
        if (SegmentationLosses.Applies(spec, pred.Shape))
        {
            SegmentationLosses.Backward(spec, pred, target, dpred, weight, gradLoss, scale, variant);
            return;
        }

        var p = Prepare(spec, pred, target, weight, dpred, nameof(dpred));
        Activations.SameShape(spec.Op, pred, nameof(pred), dpred, nameof(dpred));
        Upstream(spec, pred, gradLoss, scale, ref p);
        var v = new LossViews { Pred = pred.View, Target = target.View, Weight = (weight ?? pred).View, Negative = pred.View, Loss = dpred.View, Upstream = (gradLoss ?? dpred).View, DPred = dpred.View, DTarget = dpred.View, DNegative = dpred.View };
        spec.Definition.BackwardRegistry.Select(pred.Device, variant)(pred.Device, v, p);
    }

    /// <summary>loss[0] = triplet margin loss of (N, D) anchors, positives and negatives.</summary>
    /// <exception cref="ArgumentException">Shapes or devices are invalid.</exception>
    public static void TripletForward(LossSpec spec, Tensor anchor, Tensor positive, Tensor negative, Tensor loss, string? variant = null)
    {
        var p = PrepareTriplet(spec, anchor, positive, negative);
        Check(anchor, loss, nameof(loss));
        if (loss.Length != 1)
        {
            throw new ArgumentException($"triplet: loss is {loss.Shape}; expected a tensor of one element ([1]).", nameof(loss));
        }

        var v = new LossViews { Pred = anchor.View, Target = positive.View, Weight = anchor.View, Negative = negative.View, Loss = loss.View, Upstream = loss.View, DPred = anchor.View, DTarget = anchor.View, DNegative = anchor.View };
        spec.Definition.ForwardRegistry.Select(anchor.Device, variant)(anchor.Device, v, p);
    }

    /// <summary>Gradients of the triplet loss w.r.t. anchor, positive and negative, scaled as <see cref="Backward"/>.</summary>
    /// <exception cref="ArgumentException">Shapes or devices are invalid.</exception>
    public static void TripletBackward(LossSpec spec, Tensor anchor, Tensor positive, Tensor negative, Tensor danchor, Tensor dpositive, Tensor dnegative, Tensor? gradLoss = null, float scale = 1f, string? variant = null)
    {
        var p = PrepareTriplet(spec, anchor, positive, negative);
        Activations.SameShape("triplet", anchor, nameof(anchor), danchor, nameof(danchor));
        Activations.SameShape("triplet", anchor, nameof(anchor), dpositive, nameof(dpositive));
        Activations.SameShape("triplet", anchor, nameof(anchor), dnegative, nameof(dnegative));
        Upstream(spec, anchor, gradLoss, scale, ref p);
        var v = new LossViews { Pred = anchor.View, Target = positive.View, Weight = anchor.View, Negative = negative.View, Loss = danchor.View, Upstream = (gradLoss ?? danchor).View, DPred = danchor.View, DTarget = dpositive.View, DNegative = dnegative.View };
        spec.Definition.BackwardRegistry.Select(anchor.Device, variant)(anchor.Device, v, p);
    }

    /// <summary>
    /// Checks the shapes of a (non-triplet) loss's inputs and returns the kernel parameters: pointwise losses need
    /// target of pred's shape; cross-entropy pred (N, C), target (N) indices or (N, C) probabilities, weight (C);
    /// dice/iou/tversky pred and target (N, C). Segmentation shapes: cross-entropy pred (N, C, d1, ...) with indices
    /// (N, d1, ...) or probabilities of pred's shape, dice/iou/tversky pred and target (N, C, d1, ...); they are the
    /// row losses over every position (the returned parameters are those of the (N d1 ..., C) rows).
    /// </summary>
    /// <exception cref="ArgumentException">A shape does not fit; the message names it and what was expected.</exception>
    internal static LossArgs Describe(LossSpec spec, Shape pred, Shape target, Shape? weight)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(pred);
        ArgumentNullException.ThrowIfNull(target);
        if (weight is not null && !spec.AcceptsWeight)
        {
            throw new ArgumentException($"{spec.Op} takes no class weight (only cross_entropy does).", nameof(weight));
        }

        if (SegmentationLosses.Applies(spec, pred))
        {
            // (N, C, d1, ...) runs as the row loss over every position (SegmentationLosses).
            var (rows, rowTargets) = SegmentationLosses.Flatten(spec, pred, target);
            return Describe(spec, rows, rowTargets, weight);
        }

        return spec.Definition.Family.Describe(spec, pred, target, weight);
    }

    /// <summary>
    /// Checks target values (and bce / region-loss probabilities) on the host, copying GPU data back first. The
    /// CPU device gets this check automatically in every call; GPU callers may run it on their data once.
    /// </summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names the element.</exception>
    public static void ValidateValues(LossSpec spec, Tensor pred, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(pred);
        ArgumentNullException.ThrowIfNull(target);
        var p = Describe(spec, pred.Shape, target.Shape, null);
        if (pred.Device.IsHostMemory)
        {
            pred.Device.Synchronize();
            CheckValues(spec, p, pred.HostSpan, target.HostSpan);
        }
        else
        {
            CheckValues(spec, p, pred.ToArray(), target.ToArray());
        }
    }

    private static LossArgs Prepare(LossSpec spec, Tensor pred, Tensor target, Tensor? weight, Tensor output, string outputName)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(pred);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(output, outputName);
        var p = Describe(spec, pred.Shape, target.Shape, weight?.Shape);
        Check(pred, target, nameof(target));
        if (weight is not null)
        {
            Check(pred, weight, nameof(weight));
        }

        if (pred.Device.IsHostMemory)
        {
            pred.Device.Synchronize();
            CheckValues(spec, p, pred.HostSpan, target.HostSpan);
        }

        return p;
    }

    private static LossArgs PrepareTriplet(LossSpec spec, Tensor anchor, Tensor positive, Tensor negative)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(anchor);
        if (!spec.IsTriplet)
        {
            throw new ArgumentException($"{spec.Op} is not the triplet loss; use Forward / Backward.", nameof(spec));
        }

        if (anchor.Rank != 2)
        {
            throw new ArgumentException($"triplet: anchor is {anchor.Shape}; expected embeddings (N, D).", nameof(anchor));
        }

        Activations.SameShape("triplet", anchor, nameof(anchor), positive, nameof(positive));
        Activations.SameShape("triplet", anchor, nameof(anchor), negative, nameof(negative));
        return TripletFamily.DescribeTriplet(spec, anchor.Shape);
    }

    private static void Upstream(LossSpec spec, Tensor pred, Tensor? gradLoss, float scale, ref LossArgs p)
    {
        if (!float.IsFinite(scale))
        {
            throw new ArgumentException($"{spec.Op}: scale must be finite, got {scale}.", nameof(scale));
        }

        if (gradLoss is not null)
        {
            Check(pred, gradLoss, nameof(gradLoss));
            if (gradLoss.Length != 1)
            {
                throw new ArgumentException($"{spec.Op}: gradLoss is {gradLoss.Shape}; expected the loss's upstream gradient, one element ([1]).", nameof(gradLoss));
            }
        }

        p.Call.Scale *= scale;
        p.Call.HasUpstream = gradLoss is null ? 0 : 1;
    }

    private static void Check(Tensor a, Tensor b, string name)
    {
        ArgumentNullException.ThrowIfNull(b, name);
        if (a.Device != b.Device)
        {
            throw new ArgumentException($"{name} lives on another device than pred.", name);
        }
    }

    private static void CheckValues(LossSpec spec, in LossArgs p, ReadOnlySpan<float> pred, ReadOnlySpan<float> target) =>
        spec.Definition.Family.CheckValues(spec, p, pred, target);
}
