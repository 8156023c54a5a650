// Memory-initialisation kernels: fill with a constant, copy with scale.
using ILGPU;

namespace Engine.Kernels.Elementwise;

/// <summary>Kernels that initialise buffers.</summary>
public static class FillKernels
{
    /// <summary>y[i] = value.</summary>
    public static void Fill(Index1D i, ArrayView<float> y, float value) => y[i] = value;

    /// <summary>y[i] = alpha * x[i].</summary>
    public static void Scale(Index1D i, ArrayView<float> x, ArrayView<float> y, float alpha) => y[i] = alpha * x[i];
}
