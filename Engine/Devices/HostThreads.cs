// The host's cap on the CPU threads of the engine's host path. One pool of worker threads (HostParallel) runs the
// CPU GEMM and every host op for the whole process, so the cap is process-wide; it lives here in the core so that
// options and the environment can set it below the backend that reads it.
using System;
using System.Globalization;

namespace Engine;

/// <summary>
/// How many CPU threads the host path uses (the calling thread included): the CPU GEMM and every managed host op
/// share one process-wide pool of <c>Count - 1</c> worker threads. Set <see cref="Limit"/> (or
/// <see cref="DeviceOptions.CpuThreads"/>, or the environment variable <c>ENGINE_THREADS</c>) to leave cores to the
/// rest of the host. ILGPU's CPU accelerator (the kernel simulator, <c>ENGINE_CPU_PATH=kernels</c>) runs its own threads.
/// </summary>
public static class HostThreads
{
    /// <summary>Environment variable read when no <see cref="Limit"/> is set: a positive thread count.</summary>
    public const string EnvironmentVariable = "ENGINE_THREADS";

    private static volatile int limit;
    private static volatile int fromEnvironment;

    /// <summary>
    /// The cap set by the host, or null (the default): <c>ENGINE_THREADS</c> if set, else every core. It takes effect at
    /// the next host op and may change between calls; values above <see cref="Environment.ProcessorCount"/> use every
    /// core. 1 runs every host op on the calling thread and starts no worker. Workers that a lower cap leaves out sleep.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public static int? Limit
    {
        get => limit == 0 ? null : limit;
        set
        {
            if (value is { } v)
            {
                ArgumentOutOfRangeException.ThrowIfNegativeOrZero(v, nameof(Limit));
            }

            limit = value ?? 0;
        }
    }

    /// <summary>The number of threads host ops use now: the cap (<see cref="Limit"/>, else <c>ENGINE_THREADS</c>, else every core), at most the cores.</summary>
    /// <exception cref="InvalidOperationException"><c>ENGINE_THREADS</c> is set but is not a positive integer.</exception>
    public static int Count => Math.Min(limit != 0 ? limit : Default(), Environment.ProcessorCount);

    private static int Default()
    {
        int d = fromEnvironment;
        if (d == 0)
        {
            d = Parse(Environment.GetEnvironmentVariable(EnvironmentVariable));
            fromEnvironment = d;
        }

        return d;
    }

    /// <summary>The thread count that a value of <c>ENGINE_THREADS</c> asks for (every core when empty).</summary>
    /// <exception cref="InvalidOperationException">The text is not a positive integer.</exception>
    internal static int Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return Environment.ProcessorCount;
        }

        return int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0
            ? n
            : throw new InvalidOperationException($"{EnvironmentVariable} must be a positive number of threads, got '{text}'.");
    }
}
