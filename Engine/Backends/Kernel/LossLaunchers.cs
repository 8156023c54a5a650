// Kernel path of the losses, one launcher pair per loss family (pointwise and region ones generic over the loss
// operator struct): sizes the reduction grid and uses the device's cached scratch for partial sums, so a warm call
// launches kernels and allocates nothing.
using System;
using Engine.Kernels.Losses;
using Engine.Kernels.Reduction;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Backends.Kernel;

/// <summary>Launchers of the loss kernels (the <c>kernel.*</c> variants of every loss's dispatch rows).</summary>
internal static partial class LossLaunchers
{
    // Scratch layout: [0, 2 * MaxGroups) partial sums, then one slot for a denominator, then 3 C per-class sums.
    private const int DenSlot = 2 * GroupReduce.MaxGroups;
    private const int StatsStart = DenSlot + 1;

    /// <summary>Pointwise forward: grid-stride partial sums, then a one-group finish into views.Loss.</summary>
    public static void PointwiseForward<TOp>(Device device, in LossViews views, in LossArgs a)
        where TOp : struct, IPointwiseLoss
    {
        var (partials, gs, groups) = Partials(device, a.Call);
        var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall, PointwiseLossParams>>(
            Names<TOp>.Reduce, static acc => acc.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall, PointwiseLossParams>(PointwiseLossKernels.Reduce<TOp>));
        k(device.Stream, new KernelConfig(groups, gs), views.Pred, views.Target, partials, a.Call, a.Pointwise);
        Finish(device, partials, views.Loss, new FinishParams { Count = groups, Ratio = 0, Scale = a.Call.Scale });
    }

    /// <summary>Pointwise backward: one thread per element.</summary>
    public static void PointwiseBackward<TOp>(Device device, in LossViews views, in LossArgs a)
        where TOp : struct, IPointwiseLoss
    {
        ArgumentNullException.ThrowIfNull(device);
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall, PointwiseLossParams>>(
            Names<TOp>.Backward, static acc => acc.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall, PointwiseLossParams>(PointwiseLossKernels.Backward<TOp>));
        k(device.Stream, a.Call.N, views.Pred, views.Target, views.Upstream, views.DPred, a.Call, a.Pointwise);
    }

    /// <summary>Region forward: per-class sums, then one group folds the ratios into views.Loss.</summary>
    public static void RegionForward<TOp>(Device device, in LossViews views, in LossArgs a)
        where TOp : struct, IRegionLoss
    {
        var stats = Stats(device, views, a.Call);
        var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, LossCall, RegionLossParams>>(
            Names<TOp>.Reduce, static acc => acc.LoadKernel<ArrayView<float>, ArrayView<float>, LossCall, RegionLossParams>(RegionLossKernels.Finish<TOp>));
        k(device.Stream, new KernelConfig(1, LaunchShapes.GroupSize(device, a.Call.C)), stats, views.Loss, a.Call, a.Region);
    }

    /// <summary>Region backward: per-class sums, then one thread per element.</summary>
    public static void RegionBackward<TOp>(Device device, in LossViews views, in LossArgs a)
        where TOp : struct, IRegionLoss
    {
        var stats = Stats(device, views, a.Call);
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall, RegionLossParams>>(
            Names<TOp>.Backward, static acc => acc.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall, RegionLossParams>(RegionLossKernels.Backward<TOp>));
        k(device.Stream, checked(a.Call.N * a.Call.C), views.Target, stats, views.Upstream, views.DPred, a.Call, a.Region);
    }

    /// <summary>Cross-entropy forward: per-row terms and denominators, then sum(num) / sum(den) or sum(num) * Scale.</summary>
    public static void CrossEntropyForward(Device device, in LossViews views, in LossArgs a)
    {
        var (partials, gs, groups) = Partials(device, a.Call);
        var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall, CrossEntropyParams>>(
            "loss.cross_entropy.reduce", static acc => acc.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall, CrossEntropyParams>(CrossEntropyKernels.Reduce));
        k(device.Stream, new KernelConfig(groups, gs), views.Pred, views.Target, views.Weight, partials, a.Call, a.CrossEntropy);
        Finish(device, partials, views.Loss, new FinishParams { Count = groups, Ratio = a.CrossEntropy.WeightedMean, Scale = a.Call.Scale });
    }

    /// <summary>Cross-entropy backward: the weighted-mean denominator first where needed, then one thread per row.</summary>
    public static void CrossEntropyBackward(Device device, in LossViews views, in LossArgs a)
    {
        ArgumentNullException.ThrowIfNull(device);
        var den = views.Upstream;
        if (a.CrossEntropy.WeightedMean != 0)
        {
            var scratch = OpScratch.For(device).DeviceFloats(StatsStart);
            int gs = LaunchShapes.GroupSize(device, a.Call.N);
            int groups = LaunchShapes.Groups(device, a.Call.N, gs);
            var partials = scratch.SubView(0, GroupReduce.MaxGroups);
            den = scratch.SubView(DenSlot, 1);
            var w = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall>>(
                "loss.cross_entropy.weightsum", static acc => acc.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall>(CrossEntropyKernels.WeightSum));
            w(device.Stream, new KernelConfig(groups, gs), views.Target, views.Weight, partials, a.Call);
            Finish(device, partials, den, new FinishParams { Count = groups, Ratio = 0, Scale = 1f });
        }

        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall, CrossEntropyParams>>(
            "loss.cross_entropy.backward", static acc => acc.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall, CrossEntropyParams>(CrossEntropyKernels.Backward));
        k(device.Stream, a.Call.N, views.Pred, views.Target, views.Weight, views.Upstream, den, views.DPred, a.Call, a.CrossEntropy);
    }

    /// <summary>Triplet forward: per-row hinge terms, then their sum times Scale.</summary>
    public static void TripletForward(Device device, in LossViews views, in LossArgs a)
    {
        var (partials, gs, groups) = Partials(device, a.Call);
        var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall, TripletParams>>(
            "loss.triplet.reduce", static acc => acc.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall, TripletParams>(TripletKernels.Reduce));
        k(device.Stream, new KernelConfig(groups, gs), views.Pred, views.Target, views.Negative, partials, a.Call, a.Triplet);
        Finish(device, partials, views.Loss, new FinishParams { Count = groups, Ratio = 0, Scale = a.Call.Scale });
    }

    /// <summary>Triplet backward: one thread per row writes the three gradients.</summary>
    public static void TripletBackward(Device device, in LossViews views, in LossArgs a)
    {
        ArgumentNullException.ThrowIfNull(device);
        var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall, TripletParams>>(
            "loss.triplet.backward", static acc => acc.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall, TripletParams>(TripletKernels.Backward));
        k(device.Stream, a.Call.N, views.Pred, views.Target, views.Negative, views.Upstream, views.DPred, views.DTarget, views.DNegative, a.Call, a.Triplet);
    }

    private static (ArrayView<float> Partials, int GroupSize, int Groups) Partials(Device device, LossCall call)
    {
        ArgumentNullException.ThrowIfNull(device);
        var scratch = OpScratch.For(device).DeviceFloats(StatsStart + (3L * call.C));
        int gs = LaunchShapes.GroupSize(device, call.N);
        return (scratch.SubView(0, 2 * GroupReduce.MaxGroups), gs, LaunchShapes.Groups(device, call.N, gs));
    }

    private static ArrayView<float> Stats(Device device, in LossViews views, LossCall call)
    {
        ArgumentNullException.ThrowIfNull(device);
        var stats = OpScratch.For(device).DeviceFloats(StatsStart + (3L * call.C)).SubView(StatsStart, 3L * call.C);
        var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall>>(
            "loss.region.stats", static acc => acc.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, LossCall>(RegionLossKernels.Stats));
        k(device.Stream, new KernelConfig(call.C, LaunchShapes.GroupSize(device, call.N)), views.Pred, views.Target, stats, call);
        return stats;
    }

    private static void Finish(Device device, ArrayView<float> partials, ArrayView<float> output, FinishParams f)
    {
        var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, FinishParams>>(
            "reduce.finish", static a => a.LoadKernel<ArrayView<float>, ArrayView<float>, FinishParams>(GroupReduce.Finish));
        k(device.Stream, new KernelConfig(1, LaunchShapes.GroupSize(device, f.Count)), partials, output, f);
    }

    private static class Names<TOp>
    {
        public static readonly string Reduce = "loss.reduce." + typeof(TOp).Name;
        public static readonly string Backward = "loss.backward." + typeof(TOp).Name;
    }
}
