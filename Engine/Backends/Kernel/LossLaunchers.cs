// Kernel path of the losses: picks the kernel family for the loss, sizes the reduction grid and uses the device's
// cached scratch for partial sums, so a warm call launches kernels and allocates nothing.
using System;
using Engine.Kernels.Losses;
using Engine.Kernels.Reduction;
using Engine.Ops;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Backends.Kernel;

/// <summary>Launchers of the loss kernels (the <c>kernel.*</c> variants of <see cref="Losses"/>).</summary>
public static class LossLaunchers
{
    // Scratch layout: [0, 2 * MaxGroups) partial sums, then one slot for a denominator, then 3 C per-class sums.
    private const int DenSlot = 2 * GroupReduce.MaxGroups;
    private const int StatsStart = DenSlot + 1;

    /// <summary>Forward: partial sums per group, then a one-group finish into views.Loss.</summary>
    public static void Forward(Device device, in LossViews views, LossParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        var scratch = OpScratch.For(device).DeviceFloats(StatsStart + (3L * p.C));
        int rows = p.N;
        int gs = LaunchShapes.GroupSize(device, rows);
        int groups = LaunchShapes.Groups(device, rows, gs);
        var partials = scratch.SubView(0, 2 * GroupReduce.MaxGroups);
        var finish = new FinishParams { Count = groups, Ratio = 0, Scale = p.Scale };
        switch (p.Kind)
        {
            case LossCodes.CrossEntropy:
                {
                    var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossParams>>(
                        "loss.ce.reduce", static a => a.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossParams>(CrossEntropyKernels.Reduce));
                    k(device.Stream, new KernelConfig(groups, gs), views.Pred, views.Target, views.Weight, partials, p);
                }

                finish.Ratio = p.DenFromBuffer;
                break;
            case LossCodes.Triplet:
                {
                    var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossParams>>(
                        "loss.triplet.reduce", static a => a.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossParams>(TripletKernels.Reduce));
                    k(device.Stream, new KernelConfig(groups, gs), views.Pred, views.Target, views.Negative, partials, p);
                }

                break;
            case LossCodes.Dice or LossCodes.Iou or LossCodes.Tversky:
                {
                    var stats = scratch.SubView(StatsStart, 3L * p.C);
                    Stats(device, views, stats, p);
                    var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, LossParams>>(
                        "loss.region.finish", static a => a.LoadKernel<ArrayView<float>, ArrayView<float>, LossParams>(RegionLossKernels.Finish));
                    k(device.Stream, new KernelConfig(1, LaunchShapes.GroupSize(device, p.C)), stats, views.Loss, p);
                    return;
                }

            default:
                {
                    var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossParams>>(
                        "loss.pointwise.reduce", static a => a.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, LossParams>(PointwiseLossKernels.Reduce));
                    k(device.Stream, new KernelConfig(groups, gs), views.Pred, views.Target, partials, p);
                    break;
                }
        }

        Finish(device, partials, views.Loss, finish);
    }

    /// <summary>Backward: elementwise or per-row gradient kernels (after a denominator or class-sum pass where needed).</summary>
    public static void Backward(Device device, in LossViews views, LossParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        switch (p.Kind)
        {
            case LossCodes.CrossEntropy:
                {
                    var den = views.Upstream;
                    if (p.DenFromBuffer != 0)
                    {
                        var scratch = OpScratch.For(device).DeviceFloats(StatsStart);
                        int gs = LaunchShapes.GroupSize(device, p.N);
                        int groups = LaunchShapes.Groups(device, p.N, gs);
                        var partials = scratch.SubView(0, GroupReduce.MaxGroups);
                        den = scratch.SubView(DenSlot, 1);
                        var w = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossParams>>(
                            "loss.ce.weightsum", static a => a.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, LossParams>(CrossEntropyKernels.WeightSum));
                        w(device.Stream, new KernelConfig(groups, gs), views.Target, views.Weight, partials, p);
                        Finish(device, partials, den, new FinishParams { Count = groups, Ratio = 0, Scale = 1f });
                    }

                    var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossParams>>(
                        "loss.ce.backward", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossParams>(CrossEntropyKernels.Backward));
                    k(device.Stream, p.N, views.Pred, views.Target, views.Weight, views.Upstream, den, views.DPred, p);
                    return;
                }

            case LossCodes.Triplet:
                {
                    var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossParams>>(
                        "loss.triplet.backward", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossParams>(TripletKernels.Backward));
                    k(device.Stream, p.N, views.Pred, views.Target, views.Negative, views.Upstream, views.DPred, views.DTarget, views.DNegative, p);
                    return;
                }

            case LossCodes.Dice or LossCodes.Iou or LossCodes.Tversky:
                {
                    var stats = OpScratch.For(device).DeviceFloats(StatsStart + (3L * p.C)).SubView(StatsStart, 3L * p.C);
                    Stats(device, views, stats, p);
                    var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossParams>>(
                        "loss.region.backward", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossParams>(RegionLossKernels.Backward));
                    k(device.Stream, checked(p.N * p.C), views.Target, stats, views.Upstream, views.DPred, p);
                    return;
                }

            default:
                {
                    var k = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossParams>>(
                        "loss.pointwise.backward", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossParams>(PointwiseLossKernels.Backward));
                    k(device.Stream, p.N, views.Pred, views.Target, views.Upstream, views.DPred, p);
                    return;
                }
        }
    }

    private static void Stats(Device device, in LossViews views, ArrayView<float> stats, LossParams p)
    {
        var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossParams>>(
            "loss.region.stats", static a => a.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, LossParams>(RegionLossKernels.Stats));
        k(device.Stream, new KernelConfig(p.C, LaunchShapes.GroupSize(device, p.N)), views.Pred, views.Target, stats, p);
    }

    private static void Finish(Device device, ArrayView<float> partials, ArrayView<float> output, FinishParams f)
    {
        var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, FinishParams>>(
            "reduce.finish", static a => a.LoadKernel<ArrayView<float>, ArrayView<float>, FinishParams>(GroupReduce.Finish));
        k(device.Stream, new KernelConfig(1, LaunchShapes.GroupSize(device, f.Count)), partials, output, f);
    }
}
