// Device reductions (norms, non-finite counts) over chunk tables or whole buffers, with cached per-device scratch.
using System;
using System.Runtime.CompilerServices;
using Engine.Backends.Cpu;
using Engine.Dispatch;
using Engine.Kernels.Optim;
using Engine.Memory;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Ops;

/// <summary>A reduction over the elements of a chunk table (or a whole buffer when <paramref name="chunks"/> is null).</summary>
/// <returns>The finished value (norm or count); on the kernel path it also stays in device memory for follow-up kernels.</returns>
internal delegate double ReduceImpl(Device device, ArrayView<float> x, int[]? chunks, ArrayView<int> deviceChunks, int mode, double p);

/// <summary>
/// Reductions for clipping and non-finite checks. <c>kernel.twopass</c>: per-chunk partials, then one group reduces
/// them (fixed order, any length); <c>host.simd</c>: per-chunk double sums in parallel, combined in order.
/// </summary>
internal static class Reductions
{
    /// <summary>Implementations: <c>kernel.twopass</c>, <c>host.simd</c>.</summary>
    internal static readonly OpRegistry<ReduceImpl> Registry = new OpRegistry<ReduceImpl>("reduce.norm")
        .Register("kernel.twopass", ComputePath.Kernels, ReduceKernel, "two ILGPU passes: per-chunk shared-memory trees, then one group over the partials")
        .Register("host.simd", ComputePath.Host, ReduceHost, "per-chunk double accumulation in parallel, combined in chunk order");

    private static readonly ConditionalWeakTable<Device, Scratch> Scratches = new();

    /// <summary>Scratch buffers of a device: partials, the result (finished, raw) and a dummy chunk table.</summary>
    internal sealed class Scratch
    {
        private DeviceBuffer? partials;
        private int capacity;

        public Scratch(Device device)
        {
            Result = device.Allocator.Rent(2 * sizeof(float));
            Dummy = device.Allocator.Rent(2 * sizeof(int));
        }

        public DeviceBuffer Result { get; }

        public DeviceBuffer Dummy { get; }

        private double[] hostPartials = new double[64];

        public double[] HostPartials(int count)
        {
            if (hostPartials.Length < count)
            {
                hostPartials = new double[count];
            }

            return hostPartials;
        }

        public ArrayView<float> Partials(Device device, int count)
        {
            if (count > capacity)
            {
                device.Synchronize();
                partials?.Dispose();
                capacity = Math.Max(count, 64);
                partials = device.Allocator.Rent(capacity * sizeof(float));
            }

            return partials!.View<float>(0, count);
        }
    }

    internal static Scratch For(Device device) => Scratches.GetValue(device, d => new Scratch(d));

    /// <summary>The device scalar holding the last kernel-path reduction's finished value (element 0) and raw value (element 1).</summary>
    internal static ArrayView<float> ResultView(Device device) => For(device).Result.View<float>(0, 2);

    /// <summary>Kernel path: partials then final; leaves the result in <see cref="ResultView"/> and returns it.</summary>
    internal static double ReduceKernel(Device device, ArrayView<float> x, int[]? chunks, ArrayView<int> deviceChunks, int mode, double p)
    {
        ArgumentNullException.ThrowIfNull(device);
        var result = LaunchReduce(device, x, chunks, deviceChunks, mode, p);
        Span<float> host = stackalloc float[2];
        result.CopyToCPU(device.Stream, host);
        device.Stream.Synchronize();
        return host[0];
    }

    /// <summary>Queues the two passes; the result (finished, raw) lands in the returned device view.</summary>
    internal static ArrayView<float> LaunchReduce(Device device, ArrayView<float> x, int[]? chunks, ArrayView<int> deviceChunks, int mode, double p)
    {
        var s = For(device);
        int length = (int)x.Length;
        int count = chunks is null ? (length + OptimLayout.ChunkElements - 1) / OptimLayout.ChunkElements : chunks.Length / 2;
        var result = s.Result.View<float>(0, 2);
        var rp = new ReduceParams { Mode = mode, P = (float)p, Contiguous = chunks is null ? 1 : 0, Length = length, Partials = count };
        if (count == 0)
        {
            result.MemSetToZero(device.Stream);
        }
        else
        {
            var partials = s.Partials(device, count);
            var dc = chunks is null ? s.Dummy.View<int>(0, 2) : deviceChunks;
            var k1 = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ReduceParams>>(
                "reduce.partial", acc => acc.LoadKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ReduceParams>(ReduceKernels.Partial));
            var k2 = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ReduceParams>>(
                "reduce.final", acc => acc.LoadKernel<ArrayView<float>, ArrayView<float>, ReduceParams>(ReduceKernels.Final));
            int group = GroupSize(device);
            k1(device.Stream, new KernelConfig(count, group), x, dc, partials, rp);
            k2(device.Stream, new KernelConfig(1, group), partials, result, rp);
        }

        return result;
    }

    /// <summary>
    /// Threads per reduction group: <see cref="OptimLayout.GroupSize"/> on GPUs; one warp on the CPU accelerator,
    /// whose simulated group barriers cost about a millisecond per thread (the kernels work with any power of two).
    /// </summary>
    internal static int GroupSize(Device device) =>
        device.Accelerator.AcceleratorType == AcceleratorType.CPU ? device.Accelerator.WarpSize : OptimLayout.GroupSize;

    /// <summary>Host path (CPU device): double accumulation per chunk, in parallel, combined in chunk order.</summary>
    internal static unsafe double ReduceHost(Device device, ArrayView<float> x, int[]? chunks, ArrayView<int> deviceChunks, int mode, double p)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
        int length = (int)x.Length;
        int count = chunks is null ? (length + OptimLayout.ChunkElements - 1) / OptimLayout.ChunkElements : chunks.Length / 2;
        if (count == 0)
        {
            return 0;
        }

        var partials = For(device).HostPartials(count);
        fixed (float* px = Backends.HostViews.Span(x))
        fixed (int* pc = chunks)
        fixed (double* pp = partials)
        {
            var body = new HostBody { X = px, Chunks = pc, Length = length, Out = pp, Mode = mode, P = p };
            HostParallel.For(count, ref body);
        }

        double acc = 0;
        for (int c = 0; c < count; c++)
        {
            double v = partials[c];
            if (mode != ReduceMode.MaxAbs)
            {
                acc += v;
            }
            else if (!double.IsNaN(acc) && (v > acc || double.IsNaN(v)))
            {
                acc = v;
            }
        }

        return mode switch
        {
            ReduceMode.SumSquares => Math.Sqrt(acc),
            ReduceMode.SumPow => Math.Pow(acc, 1 / p),
            _ => acc,
        };
    }

    private unsafe struct HostBody : IRangeBody
    {
        public float* X;
        public int* Chunks;
        public int Length;
        public double* Out;
        public int Mode;
        public double P;

        public void Run(int start, int end)
        {
            for (int c = start; c < end; c++)
            {
                int s, n;
                if (Chunks == null)
                {
                    s = c * OptimLayout.ChunkElements;
                    n = Math.Min(OptimLayout.ChunkElements, Length - s);
                }
                else
                {
                    s = Chunks[2 * c];
                    n = Chunks[(2 * c) + 1];
                }

                double acc = 0;
                var span = new ReadOnlySpan<float>(X + s, n);
                switch (Mode)
                {
                    case ReduceMode.SumSquares:
                        foreach (float v in span)
                        {
                            acc += (double)v * v;
                        }

                        break;
                    case ReduceMode.SumAbs:
                        foreach (float v in span)
                        {
                            acc += Math.Abs((double)v);
                        }

                        break;
                    case ReduceMode.MaxAbs:
                        foreach (float v in span)
                        {
                            double a = Math.Abs((double)v);
                            if (a > acc || double.IsNaN(a))
                            {
                                acc = a;
                                if (double.IsNaN(a))
                                {
                                    break;
                                }
                            }
                        }

                        break;
                    case ReduceMode.SumPow:
                        foreach (float v in span)
                        {
                            acc += Math.Pow(Math.Abs((double)v), P);
                        }

                        break;
                    default:
                        foreach (float v in span)
                        {
                            if (!float.IsFinite(v))
                            {
                                acc += 1;
                            }
                        }

                        break;
                }

                Out[c] = acc;
            }
        }
    }
}
