// The buffers and kernel arguments of one loss call, as the kernel and host implementations of every loss take them
// (defined here, below the ops, so the backends need nothing from Engine.Ops).
using Engine.Kernels.Losses;
using ILGPU;

namespace Engine.Backends;

/// <summary>
/// The buffers of one loss call. Pred/Target/Weight are pred, target and the optional class weights; triplet uses
/// Pred = anchor, Target = positive, Negative = negative and DPred/DTarget/DNegative for their gradients. Unused
/// views hold any valid view (the kernels do not read them).
/// </summary>
internal struct LossViews
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

    /// <summary>Upstream gradient of the loss, (1), read when <see cref="LossCall.HasUpstream"/>.</summary>
    public ArrayView<float> Upstream;

    /// <summary>Gradient w.r.t. pred (or anchor).</summary>
    public ArrayView<float> DPred;

    /// <summary>Gradient w.r.t. positive (triplet).</summary>
    public ArrayView<float> DTarget;

    /// <summary>Gradient w.r.t. negative (triplet).</summary>
    public ArrayView<float> DNegative;
}

/// <summary>
/// The kernel arguments of one loss call: its geometry and scale, and the parameters of its family (each
/// implementation reads only its own family's).
/// </summary>
internal struct LossArgs
{
    /// <summary>Rows, classes, the reduction's scale and whether an upstream gradient is read.</summary>
    public LossCall Call;

    /// <summary>mse, mae, huber, smooth_l1, bce, bce_with_logits, focal.</summary>
    public PointwiseLossParams Pointwise;

    /// <summary>dice, iou, tversky.</summary>
    public RegionLossParams Region;

    /// <summary>cross_entropy.</summary>
    public CrossEntropyParams CrossEntropy;

    /// <summary>triplet.</summary>
    public TripletParams Triplet;

    /// <summary>focal_softmax.</summary>
    public FocalSoftmaxParams FocalSoftmax;
}
