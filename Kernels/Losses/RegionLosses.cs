// The region losses, one operator struct each: per class c with sums I = sum p y, P = sum p, Y = sum y,
// dice r = (2I + eps) / (P + Y + eps); iou r = (I + eps) / (P + Y - I + eps); tversky r = (I + eps) /
// (I + a (P - I) + b (Y - I) + eps). The loss is 1 - mean_c r.
namespace Engine.Kernels.Losses;

/// <summary>1 - mean over classes of the Dice coefficient.</summary>
public readonly struct DiceLoss : IRegionLoss
{
    /// <inheritdoc />
    public float Ratio(float i, float ps, float ys, RegionLossParams q) => ((2f * i) + q.Eps) / (ps + ys + q.Eps);

    /// <inheritdoc />
    public float RatioGrad(float y, float i, float ps, float ys, RegionLossParams q)
    {
        float den = ps + ys + q.Eps;
        return ((2f * y * den) - ((2f * i) + q.Eps)) / (den * den);
    }

    /// <inheritdoc />
    public double Ratio(double i, double ps, double ys, in RegionLossParams q) => ((2 * i) + q.Eps) / (ps + ys + q.Eps);

    /// <inheritdoc />
    public double RatioGrad(double y, double i, double ps, double ys, in RegionLossParams q)
    {
        double den = ps + ys + q.Eps;
        return ((2 * y * den) - ((2 * i) + q.Eps)) / (den * den);
    }
}

/// <summary>1 - mean over classes of IoU (Jaccard).</summary>
public readonly struct IouLoss : IRegionLoss
{
    /// <inheritdoc />
    public float Ratio(float i, float ps, float ys, RegionLossParams q) => (i + q.Eps) / (ps + ys - i + q.Eps);

    /// <inheritdoc />
    public float RatioGrad(float y, float i, float ps, float ys, RegionLossParams q)
    {
        float u = ps + ys - i + q.Eps;
        return ((y * u) - ((i + q.Eps) * (1f - y))) / (u * u);
    }

    /// <inheritdoc />
    public double Ratio(double i, double ps, double ys, in RegionLossParams q) => (i + q.Eps) / (ps + ys - i + q.Eps);

    /// <inheritdoc />
    public double RatioGrad(double y, double i, double ps, double ys, in RegionLossParams q)
    {
        double u = ps + ys - i + q.Eps;
        return ((y * u) - ((i + q.Eps) * (1 - y))) / (u * u);
    }
}

/// <summary>1 - mean over classes of the Tversky index (false positives and negatives weighted).</summary>
public readonly struct TverskyLoss : IRegionLoss
{
    /// <inheritdoc />
    public float Ratio(float i, float ps, float ys, RegionLossParams q) =>
        (i + q.Eps) / (i + (q.FalsePositiveWeight * (ps - i)) + (q.FalseNegativeWeight * (ys - i)) + q.Eps);

    /// <inheritdoc />
    public float RatioGrad(float y, float i, float ps, float ys, RegionLossParams q)
    {
        float den = i + (q.FalsePositiveWeight * (ps - i)) + (q.FalseNegativeWeight * (ys - i)) + q.Eps;
        float dden = y + (q.FalsePositiveWeight * (1f - y)) - (q.FalseNegativeWeight * y);
        return ((y * den) - ((i + q.Eps) * dden)) / (den * den);
    }

    /// <inheritdoc />
    public double Ratio(double i, double ps, double ys, in RegionLossParams q) =>
        (i + q.Eps) / (i + (q.FalsePositiveWeight * (ps - i)) + (q.FalseNegativeWeight * (ys - i)) + q.Eps);

    /// <inheritdoc />
    public double RatioGrad(double y, double i, double ps, double ys, in RegionLossParams q)
    {
        double den = i + (q.FalsePositiveWeight * (ps - i)) + (q.FalseNegativeWeight * (ys - i)) + q.Eps;
        double dden = y + (q.FalsePositiveWeight * (1 - y)) - (q.FalseNegativeWeight * y);
        return ((y * den) - ((i + q.Eps) * dden)) / (den * den);
    }
}
