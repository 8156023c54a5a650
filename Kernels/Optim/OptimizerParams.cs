// Per-launch scalars of the fused optimizer and reduction kernels, computed on the host and passed by value (each
// optimizer's own scalars are its rule struct, Kernels/Optim/OptimizerRules*.cs).
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
/// Regularization folded into the optimizer kernel: the weights are first scaled by <see cref="DecayScale"/>
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
