// Kernel path of the softmax focal loss: a grid-stride partial-sum pass folded by the shared finish kernel, and a
// one-thread-per-row backward (its own file so that the loss is one addition beside the other families).
using System;
using Engine.Kernels.Losses;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Backends.Kernel;

/// <summary>Launchers of <see cref="FocalSoftmaxKernels"/>.</summary>
internal static partial class LossLaunchers
{
    /// <summary>Softmax focal forward: per-row terms summed per group, then Scale times their sum into views.Loss.</summary>
    public static void FocalSoftmaxForward(Device device, in LossViews views, in LossArgs a)
    {
        var (partials, gs, groups) = Partials(device, a.Call);
        var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall, FocalSoftmaxParams>>(
            "loss.focal_softmax.reduce", static acc => acc.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall, FocalSoftmaxParams>(FocalSoftmaxKernels.Reduce));
        k(device.Stream, new KernelConfig(groups, gs), views.Pred, views.Target, partials, a.Call, a.FocalSoftmax);
        Finish(device, partials, views.Loss, new Engine.Kernels.Reduction.FinishParams { Count = groups, Ratio = 0, Scale = a.Call.Scale });
    }

    /// <summary>Softmax focal backward: one thread per row.</summary>
    public static void FocalSoftmaxBackward(Device device, in LossViews views, in LossArgs a)
    {
        ArgumentNullException.ThrowIfNull(device);
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall, FocalSoftmaxParams>>(
            "loss.focal_softmax.backward", static acc => acc.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall, FocalSoftmaxParams>(FocalSoftmaxKernels.Backward));
        k(device.Stream, a.Call.N, views.Pred, views.Target, views.Upstream, views.DPred, a.Call, a.FocalSoftmax);
    }
}
