// Kernel path of the broadcast binary ops: loads BinaryKernels' generic forward and backward once per device and
// operator struct (cache names computed once per instantiation, so a warm launch allocates nothing).
using System;
using Engine.Kernels.Elementwise;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Backends.Kernel;

/// <summary>Launches <see cref="BinaryKernels.Forward{TOp}"/> and <see cref="BinaryKernels.Backward{TOp}"/>.</summary>
internal static class BinaryLaunchers
{
    /// <summary>y = f(a, b), one thread per output element.</summary>
    public static void Forward<TOp>(Device device, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, in BroadcastParams p, int length)
        where TOp : struct, IBinaryOperator
    {
        ArgumentNullException.ThrowIfNull(device);
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, BroadcastParams>>(
            Names<TOp>.Forward, static acc => acc.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, BroadcastParams>(BinaryKernels.Forward<TOp>));
        k(device.Stream, length, a, b, y, p);
    }

    /// <summary>The gradient of one operand, one thread per operand element.</summary>
    public static void Backward<TOp>(Device device, ArrayView<float> x, ArrayView<float> other, ArrayView<float> dy, ArrayView<float> dx, in BroadcastGradParams p, int length)
        where TOp : struct, IBinaryOperator
    {
        ArgumentNullException.ThrowIfNull(device);
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BroadcastGradParams>>(
            Names<TOp>.Backward, static acc => acc.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BroadcastGradParams>(BinaryKernels.Backward<TOp>));
        k(device.Stream, length, x, other, dy, dx, p);
    }

    private static class Names<TOp>
    {
        public static readonly string Forward = "binary.forward." + typeof(TOp).Name;
        public static readonly string Backward = "binary.backward." + typeof(TOp).Name;
    }
}
