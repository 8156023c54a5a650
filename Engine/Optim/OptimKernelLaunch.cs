// One launcher for every optimizer's fused ILGPU kernel: the generic chunk-loop kernel instantiated with the rule struct.
using System;
using Engine.Kernels.Optim;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Optim;

/// <summary>
/// Loads (once per device and rule struct) and launches <see cref="OptimizerKernels.Step{TRule}"/> over a chunk
/// table: one group of <see cref="OptimLayout.GroupSize"/> threads per chunk.
/// </summary>
internal static class OptimKernelLaunch
{
    public static void Run<TRule>(Device device, in OptimStepArgs a, RegParams reg, TRule rule)
        where TRule : struct, IOptimizerRule
    {
        ArgumentNullException.ThrowIfNull(device);
        if (a.ChunkCount == 0)
        {
            return;
        }

        var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, RegParams, int, TRule>>(
            Name<TRule>.Value, static acc => acc.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, RegParams, int, TRule>(OptimizerKernels.Step<TRule>));
        k(device.Stream, new KernelConfig(a.ChunkCount, OptimLayout.GroupSize), a.W, a.G, a.S0, a.S1, a.S2, a.Chunks, reg, a.UsedStates, rule);
    }

    private static class Name<TRule>
    {
        public static readonly string Value = "optim.step." + typeof(TRule).Name;
    }
}
