// Device memory cache: ILGPU allocates synchronously and slowly, so buffers are reused by size class.
using System;
using System.Collections.Generic;
using System.Threading;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace Engine.Memory;

/// <summary>Counters describing a <see cref="CachingAllocator"/>'s use of device memory.</summary>
/// <param name="BytesInUse">Capacity of the buffers currently rented out.</param>
/// <param name="PeakBytesInUse">Largest <paramref name="BytesInUse"/> seen since creation or the last reset.</param>
/// <param name="BytesReserved">Capacity of every buffer held on the device (rented plus cached).</param>
/// <param name="DeviceAllocations">How many times device memory was allocated.</param>
/// <param name="DeviceFrees">How many device buffers were freed.</param>
/// <param name="Rents">How many buffers were rented (cache hits and misses).</param>
/// <param name="CacheHits">How many rents were served from the cache.</param>
public readonly record struct AllocatorStats(
    long BytesInUse,
    long PeakBytesInUse,
    long BytesReserved,
    long DeviceAllocations,
    long DeviceFrees,
    long Rents,
    long CacheHits);

/// <summary>
/// Rents device buffers by size class and keeps returned ones for reuse, so that steady-state training
/// allocates no device memory. Thread-safe. Disposing frees every buffer.
/// </summary>
public sealed class CachingAllocator : IDisposable
{
    private const long MinClassBytes = 256;
    private readonly Accelerator accelerator;
    private readonly Dictionary<long, Stack<DeviceBuffer>> free = new();
    private readonly List<DeviceBuffer> all = new();
    private readonly Lock gate = new();
    private long bytesInUse;
    private long peakBytesInUse;
    private long bytesReserved;
    private long deviceAllocations;
    private long deviceFrees;
    private long rents;
    private long cacheHits;
    private bool disposed;

    /// <summary>Creates an allocator over <paramref name="accelerator"/>.</summary>
    internal CachingAllocator(Accelerator accelerator)
    {
        this.accelerator = accelerator ?? throw new ArgumentNullException(nameof(accelerator));
        IsHostMemory = accelerator is CPUAccelerator;
    }

    /// <summary>Whether the buffers live in host memory (the CPU accelerator).</summary>
    public bool IsHostMemory { get; }

    /// <summary>A snapshot of the counters.</summary>
    public AllocatorStats Stats
    {
        get
        {
            lock (gate)
            {
                return new AllocatorStats(bytesInUse, peakBytesInUse, bytesReserved, deviceAllocations, deviceFrees, rents, cacheHits);
            }
        }
    }

    /// <summary>The size class that a request of <paramref name="bytes"/> is served from: 256 bytes, then quarter steps between powers of two.</summary>
    public static long SizeClass(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes <= MinClassBytes)
        {
            return MinClassBytes;
        }

        long pow = 1L << (int)(63 - long.LeadingZeroCount(bytes - 1));
        long step = Math.Max(pow / 4, MinClassBytes);
        return (bytes + step - 1) / step * step;
    }

    /// <summary>Rents a buffer of at least <paramref name="bytes"/> bytes. Its contents are undefined.</summary>
    public DeviceBuffer Rent(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        long cls = SizeClass(bytes);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            rents++;
            DeviceBuffer buffer;
            if (free.TryGetValue(cls, out var stack) && stack.Count > 0)
            {
                buffer = stack.Pop();
                buffer.Reactivate(bytes);
                cacheHits++;
            }
            else
            {
                var raw = accelerator.Allocate1D<byte>(cls);
                buffer = new DeviceBuffer(this, raw, bytes);
                all.Add(buffer);
                deviceAllocations++;
                bytesReserved += cls;
            }

            bytesInUse += cls;
            peakBytesInUse = Math.Max(peakBytesInUse, bytesInUse);
            return buffer;
        }
    }

    internal void Return(DeviceBuffer buffer)
    {
        lock (gate)
        {
            if (buffer.IsReturned)
            {
                return;
            }

            buffer.MarkReturned();
            long cls = buffer.CapacityBytes;
            bytesInUse -= cls;
            if (disposed)
            {
                return;
            }

            if (!free.TryGetValue(cls, out var stack))
            {
                stack = new Stack<DeviceBuffer>();
                free[cls] = stack;
            }

            stack.Push(buffer);
        }
    }

    /// <summary>Resets <see cref="AllocatorStats.PeakBytesInUse"/> to the current bytes in use.</summary>
    public void ResetPeak()
    {
        lock (gate)
        {
            peakBytesInUse = bytesInUse;
        }
    }

    /// <summary>Frees every cached (not rented) buffer on the device.</summary>
    public void Trim()
    {
        lock (gate)
        {
            foreach (var stack in free.Values)
            {
                while (stack.Count > 0)
                {
                    var b = stack.Pop();
                    all.Remove(b);
                    bytesReserved -= b.CapacityBytes;
                    deviceFrees++;
                    b.Raw.Dispose();
                }
            }
        }
    }

    /// <summary>Frees every buffer, rented or cached.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            if (disposed)
            {
                return;
            }

            disposed = true;
            foreach (var b in all)
            {
                b.MarkReturned();
                b.Raw.Dispose();
                deviceFrees++;
            }

            all.Clear();
            free.Clear();
            bytesReserved = 0;
            bytesInUse = 0;
        }
    }
}
