// Loads each ILGPU kernel once per device and caches its launcher (a load costs ~200 ms and returns a new delegate).
using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using ILGPU.Runtime;
using Microsoft.Extensions.Logging;

namespace Engine;

/// <summary>
/// Per-device cache of compiled kernel launchers, keyed by a stable name such as <c>gemm.tiled</c>.
/// ILGPU compiles a kernel on every load and hands back a new delegate; the engine loads each once.
/// </summary>
public sealed class KernelCache
{
    private readonly Accelerator accelerator;
    private readonly ILogger logger;
    private readonly ConcurrentDictionary<string, Lazy<object>> launchers = new(StringComparer.Ordinal);

    internal KernelCache(Accelerator accelerator, ILogger logger)
    {
        this.accelerator = accelerator;
        this.logger = logger;
    }

    /// <summary>Number of kernels loaded so far.</summary>
    public int Count => launchers.Count;

    /// <summary>
    /// Returns the launcher cached under <paramref name="name"/>, loading it with <paramref name="load"/> the
    /// first time. All callers of one name must use the same delegate type.
    /// </summary>
    internal TDelegate Get<TDelegate>(string name, Func<Accelerator, TDelegate> load) where TDelegate : Delegate
    {
        if (launchers.TryGetValue(name, out var cached))
        {
            return (TDelegate)cached.Value;
        }

        return Load(name, load);
    }

    /// <summary>
    /// Like <see cref="Get{TDelegate}(string, Func{Accelerator, TDelegate})"/>, with a state handed to a static
    /// <paramref name="load"/> (such as the kernel method to load), so a cache hit allocates nothing.
    /// </summary>
    internal TDelegate Get<TDelegate, TState>(string name, TState state, Func<Accelerator, TState, TDelegate> load) where TDelegate : Delegate
    {
        if (launchers.TryGetValue(name, out var cached))
        {
            return (TDelegate)cached.Value;
        }

        return LoadWithState(name, state, load);
    }

    private TDelegate LoadWithState<TDelegate, TState>(string name, TState state, Func<Accelerator, TState, TDelegate> load) where TDelegate : Delegate =>
        Load(name, acc => load(acc, state));

    private TDelegate Load<TDelegate>(string name, Func<Accelerator, TDelegate> load) where TDelegate : Delegate
    {
        var lazy = launchers.GetOrAdd(name, n => new Lazy<object>(() =>
        {
            var sw = Stopwatch.StartNew();
            var d = load(accelerator);
            logger.LogDebug("Loaded kernel {Kernel} on {Accelerator} in {Ms} ms", n, accelerator.Name, sw.ElapsedMilliseconds);
            return d;
        }));
        return (TDelegate)lazy.Value;
    }

    /// <summary>Whether a kernel of that name has been loaded.</summary>
    public bool IsLoaded(string name) => launchers.TryGetValue(name, out var l) && l.IsValueCreated;
}
