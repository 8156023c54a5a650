// Memory-initialisation kernels: copy with scale. (Tensor.Fill uses ILGPU.Algorithms' initializer.)
using ILGPU;

namespace Engine.Kernels.Elementwise;

/// <summary>Kernels that initialise buffers.</summary>
public static class FillKernels
{
    /// <summary>y[i] = alpha * x[i].</summary>
    public static void Scale(Index1D i, ArrayView<float> x, ArrayView<float> y, float alpha) => y[i] = alpha * x[i];
}
