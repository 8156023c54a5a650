// Launchers for the buffer-initialisation kernels (scaled copy), loaded once per device through the kernel cache.
using System;
using Engine.Kernels.Elementwise;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Backends.Kernel;

/// <summary>Launches <see cref="FillKernels"/>.</summary>
internal static class ElementwiseLaunchers
{
    /// <summary>y = alpha * x.</summary>
    public static void Scale(Device device, ArrayView<float> x, ArrayView<float> y, float alpha)
    {
        if (y.Length == 0)
        {
            return;
        }

        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, float>>(
            "scale", a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, float>(FillKernels.Scale));
        k(device.Stream, (int)y.Length, x, y, alpha);
    }
}
