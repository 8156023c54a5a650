// Group sizes and group counts for the reduction-style kernels (softmax per line, loss partial sums), per device.
using System;
using Engine.Kernels.Reduction;

namespace Engine.Backends.Kernel;

/// <summary>
/// Launch shapes for kernels that reduce inside groups. GPUs get groups of up to 256 threads and up to 256 groups;
/// the CPU accelerator (a simulator that runs every thread of a group as an OS thread and pays dearly for each
/// barrier: 32-thread groups made the loss fixtures five times slower than 8-thread ones) gets groups of
/// <see cref="CpuGroupSize"/> threads and at most <see cref="CpuMaxGroups"/> groups, which still exercises every
/// tree-reduction, multi-group and grid-stride path.
/// </summary>
internal static class LaunchShapes
{
    /// <summary>Largest group count of a reduction's first pass on the CPU accelerator.</summary>
    public const int CpuMaxGroups = 64;

    /// <summary>Group size of reduction kernels on the CPU accelerator.</summary>
    public const int CpuGroupSize = 8;

    /// <summary>
    /// A power-of-two group size for reducing <paramref name="work"/> elements: on GPUs at least a warp and at most
    /// 256 (or the device's limit); on the CPU accelerator <see cref="CpuGroupSize"/>.
    /// </summary>
    public static int GroupSize(Device device, long work)
    {
        ArgumentNullException.ThrowIfNull(device);
        int warp = Math.Max(1, device.Info.WarpSize);
        int cap = device.Kind == DeviceKind.Cpu ? CpuGroupSize : Math.Min(GroupReduce.MaxGroupSize, device.Info.MaxThreadsPerGroup);
        int g = 1;
        while (g < warp && g < cap)
        {
            g <<= 1;
        }

        while (g < cap && g < work && (g << 1) <= GroupReduce.MaxGroupSize)
        {
            g <<= 1;
        }

        return Math.Min(g, GroupReduce.MaxGroupSize);
    }

    /// <summary>Groups of a grid-stride first pass over <paramref name="work"/> items with groups of <paramref name="groupSize"/>.</summary>
    public static int Groups(Device device, long work, int groupSize)
    {
        ArgumentNullException.ThrowIfNull(device);
        int cap = device.Kind == DeviceKind.Cpu ? CpuMaxGroups : GroupReduce.MaxGroups;
        return (int)Math.Clamp((work + groupSize - 1) / groupSize, 1, cap);
    }
}
