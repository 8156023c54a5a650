// How a kernel states that it needs more than the PTX check allows by default (the check is in the test suite).
using System;

namespace Engine.Kernels;

/// <summary>
/// Resource opt-ins of a kernel entry point. The test suite compiles every kernel to PTX and fails a kernel that
/// uses more than 48 KB of shared memory per group or any local memory, unless the kernel states it here.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class KernelResourcesAttribute : Attribute
{
    /// <summary>Shared memory per group the kernel is allowed (above 48 KB it needs a launch with the opt-in).</summary>
    public int SharedMemoryBytes { get; init; }

    /// <summary>Why the kernel uses local memory (per-thread arrays, spills), when it does.</summary>
    public string? LocalMemoryReason { get; init; }
}
