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

    /// <summary>
    /// Where the engine logs: the device (category <c>Engine.Device</c>), its kernel cache (<c>Engine.KernelCache</c>)
    /// and everything above it that logs through <see cref="Device.LoggerFactory"/> (the trainer, <c>Engine.Training.Trainer</c>).
    /// The host owns the factory (the device does not dispose it). Null: <see cref="Logger"/>, else nothing is logged.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>One logger for every engine log line of this device, when no <see cref="LoggerFactory"/> is given.</summary>
    public ILogger? Logger { get; set; }

    /// <summary>
    /// Caps the CPU threads of the host path (the CPU GEMM and every host op) by setting <see cref="HostThreads.Limit"/>
    /// when the device is created. The cap is process-wide: the host path has one thread pool. Null leaves it as it is
    /// (by default <c>ENGINE_THREADS</c>, else every core).
    /// </summary>
    public int? CpuThreads { get; set; }

    /// <summary>
    /// On the CPU device, run the ILGPU kernels on ILGPU's CPU accelerator (a simulator) instead of the managed
    /// SIMD host code. Tests use it to prove every kernel; it is slow. Null reads <see cref="CpuPathEnvironmentVariable"/>.
    /// </summary>
    public bool? ForceKernelsOnCpu { get; set; }

    /// <summary>Whether the environment variable may override the requested device. Default true.</summary>
    public bool HonorEnvironment { get; set; } = true;
}
