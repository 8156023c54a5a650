// One launcher for every optimizer's fused ILGPU kernel: the optimizers differ only in their kernel and the number of state buffers.
using System;
using Engine.Kernels.Optim;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Optim;

/// <summary>
/// Loads (once per device, under <c>name</c>) and launches an optimizer kernel over a chunk table: one group of
/// <see cref="OptimLayout.GroupSize"/> threads per chunk. Overloads by the number of state buffers the kernel takes
/// (<see cref="OptimStepArgs.S0"/>, <see cref="OptimStepArgs.S1"/>, <see cref="OptimStepArgs.S2"/> in order).
/// </summary>
internal static class OptimKernelLaunch
{
    public static void Run<TParams>(Device device, in OptimStepArgs a, TParams p, string name,
        Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, TParams> kernel)
        where TParams : unmanaged
    {
        ArgumentNullException.ThrowIfNull(device);
        if (a.ChunkCount == 0)
        {
            return;
        }

        var k = device.Kernels.Get(name, kernel, static (acc, kern) => acc.LoadKernel(kern));
        k(device.Stream, new KernelConfig(a.ChunkCount, OptimLayout.GroupSize), a.W, a.G, a.S0, a.Chunks, p);
    }

    public static void Run<TParams>(Device device, in OptimStepArgs a, TParams p, string name,
        Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, TParams> kernel)
        where TParams : unmanaged
    {
        ArgumentNullException.ThrowIfNull(device);
        if (a.ChunkCount == 0)
        {
            return;
        }

        var k = device.Kernels.Get(name, kernel, static (acc, kern) => acc.LoadKernel(kern));
        k(device.Stream, new KernelConfig(a.ChunkCount, OptimLayout.GroupSize), a.W, a.G, a.S0, a.S1, a.Chunks, p);
    }

    public static void Run<TParams>(Device device, in OptimStepArgs a, TParams p, string name,
        Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, TParams> kernel)
        where TParams : unmanaged
    {
        ArgumentNullException.ThrowIfNull(device);
        if (a.ChunkCount == 0)
        {
            return;
        }

        var k = device.Kernels.Get(name, kernel, static (acc, kern) => acc.LoadKernel(kern));
        k(device.Stream, new KernelConfig(a.ChunkCount, OptimLayout.GroupSize), a.W, a.G, a.S0, a.S1, a.S2, a.Chunks, p);
    }
}
