// A block of device memory rented from the CachingAllocator; tensors view it as typed elements.
using System;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Memory;

/// <summary>
/// A block of raw device memory of one size class, rented from a <see cref="CachingAllocator"/>.
/// Disposing it returns it to the allocator's cache; it is freed on the device when the allocator is trimmed
/// or disposed.
/// </summary>
public sealed class DeviceBuffer : IDisposable
{
    private readonly CachingAllocator owner;
    private bool returned;

    internal DeviceBuffer(CachingAllocator owner, MemoryBuffer1D<byte, Stride1D.Dense> raw, long requestedBytes)
    {
        this.owner = owner;
        Raw = raw;
        RequestedBytes = requestedBytes;
    }

    /// <summary>The underlying ILGPU buffer (its length is the size class, at least <see cref="RequestedBytes"/>).</summary>
    internal MemoryBuffer1D<byte, Stride1D.Dense> Raw { get; private set; }

    /// <summary>The number of bytes asked for when the buffer was rented.</summary>
    public long RequestedBytes { get; internal set; }

    /// <summary>The capacity of the size class in bytes.</summary>
    public long CapacityBytes => Raw.LengthInBytes;

    /// <summary>Whether the buffer has been given back to its allocator.</summary>
    public bool IsReturned => returned;

    /// <summary>A typed view of the first <paramref name="count"/> elements starting at element <paramref name="offset"/>.</summary>
    internal ArrayView<T> View<T>(long offset, long count) where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(returned, this);
        return Raw.View.AsContiguous().Cast<T>().SubView(offset, count);
    }

    /// <summary>
    /// A host pointer to the buffer's memory. Valid only for buffers of the CPU accelerator, whose memory lives
    /// in host RAM; the CPU device's SIMD code reads and writes through it.
    /// </summary>
    public IntPtr HostPointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(returned, this);
            return owner.IsHostMemory
                ? Raw.NativePtr
                : throw new InvalidOperationException("Host pointers exist only for buffers of the CPU accelerator.");
        }
    }

    internal void Reactivate(long requestedBytes)
    {
        returned = false;
        RequestedBytes = requestedBytes;
    }

    internal void MarkReturned() => returned = true;

    /// <summary>Returns the buffer to the allocator's cache.</summary>
    public void Dispose()
    {
        if (!returned)
        {
            owner.Return(this);
        }
    }
}
