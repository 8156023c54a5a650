// The device abstraction: picks an ILGPU accelerator by kind or index and owns its stream, allocator and kernels.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Engine.Memory;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engine;

/// <summary>
/// A compute device: one ILGPU accelerator with its default stream, caching allocator and kernel cache.
/// Create one with <see cref="Create(DeviceKind, DeviceOptions?)"/>; dispose it to free its memory.
/// </summary>
public sealed class Device : IDisposable
{
    // Steps the layers above add to every context's compiler (AddCompilerExtension); filled when Engine.dll loads,
    // before the first context is created.
    private static readonly List<Func<Context.Builder, Context.Builder>> CompilerExtensions = [];

    private static readonly Lazy<Context> SharedContext = new(CreateContext);
    private bool disposed;

    private Device(Accelerator accelerator, DeviceInfo info, ComputePath path, ILoggerFactory loggers)
    {
        Accelerator = accelerator;
        Info = info;
        Path = path;
        LoggerFactory = loggers;
        Logger = loggers.CreateLogger<Device>();
        Stream = accelerator.DefaultStream;
        Allocator = new CachingAllocator(accelerator);
        Kernels = new KernelCache(accelerator, loggers.CreateLogger<KernelCache>());
        IsHostMemory = accelerator is CPUAccelerator;
    }

    /// <summary>The ILGPU context shared by every device of the process.</summary>
    internal static Context Context => SharedContext.Value;

    /// <summary>Description of the device (name, memory, warp size, multiprocessors).</summary>
    public DeviceInfo Info { get; }

    /// <summary>The device kind.</summary>
    public DeviceKind Kind => Info.Kind;

    /// <summary>The device's name.</summary>
    public string Name => Info.Name;

    /// <summary>The ILGPU accelerator.</summary>
    internal Accelerator Accelerator { get; }

    /// <summary>The stream that ops launch on.</summary>
    internal AcceleratorStream Stream { get; }

    /// <summary>The device's caching allocator.</summary>
    public CachingAllocator Allocator { get; }

    /// <summary>Launchers of the kernels loaded on this device.</summary>
    public KernelCache Kernels { get; }

    /// <summary>Which implementations the dispatch picks: kernels, or managed host code on the CPU.</summary>
    public ComputePath Path { get; }

    /// <summary>Whether buffers live in host memory (the CPU accelerator), so host code can read them directly.</summary>
    public bool IsHostMemory { get; }

    /// <summary>The device's logger (category <c>Engine.Device</c>).</summary>
    public ILogger Logger { get; }

    /// <summary>
    /// The host's logger factory (<see cref="DeviceOptions.LoggerFactory"/>; a factory over <see cref="DeviceOptions.Logger"/>,
    /// or one that logs nothing): the engine's layers above the device take their loggers from it.
    /// </summary>
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>Every accelerator ILGPU reports, with whether the engine can use it.</summary>
    public static IReadOnlyList<DeviceInfo> ListDevices()
    {
        var list = new List<DeviceInfo>();
        int i = 0;
        foreach (var d in Context.Devices)
        {
            list.Add(Describe(i++, d));
        }

        return list;
    }

    /// <summary>
    /// Creates a device of <paramref name="kind"/>. <see cref="DeviceKind.Auto"/> picks CUDA, then OpenCL, then the
    /// CPU. The environment variable <c>ENGINE_DEVICE</c> (auto, cuda, opencl, cpu or an index) overrides the kind
    /// unless <see cref="DeviceOptions.HonorEnvironment"/> is false.
    /// </summary>
    /// <exception cref="InvalidOperationException">No usable device of that kind is present; the message lists what is.</exception>
    public static Device Create(DeviceKind kind = DeviceKind.Auto, DeviceOptions? options = null)
    {
        options ??= new DeviceOptions();
        if (options.HonorEnvironment)
        {
            string? env = Environment.GetEnvironmentVariable(DeviceOptions.DeviceEnvironmentVariable);
            if (!string.IsNullOrWhiteSpace(env))
            {
                if (int.TryParse(env, NumberStyles.Integer, CultureInfo.InvariantCulture, out int index))
                {
                    return Create(index, options);
                }

                kind = ParseKind(env);
            }
        }

        var devices = ListDevices();
        DeviceInfo? pick = kind switch
        {
            DeviceKind.Auto => devices.FirstOrDefault(d => d.IsUsable && d.Kind == DeviceKind.Cuda)
                ?? devices.FirstOrDefault(d => d.IsUsable && d.Kind == DeviceKind.OpenCL)
                ?? devices.FirstOrDefault(d => d.IsUsable && d.Kind == DeviceKind.Cpu),
            _ => devices.FirstOrDefault(d => d.IsUsable && d.Kind == kind),
        };
        if (pick is null)
        {
            throw new InvalidOperationException(
                $"No usable {kind} device is present. Present: {string.Join("; ", devices.Select(d => d.ToString()))}.");
        }

        return Open(pick, options);
    }

    /// <summary>Creates the device at <paramref name="index"/> in <see cref="ListDevices"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No device has that index.</exception>
    /// <exception cref="InvalidOperationException">The device cannot be driven by the engine.</exception>
    public static Device Create(int index, DeviceOptions? options = null)
    {
        var devices = ListDevices();
        if (index < 0 || index >= devices.Count)
        {
            throw new ArgumentOutOfRangeException(
                nameof(index), index, $"No device has index {index}. Present: {string.Join("; ", devices.Select(d => d.ToString()))}.");
        }

        var info = devices[index];
        if (!info.IsUsable)
        {
            throw new InvalidOperationException($"Device {info} cannot be used: {info.UnusableReason}");
        }

        return Open(info, options ?? new DeviceOptions());
    }

    /// <summary>Parses a device kind name (auto, cuda, opencl, cpu; case-insensitive).</summary>
    /// <exception cref="ArgumentException">The name is not a kind.</exception>
    public static DeviceKind ParseKind(string name) => name.Trim().ToUpperInvariant() switch
    {
        "AUTO" => DeviceKind.Auto,
        "CUDA" or "GPU" => DeviceKind.Cuda,
        "OPENCL" or "CL" => DeviceKind.OpenCL,
        "CPU" => DeviceKind.Cpu,
        _ => throw new ArgumentException($"Unknown device kind '{name}'; expected auto, cuda, opencl, cpu or a device index.", nameof(name)),
    };

    /// <summary>Waits until all work queued on the device has finished.</summary>
    public void Synchronize()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        Accelerator.Synchronize();
    }

    /// <summary>Creates an additional stream (for overlapping copies with compute).</summary>
    internal AcceleratorStream CreateStream() => Accelerator.CreateStream();

    /// <summary>Frees the device's memory and the accelerator.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        Accelerator.Synchronize();
        Allocator.Dispose();
        Accelerator.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => Info.ToString();

    private static Device Open(DeviceInfo info, DeviceOptions options)
    {
        if (options.LoggerFactory is not null && options.Logger is not null)
        {
            throw new ArgumentException("Set DeviceOptions.LoggerFactory or DeviceOptions.Logger, not both.", nameof(options));
        }

        if (options.CpuThreads is { } threads)
        {
            if (threads <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(options), threads, $"DeviceOptions.CpuThreads must be a positive number of threads, got {threads}.");
            }

            HostThreads.Limit = threads;
        }

        bool forceKernels = options.ForceKernelsOnCpu
            ?? string.Equals(Environment.GetEnvironmentVariable(DeviceOptions.CpuPathEnvironmentVariable), "kernels", StringComparison.OrdinalIgnoreCase);
        var path = info.Kind == DeviceKind.Cpu && !forceKernels ? ComputePath.Host : ComputePath.Kernels;
        int hostThreads = path == ComputePath.Host ? HostThreads.Count : 0; // a bad ENGINE_THREADS fails here, before any allocation
        var loggers = options.LoggerFactory ?? (options.Logger is { } one ? new SingleLoggerFactory(one) : NullLoggerFactory.Instance);
        var logger = loggers.CreateLogger<Device>();
        var accelerator = Context.Devices[info.Index].CreateAccelerator(Context);
        logger.LogInformation(
            "Device {Index}: {Kind} '{Name}', {MemoryGiB:F1} GiB, warp {Warp}, {MPs} multiprocessors, path {Path}",
            info.Index, info.Kind, info.Name, info.MemoryBytes / (1024.0 * 1024 * 1024), info.WarpSize, info.Multiprocessors, path);
        if (path == ComputePath.Host)
        {
            logger.LogInformation("Host path: {Threads} of {Cores} CPU threads (HostThreads.Limit {Limit}, {Variable} '{Value}')", hostThreads,
                Environment.ProcessorCount, HostThreads.Limit?.ToString(CultureInfo.InvariantCulture) ?? "not set", HostThreads.EnvironmentVariable,
                Environment.GetEnvironmentVariable(HostThreads.EnvironmentVariable) ?? string.Empty);
        }

        return new Device(accelerator, info, path, loggers);
    }

    private static DeviceInfo Describe(int index, ILGPU.Runtime.Device d)
    {
        var kind = d.AcceleratorType switch
        {
            AcceleratorType.Cuda => DeviceKind.Cuda,
            AcceleratorType.OpenCL => DeviceKind.OpenCL,
            _ => DeviceKind.Cpu,
        };
        bool usable = true;
        string? reason = null;
        if (d is CLDevice cl && !cl.Capabilities.GenericAddressSpace)
        {
            usable = false;
            reason = "the OpenCL device lacks the OpenCL 2.0 generic address space that ILGPU's OpenCL backend needs";
        }

        long memory = d is CPUDevice ? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes : d.MemorySize;
        string name = d is CPUDevice ? $"CPU ({Environment.ProcessorCount} cores)" : d.Name;
        return new DeviceInfo(index, kind, name, memory, d.WarpSize, d is CPUDevice ? Environment.ProcessorCount : d.NumMultiprocessors,
            d.MaxNumThreadsPerGroup, usable, reason);
    }

    private static Context CreateContext()
    {
        // The CPU accelerator simulates a GPU: give it groups of up to 256 threads (warp 32) so the tiled
        // kernels that GPUs run can be proven on it, with one simulated multiprocessor.
        var cpu = new CPUDevice(numThreadsPerWarp: 32, numWarpsPerMultiprocessor: 8, numMultiprocessors: 1);
        return Context.Create(b => ConfigureCompiler(b.Cuda().OpenCL().CPU(cpu)));
    }

    /// <summary>
    /// The compiler options every device's kernels are built with (ILGPU.Algorithms math intrinsics, the engine's own KernelMath intrinsics, O1). The PTX
    /// test compiles every kernel with exactly these options, without a GPU.
    /// </summary>
    internal static Context.Builder ConfigureCompiler(Context.Builder builder)
    {
        builder = builder.EnableAlgorithms().Optimize(OptimizationLevel.O1);
        foreach (var extension in CompilerExtensions)
        {
            builder = extension(builder);
        }

        return builder;
    }

    /// <summary>
    /// Adds a step to <see cref="ConfigureCompiler"/>: the layers above the device register what their kernels need on
    /// the compiler (the KernelMath intrinsics of the kernel launchers) without the device referencing them.
    /// </summary>
    internal static void AddCompilerExtension(Func<Context.Builder, Context.Builder> extension)
    {
        ArgumentNullException.ThrowIfNull(extension);
        lock (CompilerExtensions)
        {
            CompilerExtensions.Add(extension);
        }
    }
}
