// One place that decides which devices the tests run on: every ILGPU kernel on the CPU accelerator, the CPU
// device's host path, and CUDA/OpenCL when present. Devices are shared so that each kernel is loaded once.
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using NUnit.Framework;

namespace Engine.Tests.Infrastructure;

/// <summary>A named device configuration that fixtures are instantiated for.</summary>
public sealed record DeviceConfig(string Name, DeviceKind Kind, bool ForceKernels)
{
    public override string ToString() => Name;
}

public static class TestDevices
{
    private static readonly ConcurrentDictionary<string, Device> Open = new();

    /// <summary>CPU accelerator running ILGPU kernels, the CPU host path, and every usable GPU kind present.</summary>
    public static IEnumerable<DeviceConfig> All()
    {
        yield return new DeviceConfig("cpu-kernels", DeviceKind.Cpu, ForceKernels: true);
        yield return new DeviceConfig("cpu-host", DeviceKind.Cpu, ForceKernels: false);
        foreach (var kind in new[] { DeviceKind.Cuda, DeviceKind.OpenCL })
        {
            if (Device.ListDevices().Any(d => d.IsUsable && d.Kind == kind))
            {
                yield return new DeviceConfig(kind.ToString().ToLowerInvariant(), kind, ForceKernels: false);
            }
        }
    }

    /// <summary>Only configurations that run ILGPU kernels (CPU accelerator and GPUs).</summary>
    public static IEnumerable<DeviceConfig> Kernels() => All().Where(c => c.ForceKernels || c.Kind != DeviceKind.Cpu);

    /// <summary>The shared device for a configuration.</summary>
    public static Device Get(DeviceConfig config) => Open.GetOrAdd(config.Name, _ => Device.Create(config.Kind, new DeviceOptions
    {
        ForceKernelsOnCpu = config.ForceKernels,
        HonorEnvironment = false,
    }));

    internal static void DisposeAll()
    {
        foreach (var d in Open.Values)
        {
            d.Dispose();
        }

        Open.Clear();
    }
}

[SetUpFixture]
public sealed class TestDevicesTeardown
{
    [OneTimeTearDown]
    public void DisposeDevices() => TestDevices.DisposeAll();
}
