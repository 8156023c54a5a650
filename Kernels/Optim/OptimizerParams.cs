// Per-launch scalars of the fused optimizer kernels, computed on the host (in double) and passed by value.
namespace Engine.Kernels.Optim;

/// <summary>Layout constants shared by the optimizer and reduction kernels and their launchers.</summary>
public static class OptimLayout
{
    /// <summary>Threads per group of every optimizer and reduction kernel (a power of two).</summary>
    public const int GroupSize = 256;

    /// <summary>
    /// Elements per chunk: a launch covers a table of chunks (start, count), at most this many elements each, one
    /// group per chunk. Chunks never span two parameters, so one launch covers any subset of a flat buffer.
    /// </summary>
    public const int ChunkElements = 4096;
}

/// <summary>
/// Regularization folded into every optimizer kernel: the weights are first scaled by <see cref="DecayScale"/>
/// (<c>1 - lr * decoupled_weight_decay</c>, AdamW style), then the gradient used is
/// <c>g + WeightDecay * w + L1 * sign(w)</c> (coupled L2 and L1) with those weights.
/// </summary>
public struct RegParams
{
    /// <summary>Coupled L2 coefficient (PyTorch's <c>weight_decay</c>); 0 adds nothing.</summary>
    public float WeightDecay;

    /// <summary>L1 coefficient; 0 adds nothing.</summary>
    public float L1;

    /// <summary>Multiplier applied to the weights before the update (1 for none).</summary>
    public float DecayScale;
}

/// <summary>SGD with momentum, dampening and Nesterov.</summary>
public struct SgdParams
{
    /// <summary>Regularization.</summary>
    public RegParams Reg;

    /// <summary>Learning rate.</summary>
    public float Lr;

    /// <summary>Momentum factor (used when <see cref="HasMomentum"/> is 1).</summary>
    public float Momentum;

    /// <summary>1 - dampening.</summary>
    public float OneMinusDampening;

    /// <summary>1 when momentum is non-zero.</summary>
    public int HasMomentum;

    /// <summary>1 for Nesterov momentum.</summary>
    public int Nesterov;

    /// <summary>1 on the first step: the momentum buffer is set to the gradient (no dampening), as PyTorch does.</summary>
    public int First;
}

/// <summary>Adagrad.</summary>
public struct AdagradParams
{
    /// <summary>Regularization.</summary>
    public RegParams Reg;

    /// <summary>lr / (1 + (step - 1) * lr_decay).</summary>
    public float Clr;

    /// <summary>Added to the square root of the accumulator.</summary>
    public float Eps;
}

/// <summary>Adadelta.</summary>
public struct AdadeltaParams
{
    /// <summary>Regularization.</summary>
    public RegParams Reg;

    /// <summary>Learning rate (scales the delta).</summary>
    public float Lr;

    /// <summary>Decay of the running averages.</summary>
    public float Rho;

    /// <summary>1 - rho.</summary>
    public float OneMinusRho;

    /// <summary>Added inside both square roots.</summary>
    public float Eps;
}

/// <summary>RMSprop, optionally centered and with momentum.</summary>
public struct RmspropParams
{
    /// <summary>Regularization.</summary>
    public RegParams Reg;

    /// <summary>Learning rate.</summary>
    public float Lr;

    /// <summary>Smoothing constant.</summary>
    public float Alpha;

    /// <summary>1 - alpha.</summary>
    public float OneMinusAlpha;

    /// <summary>Added to the root of the (centered) second moment.</summary>
    public float Eps;

    /// <summary>Momentum factor.</summary>
    public float Momentum;

    /// <summary>1 when momentum &gt; 0.</summary>
    public int HasMomentum;

    /// <summary>1 for the centered variant (keeps a running mean of the gradient).</summary>
    public int Centered;
}

/// <summary>Adam and AdamW (AdamW's decay is <see cref="RegParams.DecayScale"/>).</summary>
public struct AdamParams
{
    /// <summary>Regularization.</summary>
    public RegParams Reg;

    /// <summary>lr / (1 - beta1^step).</summary>
    public float StepSize;

    /// <summary>First-moment decay.</summary>
    public float Beta1;

    /// <summary>1 - beta1.</summary>
    public float OneMinusBeta1;

    /// <summary>Second-moment decay.</summary>
    public float Beta2;

    /// <summary>1 - beta2.</summary>
    public float OneMinusBeta2;

    /// <summary>sqrt(1 - beta2^step).</summary>
    public float Bc2Sqrt;

    /// <summary>Added to the corrected root of the second moment.</summary>
    public float Eps;

    /// <summary>1 for AMSGrad (keeps the running maximum of the second moment).</summary>
    public int Amsgrad;
}

/// <summary>Adamax.</summary>
public struct AdamaxParams
{
    /// <summary>Regularization.</summary>
    public RegParams Reg;

    /// <summary>lr / (1 - beta1^step).</summary>
    public float Clr;

    /// <summary>First-moment decay.</summary>
    public float Beta1;

    /// <summary>1 - beta1.</summary>
    public float OneMinusBeta1;

    /// <summary>Decay of the infinity norm.</summary>
    public float Beta2;

    /// <summary>Added to |g| before the maximum.</summary>
    public float Eps;
}

/// <summary>NAdam (PyTorch 1.13's rule, momentum decay schedule included).</summary>
public struct NadamParams
{
    /// <summary>Regularization.</summary>
    public RegParams Reg;

    /// <summary>First-moment decay.</summary>
    public float Beta1;

    /// <summary>1 - beta1.</summary>
    public float OneMinusBeta1;

    /// <summary>Second-moment decay.</summary>
    public float Beta2;

    /// <summary>1 - beta2.</summary>
    public float OneMinusBeta2;

    /// <summary>1 - beta2^step.</summary>
    public float Bc2;

    /// <summary>Added to the corrected root of the second moment.</summary>
    public float Eps;

    /// <summary>-lr * (1 - mu) / (1 - mu_product): coefficient of g / denom.</summary>
    public float GradCoef;

    /// <summary>-lr * mu_next / (1 - mu_product_next): coefficient of exp_avg / denom.</summary>
    public float AvgCoef;
}

/// <summary>Reduction modes of <see cref="ReduceKernels"/>.</summary>
public static class ReduceMode
{
    /// <summary>Sum of squares; finishes with a square root (the 2-norm).</summary>
    public const int SumSquares = 0;

    /// <summary>Sum of absolute values (the 1-norm).</summary>
    public const int SumAbs = 1;

    /// <summary>Maximum absolute value, NaN-propagating (the infinity norm).</summary>
    public const int MaxAbs = 2;

    /// <summary>Sum of |x|^p; finishes with the 1/p power (the p-norm).</summary>
    public const int SumPow = 3;

    /// <summary>Number of NaN and infinite elements.</summary>
    public const int CountNonFinite = 4;
}

/// <summary>Arguments of a chunked reduction.</summary>
public struct ReduceParams
{
    /// <summary>One of <see cref="ReduceMode"/>.</summary>
    public int Mode;

    /// <summary>The norm order for <see cref="ReduceMode.SumPow"/>.</summary>
    public float P;

    /// <summary>1: chunk c covers [c * ChunkElements, min(Length, ...)) and the chunk table is ignored.</summary>
    public int Contiguous;

    /// <summary>Elements of the buffer in contiguous mode.</summary>
    public int Length;

    /// <summary>Number of partial results (chunks) for the final pass.</summary>
    public int Partials;
}

/// <summary>Arguments of the clipping kernels.</summary>
public struct ClipParams
{
    /// <summary>max_norm for clipping by norm; the clip value for clipping by value.</summary>
    public float Limit;
}
