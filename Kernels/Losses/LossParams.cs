// Arguments of the loss kernels, passed by value: which loss, its parameters and the reduction's scale.
namespace Engine.Kernels.Losses;

/// <summary>Codes of the losses, as <see cref="LossParams.Kind"/> carries them.</summary>
public static class LossCodes
{
    /// <summary>(p - t)^2.</summary>
    public const int Mse = 0;

    /// <summary>|p - t|.</summary>
    public const int Mae = 1;

    /// <summary>torch huber_loss with delta A.</summary>
    public const int Huber = 2;

    /// <summary>torch smooth_l1_loss with beta A.</summary>
    public const int SmoothL1 = 3;

    /// <summary>Binary cross-entropy of probabilities (logs clamped at -100 as torch).</summary>
    public const int Bce = 4;

    /// <summary>Binary cross-entropy of logits.</summary>
    public const int BceWithLogits = 5;

    /// <summary>torchvision sigmoid_focal_loss with gamma A and alpha B (B &lt; 0: no alpha weighting).</summary>
    public const int Focal = 6;

    /// <summary>Cross-entropy of logits (rows of C classes).</summary>
    public const int CrossEntropy = 7;

    /// <summary>1 - mean over classes of the Dice coefficient.</summary>
    public const int Dice = 8;

    /// <summary>1 - mean over classes of IoU.</summary>
    public const int Iou = 9;

    /// <summary>1 - mean over classes of the Tversky index (alpha A weights FP, beta B weights FN).</summary>
    public const int Tversky = 10;

    /// <summary>Triplet margin loss (margin A, norm degree B).</summary>
    public const int Triplet = 11;
}

/// <summary>One loss call, as the kernels see it.</summary>
public struct LossParams
{
    /// <summary>One of <see cref="LossCodes"/>.</summary>
    public int Kind;

    /// <summary>Elements (pointwise losses) or rows (cross-entropy, triplet, region losses).</summary>
    public int N;

    /// <summary>Classes (cross-entropy, region losses) or the embedding width (triplet); 1 for pointwise losses.</summary>
    public int C;

    /// <summary>First parameter: delta, beta, gamma, margin or Tversky alpha.</summary>
    public float A;

    /// <summary>Second parameter: focal alpha, norm degree p or Tversky beta.</summary>
    public float B;

    /// <summary>eps of the region losses; label smoothing of cross-entropy.</summary>
    public float Eps;

    /// <summary>Constant factor of the result: 1/N for an unweighted mean, 1 for a sum, times any caller scale.</summary>
    public float Scale;

    /// <summary>1 when a class-weight vector is given (cross-entropy).</summary>
    public int HasWeight;

    /// <summary>1 when cross-entropy targets are probabilities (N, C) rather than class indices (N).</summary>
    public int TargetProbs;

    /// <summary>1 when the backward multiplies by the upstream gradient upstream[0].</summary>
    public int HasUpstream;

    /// <summary>
    /// 1 for the weighted mean of cross-entropy with class indices: the forward divides the sum of the row losses by
    /// sum(w_y), the backward by den[0] (that sum, computed by a first pass).
    /// </summary>
    public int DenFromBuffer;
}
