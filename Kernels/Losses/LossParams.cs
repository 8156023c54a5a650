// Arguments of the loss kernels, passed by value: the call's geometry and scale (LossCall) and, per loss family, a
// params struct whose fields each mean one thing (no field shared by two losses under one name).
namespace Engine.Kernels.Losses;

/// <summary>The geometry and scale of one loss call.</summary>
public struct LossCall
{
    /// <summary>Elements (pointwise losses) or rows (cross-entropy, triplet, region losses).</summary>
    public int N;

    /// <summary>Classes (cross-entropy, region losses) or the embedding width (triplet); 1 for pointwise losses.</summary>
    public int C;

    /// <summary>Constant factor of the result: 1/N for an unweighted mean, 1 for a sum, times any caller scale.</summary>
    public float Scale;

    /// <summary>1 when the backward multiplies by the upstream gradient upstream[0].</summary>
    public int HasUpstream;
}

/// <summary>Parameters of the pointwise losses (each field belongs to the loss it names).</summary>
public struct PointwiseLossParams
{
    /// <summary>huber's delta (&gt; 0).</summary>
    public float HuberDelta;

    /// <summary>smooth_l1's beta (&gt;= 0).</summary>
    public float SmoothL1Beta;

    /// <summary>focal's gamma (&gt;= 0).</summary>
    public float FocalGamma;

    /// <summary>focal's alpha; negative disables the alpha weighting.</summary>
    public float FocalAlpha;
}

/// <summary>Parameters of the region losses (dice, iou, tversky).</summary>
public struct RegionLossParams
{
    /// <summary>Smoothing added to numerator and denominator.</summary>
    public float Eps;

    /// <summary>tversky's alpha: the weight of false positives.</summary>
    public float FalsePositiveWeight;

    /// <summary>tversky's beta: the weight of false negatives.</summary>
    public float FalseNegativeWeight;
}

/// <summary>Parameters of cross-entropy.</summary>
public struct CrossEntropyParams
{
    /// <summary>Label smoothing in [0, 1].</summary>
    public float LabelSmoothing;

    /// <summary>1 when a class-weight vector is given.</summary>
    public int HasWeight;

    /// <summary>1 when targets are probabilities (N, C) rather than class indices (N).</summary>
    public int TargetIsProbabilities;

    /// <summary>
    /// 1 for the weighted mean with class indices: the forward divides the sum of the row losses by sum(w_y), the
    /// backward by den[0] (that sum, computed by a first pass).
    /// </summary>
    public int WeightedMean;
}

/// <summary>Parameters of the triplet margin loss.</summary>
public struct TripletParams
{
    /// <summary>The margin.</summary>
    public float Margin;

    /// <summary>The norm degree p of the distance (&gt; 0).</summary>
    public float NormDegree;
}
