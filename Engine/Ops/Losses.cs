// Losses: the public forward/backward calls, host-side validation of shapes and (where the data is host-readable)
// of target values, and the dispatch tables; kernel launchers live in Backends/Kernel/LossLaunchers, the host path
// in Backends/Cpu/CpuLosses.
using System;
using Engine.Backends.Cpu;
using Engine.Backends.Kernel;
using Engine.Dispatch;
using Engine.Kernels.Losses;
using ILGPU;

namespace Engine.Ops;

/// <summary>
/// The buffers of one loss call. Pred/Target/Weight are pred, target and the optional class weights; triplet uses
/// Pred = anchor, Target = positive, Negative = negative and DPred/DTarget/DNegative for their gradients. Unused
/// views hold any valid view (the kernels do not read them).
/// </summary>
public struct LossViews
{
    /// <summary>Predictions (or anchors).</summary>
    public ArrayView<float> Pred;

    /// <summary>Targets (or positives).</summary>
    public ArrayView<float> Target;

    /// <summary>Class weights (C) for cross-entropy.</summary>
    public ArrayView<float> Weight;

    /// <summary>Negatives (triplet).</summary>
    public ArrayView<float> Negative;

    /// <summary>The loss, (1).</summary>
    public ArrayView<float> Loss;

    /// <summary>Upstream gradient of the loss, (1), read when LossParams.HasUpstream.</summary>
    public ArrayView<float> Upstream;

    /// <summary>Gradient w.r.t. pred (or anchor).</summary>
    public ArrayView<float> DPred;

    /// <summary>Gradient w.r.t. positive (triplet).</summary>
    public ArrayView<float> DTarget;

    /// <summary>Gradient w.r.t. negative (triplet).</summary>
    public ArrayView<float> DNegative;
}

/// <summary>An implementation of a loss forward (writes <see cref="LossViews.Loss"/>).</summary>
public delegate void LossForwardImpl(Device device, in LossViews views, LossParams p);

/// <summary>An implementation of a loss backward (writes the gradient views).</summary>
public delegate void LossBackwardImpl(Device device, in LossViews views, LossParams p);

/// <summary>
/// Loss forward (a [1] tensor) and backward (gradients scaled by the loss's upstream gradient) for every
/// <see cref="LossKind"/>. Scratch memory (reduction partials, per-class sums) is rented once per device
/// (<see cref="OpScratch"/>), so warm calls allocate nothing.
/// <para>
/// Validation: shapes always, before any launch. On devices whose memory the host can read (the CPU device, on
/// either path) target values are checked too: cross-entropy class indices must be integers in [0, C); bce, dice,
/// iou and tversky predictions must lie in [0, 1], and region-loss targets too. On GPU devices the values are not
/// read back (that would stall the stream); there an invalid class index makes its row's loss and gradient NaN,
/// and out-of-range bce probabilities give NaN through the logarithm. Call <see cref="ValidateValues"/> to check
/// GPU data explicitly (it copies to the host).
/// </para>
/// Variants: <c>kernel.reduce</c> / <c>kernel.elementwise</c> and <c>host.parallel</c>.
/// </summary>
public static class Losses
{
    /// <summary>Forward implementations.</summary>
    public static readonly OpRegistry<LossForwardImpl> ForwardRegistry = new OpRegistry<LossForwardImpl>("loss.forward")
        .Register("kernel.reduce", ComputePath.Kernels, LossLaunchers.Forward, "ILGPU: per-element/row/class terms, grid-stride group partial sums, one-group finish")
        .Register("host.parallel", ComputePath.Host, CpuLosses.Forward, "managed, double accumulation, blocks across cores");

    /// <summary>Backward implementations.</summary>
    public static readonly OpRegistry<LossBackwardImpl> BackwardRegistry = new OpRegistry<LossBackwardImpl>("loss.backward")
        .Register("kernel.elementwise", ComputePath.Kernels, LossLaunchers.Backward, "ILGPU: a thread per element (pointwise, region) or per row (cross-entropy, triplet)")
        .Register("host.parallel", ComputePath.Host, CpuLosses.Backward, "managed, double precision, across cores");

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
        ForwardRegistry.Select(pred.Device, variant)(pred.Device, v, p);
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
        BackwardRegistry.Select(pred.Device, variant)(pred.Device, v, p);
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
        ForwardRegistry.Select(anchor.Device, variant)(anchor.Device, v, p);
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
        BackwardRegistry.Select(anchor.Device, variant)(anchor.Device, v, p);
    }

    /// <summary>
    /// Checks the shapes of a (non-triplet) loss's inputs and returns the kernel parameters: pointwise losses need
    /// target of pred's shape; cross-entropy pred (N, C), target (N) indices or (N, C) probabilities, weight (C);
    /// dice/iou/tversky pred and target (N, C). Segmentation shapes: cross-entropy pred (N, C, d1, ...) with indices
    /// (N, d1, ...) or probabilities of pred's shape, dice/iou/tversky pred and target (N, C, d1, ...); they are the
    /// row losses over every position (the returned parameters are those of the (N d1 ..., C) rows).
    /// </summary>
    /// <exception cref="ArgumentException">A shape does not fit; the message names it and what was expected.</exception>
    public static LossParams Describe(LossSpec spec, Shape pred, Shape target, Shape? weight)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(pred);
        ArgumentNullException.ThrowIfNull(target);
        string op = spec.Op;
        if (spec.IsTriplet)
        {
            throw new ArgumentException("triplet has anchor, positive and negative inputs; use TripletForward / TripletBackward.", nameof(spec));
        }

        if (weight is not null && !spec.AcceptsWeight)
        {
            throw new ArgumentException($"{op} takes no class weight (only cross_entropy does).", nameof(weight));
        }

        if (SegmentationLosses.Applies(spec, pred))
        {
            // (N, C, d1, ...) runs as the row loss over every position (SegmentationLosses).
            var (rows, rowTargets) = SegmentationLosses.Flatten(spec, pred, target);
            return Describe(spec, rows, rowTargets, weight);
        }

        var p = new LossParams { Kind = Code(spec.Kind), N = checked((int)pred.Length), C = 1, Scale = 1f };
        switch (spec.Kind)
        {
            case LossKind.CrossEntropy:
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

                // The weighted mean of class-index targets divides by sum(w_y) (computed on the device); every other
                // mean divides by N.
                bool weightedMean = spec.Reduction == LossReduction.Mean && !probs && weight is not null;
                return p with
                {
                    N = n, C = c, Eps = spec.LabelSmoothing, HasWeight = weight is null ? 0 : 1, TargetProbs = probs ? 1 : 0,
                    DenFromBuffer = weightedMean ? 1 : 0,
                    Scale = spec.Reduction == LossReduction.Mean && !weightedMean ? 1f / n : 1f,
                };
            case LossKind.Dice or LossKind.Iou or LossKind.Tversky:
                if (pred.Rank != 2)
                {
                    throw new ArgumentException($"{op}: pred is {pred}; expected probabilities (N, C).", nameof(pred));
                }

                if (target != pred)
                {
                    throw new ArgumentException($"{op}: target is {target} but pred is {pred}; expected a one-hot target of pred's shape.", nameof(target));
                }

                return p with { N = pred[0], C = pred[1], A = spec.Alpha, B = spec.Beta, Eps = spec.Eps };
            default:
                if (target != pred)
                {
                    throw new ArgumentException($"{op}: target is {target} but pred is {pred}; they must have the same shape.", nameof(target));
                }

                return p with
                {
                    A = spec.Kind switch { LossKind.Huber => spec.Delta, LossKind.SmoothL1 => spec.Beta, _ => spec.Gamma },
                    B = spec.Alpha,
                    Scale = spec.Reduction == LossReduction.Mean ? 1f / pred.Length : 1f,
                };
        }
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

    private static LossParams Prepare(LossSpec spec, Tensor pred, Tensor target, Tensor? weight, Tensor output, string outputName)
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

    private static LossParams PrepareTriplet(LossSpec spec, Tensor anchor, Tensor positive, Tensor negative)
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
        int n = anchor.Shape[0];
        return new LossParams
        {
            Kind = LossCodes.Triplet, N = n, C = anchor.Shape[1], A = spec.Margin, B = spec.P,
            Scale = spec.Reduction == LossReduction.Mean ? 1f / n : 1f,
        };
    }

    private static void Upstream(LossSpec spec, Tensor pred, Tensor? gradLoss, float scale, ref LossParams p)
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

        p.Scale *= scale;
        p.HasUpstream = gradLoss is null ? 0 : 1;
    }

    private static void Check(Tensor a, Tensor b, string name)
    {
        ArgumentNullException.ThrowIfNull(b, name);
        if (a.Device != b.Device)
        {
            throw new ArgumentException($"{name} lives on another device than pred.", name);
        }
    }

    private static void CheckValues(LossSpec spec, LossParams p, ReadOnlySpan<float> pred, ReadOnlySpan<float> target)
    {
        switch (spec.Kind)
        {
            case LossKind.CrossEntropy when p.TargetProbs == 0:
                for (int i = 0; i < target.Length; i++)
                {
                    float t = target[i];
                    if (!(t >= 0f && t < p.C) || t != MathF.Floor(t))
                    {
                        throw new ArgumentException($"cross_entropy: target[{i}] = {t} is not a class index in [0, {p.C}) (pred has {p.C} classes).", "target");
                    }
                }

                break;
            case LossKind.Bce or LossKind.Dice or LossKind.Iou or LossKind.Tversky:
                for (int i = 0; i < pred.Length; i++)
                {
                    if (!(pred[i] >= 0f && pred[i] <= 1f))
                    {
                        throw new ArgumentException($"{spec.Op}: pred[{i}] = {pred[i]}; all elements of pred must be probabilities in [0, 1].", "pred");
                    }
                }

                for (int i = 0; spec.Kind != LossKind.Bce && i < target.Length; i++)
                {
                    if (!(target[i] >= 0f && target[i] <= 1f))
                    {
                        throw new ArgumentException($"{spec.Op}: target[{i}] = {target[i]}; a one-hot target must lie in [0, 1].", "target");
                    }
                }

                break;
        }
    }

    private static int Code(LossKind kind) => kind switch
    {
        LossKind.Mse => LossCodes.Mse,
        LossKind.Mae => LossCodes.Mae,
        LossKind.Huber => LossCodes.Huber,
        LossKind.SmoothL1 => LossCodes.SmoothL1,
        LossKind.CrossEntropy => LossCodes.CrossEntropy,
        LossKind.Bce => LossCodes.Bce,
        LossKind.BceWithLogits => LossCodes.BceWithLogits,
        LossKind.Focal => LossCodes.Focal,
        LossKind.Dice => LossCodes.Dice,
        LossKind.Iou => LossCodes.Iou,
        LossKind.Tversky => LossCodes.Tversky,
        _ => LossCodes.Triplet,
    };
}
