// Devices the benchmarks run on: every usable accelerator kind present, opened once per process.
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;

namespace Engine.Benchmarks;

public static class BenchDevices
{
    private static readonly ConcurrentDictionary<string, Device> Open = new();

    /// <summary>"cpu" (host SIMD path), "cpu-kernels" (ILGPU's CPU accelerator), and "cuda"/"opencl" when usable.</summary>
    public static IEnumerable<string> Names()
    {
        yield return "cpu";
        yield return "cpu-kernels";
        foreach (var kind in new[] { DeviceKind.Cuda, DeviceKind.OpenCL })
        {
            if (Device.ListDevices().Any(d => d.IsUsable && d.Kind == kind))
            {
                yield return kind.ToString().ToLowerInvariant();
            }
        }
    }

    public static Device Get(string name) => Open.GetOrAdd(name, n => n switch
    {
        "cpu" => Device.Create(DeviceKind.Cpu, new DeviceOptions { HonorEnvironment = false, ForceKernelsOnCpu = false }),
        "cpu-kernels" => Device.Create(DeviceKind.Cpu, new DeviceOptions { HonorEnvironment = false, ForceKernelsOnCpu = true }),
        _ => Device.Create(Device.ParseKind(n), new DeviceOptions { HonorEnvironment = false }),
    });
}
