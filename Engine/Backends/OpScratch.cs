// Per-device scratch memory for ops that need temporaries (reduction partials, per-class sums): rented once, grown
// on demand and then reused, so that a warmed-up forward or backward allocates nothing.
using System;
using System.Runtime.CompilerServices;
using System.Threading;
using ILGPU;

namespace Engine.Backends;

/// <summary>
/// Scratch space cached per <see cref="Device"/>: one device buffer (rented from the device's allocator, kept until
/// the device is disposed) and one host array of doubles (for host-path accumulators). Each grows to the largest
/// size asked for and is reused by every later call. Ops use it within one call; work queued on the device's
/// stream sees it in order, so consecutive ops may share it. Not for concurrent use from several threads.
/// </summary>
internal sealed class OpScratch
{
    private static readonly ConditionalWeakTable<Device, OpScratch> Table = new();
    private readonly Device device;
    private readonly Lock gate = new();
    private Tensor? buffer;
    private double[] host = [];

    private OpScratch(Device device) => this.device = device;

    /// <summary>Number of times either buffer had to grow (a warm call adds none).</summary>
    public int Grows { get; private set; }

    /// <summary>Elements of the device buffer.</summary>
    public long DeviceCapacity => buffer?.Length ?? 0;

    /// <summary>The scratch of <paramref name="device"/>, created on first use.</summary>
    public static OpScratch For(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return Table.GetValue(device, static d => new OpScratch(d));
    }

    /// <summary>A device view of at least <paramref name="count"/> floats (contents undefined).</summary>
    public ArrayView<float> DeviceFloats(long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        lock (gate)
        {
            if (buffer is null || buffer.Length < count || buffer.IsDisposed)
            {
                // Work already queued may still read the old buffer; returning it to the allocator is safe because
                // any later rent of it is used in stream order.
                long size = Math.Max(count, Math.Max(1024, (buffer?.Length ?? 0) * 2));
                buffer?.Dispose();
                buffer = Tensor.Empty(device, new Shape(checked((int)size)));
                Grows++;
            }

            return buffer.View.SubView(0, count);
        }
    }

    /// <summary>A host array of at least <paramref name="count"/> doubles (contents undefined).</summary>
    public double[] HostDoubles(int count)
    {
        lock (gate)
        {
            if (host.Length < count)
            {
                host = new double[Math.Max(count, Math.Max(256, host.Length * 2))];
                Grows++;
            }

            return host;
        }
    }
}
