// The kinds of compute device the engine can run on, and how a kind is chosen.
namespace Engine;

/// <summary>The kind of accelerator a <see cref="Device"/> runs on.</summary>
public enum DeviceKind
{
    /// <summary>Pick the best present device: CUDA, then OpenCL, then the CPU.</summary>
    Auto = 0,

    /// <summary>An NVIDIA GPU through ILGPU's CUDA backend.</summary>
    Cuda = 1,

    /// <summary>An OpenCL 2.0 device (needs the generic address space).</summary>
    OpenCL = 2,

    /// <summary>The CPU: buffers on ILGPU's CPU accelerator, hot ops in managed SIMD code.</summary>
    Cpu = 3,
}

/// <summary>Which implementation family the dispatch uses for an op on a device.</summary>
public enum ComputePath
{
    /// <summary>ILGPU kernels launched on the device's accelerator.</summary>
    Kernels = 0,

    /// <summary>Managed host code (SIMD, multi-threaded) over the CPU accelerator's buffers.</summary>
    Host = 1,
}
