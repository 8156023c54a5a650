// Element-wise arithmetic for the graph: residual add, gradient accumulation, bias add, concat copies.
using ILGPU;

namespace Engine.Kernels.Elementwise;

/// <summary>Layout of a bias over one axis of y seen as (outer, F, Inner).</summary>
public struct BiasParams
{
    /// <summary>Bias length (size of the bias axis).</summary>
    public int F;

    /// <summary>Product of the dimensions after the bias axis (1 for a row bias).</summary>
    public int Inner;
}

/// <summary>One input's slab of a concatenation: src is (outer, SrcPitch), placed at column Offset of dst (outer, DstPitch).</summary>
public struct ConcatParams
{
    /// <summary>Elements per outer index in the source (its axis size times the inner size).</summary>
    public int SrcPitch;

    /// <summary>Elements per outer index in the destination.</summary>
    public int DstPitch;

    /// <summary>Start of this input's slab within a destination row.</summary>
    public int Offset;
}

/// <summary>Element-wise kernels over flat views (thread i owns element i).</summary>
public static class ArithmeticKernels
{
    /// <summary>y = a + b. All [n].</summary>
    public static void Add(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y) => y[i] = a[i] + b[i];

    /// <summary>y += alpha * x. Both [n].</summary>
    public static void Axpy(Index1D i, ArrayView<float> x, ArrayView<float> y, float alpha) => y[i] += alpha * x[i];

    /// <summary>y[i] += bias[(i / Inner) % F]. y: [outer * F * Inner], bias: [F].</summary>
    public static void AddBias(Index1D i, ArrayView<float> y, ArrayView<float> bias, BiasParams p) =>
        y[i] += bias[(i / p.Inner) % p.F];

    /// <summary>Thread i over src [outer * SrcPitch]: dst[o * DstPitch + Offset + j] = src[o * SrcPitch + j].</summary>
    public static void ConcatScatter(Index1D i, ArrayView<float> src, ArrayView<float> dst, ConcatParams p)
    {
        int o = i / p.SrcPitch;
        dst[(o * p.DstPitch) + p.Offset + (i - (o * p.SrcPitch))] = src[i];
    }

    /// <summary>Thread i over dst [outer * SrcPitch]: dst[i] = src[o * DstPitch + Offset + j] (the split of concat's gradient).</summary>
    public static void ConcatGather(Index1D i, ArrayView<float> src, ArrayView<float> dst, ConcatParams p)
    {
        int o = i / p.SrcPitch;
        dst[i] = src[(o * p.DstPitch) + p.Offset + (i - (o * p.SrcPitch))];
    }
}
