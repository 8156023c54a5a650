// Kernel path of the elementwise activations: loads the generic kernels once per device and operator struct (the
// cache name is computed once per instantiation, so a warm launch allocates nothing).
using System;
using Engine.Kernels.Activations;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Backends.Kernel;

/// <summary>Launches <see cref="ActivationKernels.Forward{TOp}"/> and <see cref="ActivationKernels.Backward{TOp}"/>.</summary>
internal static class ActivationLaunchers
{
    /// <summary>y = f(x), one thread per element.</summary>
    public static void Forward<TOp>(Device device, ArrayView<float> x, ArrayView<float> y, ActivationParams p)
        where TOp : struct, IActivationOperator
    {
        ArgumentNullException.ThrowIfNull(device);
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ActivationParams>>(
            Names<TOp>.Forward, static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ActivationParams>(ActivationKernels.Forward<TOp>));
        k(device.Stream, (int)x.Length, x, y, p);
    }

    /// <summary>dx = dy * f'(x), one thread per element.</summary>
    public static void Backward<TOp>(Device device, ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, ActivationParams p)
        where TOp : struct, IActivationOperator
    {
        ArgumentNullException.ThrowIfNull(device);
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ActivationParams>>(
            Names<TOp>.Backward, static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ActivationParams>(ActivationKernels.Backward<TOp>));
        k(device.Stream, (int)x.Length, x, y, dy, dx, p);
    }

    private static class Names<TOp>
    {
        public static readonly string Forward = "activation.forward." + typeof(TOp).Name;
        public static readonly string Backward = "activation.backward." + typeof(TOp).Name;
    }
}
