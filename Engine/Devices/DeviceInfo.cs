// A description of one accelerator that ILGPU reports, whether or not the engine can drive it.
using System.Globalization;

namespace Engine;

/// <summary>One accelerator as reported by ILGPU, with whether the engine can use it.</summary>
/// <param name="Index">Position in <see cref="Device.ListDevices"/>; usable with <see cref="Device.Create(int, DeviceOptions?)"/>.</param>
/// <param name="Kind">The device kind.</param>
/// <param name="Name">The device's name.</param>
/// <param name="MemoryBytes">Device memory in bytes.</param>
/// <param name="WarpSize">Threads per warp (or sub-group).</param>
/// <param name="Multiprocessors">Number of multiprocessors (compute units).</param>
/// <param name="MaxThreadsPerGroup">Largest thread group the device runs.</param>
/// <param name="IsUsable">Whether the engine can run its kernels on this device.</param>
/// <param name="UnusableReason">Why it cannot, when <paramref name="IsUsable"/> is false.</param>
public sealed record DeviceInfo(
    int Index,
    DeviceKind Kind,
    string Name,
    long MemoryBytes,
    int WarpSize,
    int Multiprocessors,
    int MaxThreadsPerGroup,
    bool IsUsable,
    string? UnusableReason)
{
    /// <inheritdoc />
    public override string ToString() => string.Format(
        CultureInfo.InvariantCulture,
        "[{0}] {1} '{2}' ({3:F1} GiB, warp {4}, {5} MPs){6}",
        Index, Kind, Name, MemoryBytes / (1024.0 * 1024 * 1024), WarpSize, Multiprocessors,
        IsUsable ? string.Empty : " unusable: " + UnusableReason);
}
