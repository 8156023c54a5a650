// The contracts of the per-element and per-class loss operators: each loss of those families is one stateless struct
// holding its float form (the generic ILGPU kernels) and its double form (the host path), side by side.
namespace Engine.Kernels.Losses;

/// <summary>
/// A pointwise loss l(p, t) summed over elements (mse, mae, huber, smooth_l1, bce, bce_with_logits, focal), with
/// PyTorch's derivative at the kinks. Called through <c>default(TOp)</c> by
/// <see cref="PointwiseLossKernels.Reduce{TOp}"/> and the host loops.
/// </summary>
public interface IPointwiseLoss
{
    /// <summary>The per-element loss.</summary>
    float Term(float p, float t, PointwiseLossParams q);

    /// <summary>dl/dp, before the reduction's scale.</summary>
    float Derivative(float p, float t, PointwiseLossParams q);

    /// <summary>The per-element loss in double (host path).</summary>
    double Term(double p, double t, in PointwiseLossParams q);

    /// <summary>dl/dp in double (host path).</summary>
    double Derivative(double p, double t, in PointwiseLossParams q);
}

/// <summary>
/// A region loss 1 - mean_c r(I_c, P_c, Y_c) over per-class sums I = sum p y, P = sum p, Y = sum y (dice, iou,
/// tversky). Called through <c>default(TOp)</c> by <see cref="RegionLossKernels"/> and the host loops.
/// </summary>
public interface IRegionLoss
{
    /// <summary>The per-class ratio r.</summary>
    float Ratio(float i, float ps, float ys, RegionLossParams q);

    /// <summary>dr/dp of one element with target y.</summary>
    float RatioGrad(float y, float i, float ps, float ys, RegionLossParams q);

    /// <summary>The ratio in double (host path).</summary>
    double Ratio(double i, double ps, double ys, in RegionLossParams q);

    /// <summary>dr/dp in double (host path).</summary>
    double RatioGrad(double y, double i, double ps, double ys, in RegionLossParams q);
}
