// A float tensor in device memory: shape, strides, a rented buffer, and copies to and from the host.
using System;
using Engine.Memory;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace Engine;

/// <summary>
/// An n-dimensional array in a device's memory. A tensor either owns its buffer (returned to the device's
/// allocator on <see cref="Dispose"/>) or is a view (<see cref="Reshape"/>, <see cref="Slice"/>) that shares
/// its owner's memory. Element storage is contiguous row-major; <see cref="Strides"/> reports it.
/// </summary>
public sealed class Tensor : IDisposable
{
    private readonly DeviceBuffer buffer;
    private readonly bool ownsBuffer;
    private bool disposed;

    private Tensor(Device device, Shape shape, DType dtype, DeviceBuffer buffer, long offset, bool ownsBuffer)
    {
        Device = device;
        Shape = shape;
        DType = dtype;
        this.buffer = buffer;
        Offset = offset;
        this.ownsBuffer = ownsBuffer;
        Strides = shape.Strides();
    }

    /// <summary>The device whose memory holds the tensor.</summary>
    public Device Device { get; }

    /// <summary>The tensor's shape.</summary>
    public Shape Shape { get; }

    /// <summary>The element type.</summary>
    public DType DType { get; }

    /// <summary>Row-major strides in elements.</summary>
    public long[] Strides { get; }

    /// <summary>Element offset into the underlying buffer.</summary>
    public long Offset { get; }

    /// <summary>Number of elements.</summary>
    public long Length => Shape.Length;

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Rank;

    /// <summary>Whether this tensor owns its memory (false for views).</summary>
    public bool IsOwner => ownsBuffer;

    /// <summary>Whether the tensor was disposed.</summary>
    public bool IsDisposed => disposed || buffer.IsReturned;

    /// <summary>The buffer the tensor lives in.</summary>
    public DeviceBuffer Buffer => buffer;

    /// <summary>An ILGPU view of the elements, for kernel launches.</summary>
    internal ArrayView<float> View
    {
        get
        {
            ThrowIfDisposed();
            return buffer.View<float>(Offset, Length);
        }
    }

    /// <summary>
    /// The elements as a host span. Only on the CPU device, whose buffers live in host memory; callers must
    /// have synchronized the device's stream if kernels may still write the tensor.
    /// </summary>
    public unsafe Span<float> HostSpan
    {
        get
        {
            ThrowIfDisposed();
            if (!Device.IsHostMemory)
            {
                throw new InvalidOperationException($"Tensor {Shape} lives on {Device.Kind}; host spans exist only on the CPU device.");
            }

            return new Span<float>((float*)buffer.HostPointer + Offset, checked((int)Length));
        }
    }

    /// <summary>Allocates an uninitialized tensor on <paramref name="device"/>.</summary>
    public static Tensor Empty(Device device, Shape shape, DType dtype = DType.Float32)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(shape);
        if (dtype != DType.Float32)
        {
            throw new NotSupportedException($"dtype {dtype} is reserved; only Float32 tensors are implemented.");
        }

        var buf = device.Allocator.Rent(shape.Length * dtype.SizeInBytes());
        return new Tensor(device, shape, dtype, buf, 0, ownsBuffer: true);
    }

    /// <summary>Allocates a tensor filled with zeros.</summary>
    public static Tensor Zeros(Device device, Shape shape)
    {
        var t = Empty(device, shape);
        t.Fill(0f);
        return t;
    }

    /// <summary>Allocates a tensor and copies <paramref name="data"/> (row-major) into it.</summary>
    /// <exception cref="ArgumentException">The data length differs from the shape's element count.</exception>
    public static Tensor FromHost(Device device, ReadOnlySpan<float> data, Shape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (data.Length != shape.Length)
        {
            throw new ArgumentException($"data has {data.Length} elements but shape {shape} needs {shape.Length}.", nameof(data));
        }

        var t = Empty(device, shape);
        t.CopyFrom(data);
        return t;
    }

    /// <summary>Copies <paramref name="source"/> into the tensor (blocking).</summary>
    public void CopyFrom(ReadOnlySpan<float> source)
    {
        ThrowIfDisposed();
        if (source.Length != Length)
        {
            throw new ArgumentException($"source has {source.Length} elements but tensor {Shape} has {Length}.", nameof(source));
        }

        if (Device.IsHostMemory)
        {
            Device.Synchronize();
            source.CopyTo(HostSpan);
            return;
        }

        View.CopyFromCPU(Device.Stream, source);
        Device.Stream.Synchronize();
    }

    /// <summary>Copies the tensor into <paramref name="destination"/> (blocking; waits for pending work).</summary>
    public void CopyTo(Span<float> destination)
    {
        ThrowIfDisposed();
        if (destination.Length != Length)
        {
            throw new ArgumentException($"destination has {destination.Length} elements but tensor {Shape} has {Length}.", nameof(destination));
        }

        Device.Synchronize();
        if (Device.IsHostMemory)
        {
            HostSpan.CopyTo(destination);
            return;
        }

        View.CopyToCPU(Device.Stream, destination);
        Device.Stream.Synchronize();
    }

    /// <summary>Copies the tensor into a new array.</summary>
    public float[] ToArray()
    {
        var a = new float[Length];
        CopyTo(a);
        return a;
    }

    /// <summary>Copies another tensor of the same element count into this one (device to device).</summary>
    public void CopyFrom(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        ThrowIfDisposed();
        if (source.Length != Length)
        {
            throw new ArgumentException($"source {source.Shape} has {source.Length} elements but tensor {Shape} has {Length}.", nameof(source));
        }

        if (Device.IsHostMemory && Device.Path == ComputePath.Host)
        {
            source.HostSpan.CopyTo(HostSpan);
            return;
        }

        source.View.CopyTo(Device.Stream, View);
    }

    /// <summary>Sets every element to <paramref name="value"/>.</summary>
    public void Fill(float value)
    {
        ThrowIfDisposed();
        if (Device.IsHostMemory && Device.Path == ComputePath.Host)
        {
            HostSpan.Fill(value);
            return;
        }

        if (value == 0f)
        {
            View.MemSetToZero(Device.Stream);
            return;
        }

        if (Length == 0)
        {
            return;
        }

        // ILGPU.Algorithms' initializer kernel (loaded once per device): the core needs no kernel of the engine's own.
        Device.Kernels.Get<Initializer<float, Stride1D.Dense>>("tensor.fill", static a => a.CreateInitializer<float, Stride1D.Dense>())(Device.Stream, View, value);
    }

    /// <summary>A view with another shape of the same element count, sharing this tensor's memory.</summary>
    /// <exception cref="ArgumentException">The element counts differ.</exception>
    public Tensor Reshape(Shape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ThrowIfDisposed();
        if (shape.Length != Length)
        {
            throw new ArgumentException($"Cannot reshape {Shape} ({Length} elements) to {shape} ({shape.Length} elements).", nameof(shape));
        }

        return new Tensor(Device, shape, DType, buffer, Offset, ownsBuffer: false);
    }

    /// <summary>A view of rows [<paramref name="start"/>, start + <paramref name="count"/>) along the first dimension.</summary>
    public Tensor Slice(int start, int count)
    {
        ThrowIfDisposed();
        if (Rank == 0 || start < 0 || count <= 0 || start + count > Shape[0])
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"Slice [{start}, {start + count}) is outside dimension 0 of {Shape}.");
        }

        var dims = Shape.ToArray();
        dims[0] = count;
        return new Tensor(Device, new Shape(dims), DType, buffer, Offset + (start * Strides[0]), ownsBuffer: false);
    }

    /// <summary>Returns the buffer to the allocator when this tensor owns it.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        if (ownsBuffer)
        {
            buffer.Dispose();
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"Tensor{Shape} {DType} on {Device.Kind}";

    private void ThrowIfDisposed()
    {
        if (IsDisposed)
        {
            throw new ObjectDisposedException(nameof(Tensor), $"Tensor {Shape} was disposed.");
        }
    }
}
