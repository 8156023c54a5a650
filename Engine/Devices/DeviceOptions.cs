// Settings that shape how a Device is created and which code paths it dispatches to.
using Microsoft.Extensions.Logging;

namespace Engine;

/// <summary>Options for <see cref="Device.Create(DeviceKind, DeviceOptions?)"/>.</summary>
public sealed class DeviceOptions
{
    /// <summary>Environment variable that overrides the requested kind: auto, cuda, opencl, cpu, or a device index.</summary>
    public const string DeviceEnvironmentVariable = "ENGINE_DEVICE";

    /// <summary>Environment variable that, set to "kernels", makes the CPU device run ILGPU kernels on the CPU accelerator.</summary>
    public const string CpuPathEnvironmentVariable = "ENGINE_CPU_PATH";

    /// <summary>Logger for device selection, kernel loading and allocator events.</summary>
    public ILogger? Logger { get; set; }

    /// <summary>
    /// On the CPU device, run the ILGPU kernels on ILGPU's CPU accelerator (a simulator) instead of the managed
    /// SIMD host code. Tests use it to prove every kernel; it is slow. Null reads <see cref="CpuPathEnvironmentVariable"/>.
    /// </summary>
    public bool? ForceKernelsOnCpu { get; set; }

    /// <summary>Whether the environment variable may override the requested device. Default true.</summary>
    public bool HonorEnvironment { get; set; } = true;
}
