// Gradient clipping over a ParameterSet's trainable gradients: by global norm (clip_grad_norm_) and by value.
using System;
using System.Numerics.Tensors;
using Engine.Dispatch;
using Engine.Kernels.Optim;
using Engine.Nn;
using Engine.Ops;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Optim;

/// <summary>Clips the gradients of a chunk table to a global norm and returns the norm before clipping.</summary>
internal delegate double ClipNormImpl(Device device, ArrayView<float> grads, int[] chunks, ArrayView<int> deviceChunks, double maxNorm, double normType);

/// <summary>Clamps the gradients of a chunk table into [-limit, limit].</summary>
internal delegate void ClipValueImpl(Device device, ArrayView<float> grads, int[] chunks, ArrayView<int> deviceChunks, double limit);

/// <summary>
/// Gradient clipping with PyTorch semantics over the gradients of every trainable parameter of a set (frozen ones
/// are skipped, as they have no gradient in PyTorch). <see cref="ClipByNorm"/> is
/// <c>torch.nn.utils.clip_grad_norm_</c>: total = the norm of all gradients taken together; each gradient is multiplied
/// by max_norm / (total + 1e-6) when that is below 1; the total is returned. <see cref="ClipByValue"/> is
/// <c>clip_grad_value_</c>. Reductions run on the device and are correct for any size.
/// </summary>
public sealed class GradientClipper : IDisposable
{
    /// <summary>Norm clipping implementations: <c>kernel.twopass</c>, <c>host.simd</c>.</summary>
    internal static readonly OpRegistry<ClipNormImpl> NormRegistry = new OpRegistry<ClipNormImpl>("clip.norm")
        .Register("kernel.twopass", ComputePath.Kernels, ClipNormKernel, "two-pass device reduction, then a scaling kernel that reads the norm on the device")
        .Register("host.simd", ComputePath.Host, ClipNormHost, "double-precision reduction, then TensorPrimitives.Multiply");

    /// <summary>Value clipping implementations: <c>kernel.clamp</c>, <c>host.simd</c>.</summary>
    internal static readonly OpRegistry<ClipValueImpl> ValueRegistry = new OpRegistry<ClipValueImpl>("clip.value")
        .Register("kernel.clamp", ComputePath.Kernels, ClipValueKernel, "ILGPU clamp over the chunk table")
        .Register("host.simd", ComputePath.Host, ClipValueHost, "TensorPrimitives.Clamp");

    private readonly bool[] mask;
    private ChunkTable? table;

    /// <summary>Creates a clipper for <paramref name="parameters"/>.</summary>
    public GradientClipper(ParameterSet parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters;
        mask = new bool[parameters.Count];
    }

    /// <summary>The parameters whose gradients are clipped.</summary>
    public ParameterSet Parameters { get; }

    /// <summary>Implementation variant override (null: the device default).</summary>
    public string? Variant { get; set; }

    /// <summary>
    /// Scales the gradients so that their global <paramref name="normType"/>-norm is at most <paramref name="maxNorm"/>
    /// and returns the norm before clipping (NaN or infinity when a gradient is; then, as in PyTorch, the gradients
    /// become NaN). <paramref name="normType"/> is any p &gt; 0 or <see cref="double.PositiveInfinity"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">max_norm is negative or NaN, or norm_type is not positive.</exception>
    public double ClipByNorm(double maxNorm, double normType = 2.0)
    {
        if (!(maxNorm >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "max_norm must be >= 0.");
        }

        CheckNormType(normType);
        var t = Table();
        return NormRegistry.Select(Parameters.Device, Variant)(Parameters.Device, Parameters.Grads.View, t.Host, t.View, maxNorm, normType);
    }

    /// <summary>The global norm of the trainable gradients, without clipping.</summary>
    public double TotalNorm(double normType = 2.0)
    {
        CheckNormType(normType);
        var t = Table();
        return Reductions.Registry.Select(Parameters.Device, Variant is null ? null : Variant.StartsWith("host", StringComparison.Ordinal) ? "host.simd" : "kernel.twopass")(
            Parameters.Device, Parameters.Grads.View, t.Host, t.View, ModeOf(normType), normType);
    }

    /// <summary>Clamps every trainable gradient into [-<paramref name="clipValue"/>, <paramref name="clipValue"/>].</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or NaN.</exception>
    public void ClipByValue(double clipValue)
    {
        if (!(clipValue >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(clipValue), clipValue, "clip_value must be >= 0.");
        }

        var t = Table();
        ValueRegistry.Select(Parameters.Device, Variant is null ? null : Variant.StartsWith("host", StringComparison.Ordinal) ? "host.simd" : "kernel.clamp")(
            Parameters.Device, Parameters.Grads.View, t.Host, t.View, clipValue);
    }

    /// <summary>Frees the chunk table.</summary>
    public void Dispose()
    {
        table?.Dispose();
        table = null;
    }

    /// <summary>Kernel path of <see cref="ClipByNorm"/>.</summary>
    internal static double ClipNormKernel(Device device, ArrayView<float> grads, int[] chunks, ArrayView<int> deviceChunks, double maxNorm, double normType)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(chunks);
        var result = Reductions.LaunchReduce(device, grads, chunks, deviceChunks, ModeOf(normType), normType);
        if (chunks.Length > 0)
        {
            var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ClipParams>>(
                "clip.norm", acc => acc.LoadKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ClipParams>(ReduceKernels.ScaleByNorm));
            k(device.Stream, new KernelConfig(chunks.Length / 2, OptimLayout.GroupSize), grads, deviceChunks, result, new ClipParams { Limit = (float)maxNorm });
        }

        Span<float> host = stackalloc float[2];
        result.CopyToCPU(device.Stream, host);
        device.Stream.Synchronize();
        return host[0];
    }

    /// <summary>Host path of <see cref="ClipByNorm"/>.</summary>
    internal static double ClipNormHost(Device device, ArrayView<float> grads, int[] chunks, ArrayView<int> deviceChunks, double maxNorm, double normType)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        double norm = Reductions.ReduceHost(device, grads, chunks, deviceChunks, ModeOf(normType), normType);
        float coef = (float)maxNorm / ((float)norm + 1e-6f);
        if (!(coef >= 1f))
        {
            var all = Backends.HostViews.Span(grads);
            for (int c = 0; c < chunks.Length; c += 2)
            {
                var s = all.Slice(chunks[c], chunks[c + 1]);
                TensorPrimitives.Multiply(s, coef, s);
            }
        }

        return (float)norm;
    }

    /// <summary>Kernel path of <see cref="ClipByValue"/>.</summary>
    internal static void ClipValueKernel(Device device, ArrayView<float> grads, int[] chunks, ArrayView<int> deviceChunks, double limit)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(chunks);
        if (chunks.Length == 0)
        {
            return;
        }

        var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ClipParams>>(
            "clip.value", acc => acc.LoadKernel<ArrayView<float>, ArrayView<int>, ClipParams>(ReduceKernels.ClampByValue));
        k(device.Stream, new KernelConfig(chunks.Length / 2, OptimLayout.GroupSize), grads, deviceChunks, new ClipParams { Limit = (float)limit });
    }

    /// <summary>Host path of <see cref="ClipByValue"/>.</summary>
    internal static void ClipValueHost(Device device, ArrayView<float> grads, int[] chunks, ArrayView<int> deviceChunks, double limit)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(chunks);
        device.Synchronize();
        var all = Backends.HostViews.Span(grads);
        float hi = (float)limit;
        for (int c = 0; c < chunks.Length; c += 2)
        {
            var s = all.Slice(chunks[c], chunks[c + 1]);
            for (int i = 0; i < s.Length; i++)
            {
                float x = s[i];
                s[i] = x > hi ? hi : (x < -hi ? -hi : x);
            }
        }
    }

    private static int ModeOf(double normType) => double.IsPositiveInfinity(normType) ? ReduceMode.MaxAbs
        : normType == 2 ? ReduceMode.SumSquares
        : normType == 1 ? ReduceMode.SumAbs
        : ReduceMode.SumPow;

    private static void CheckNormType(double normType)
    {
        if (!(normType > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(normType), normType, "norm_type must be > 0 or +infinity.");
        }
    }

    private ChunkTable Table()
    {
        bool same = table is not null;
        for (int i = 0; i < mask.Length; i++)
        {
            bool t = Parameters[i].RequiresGrad;
            same &= t == mask[i];
            mask[i] = t;
        }

        if (!same)
        {
            Parameters.Device.Synchronize();
            table?.Dispose();
            var ranges = new System.Collections.Generic.List<(long, long)>();
            foreach (var p in Parameters)
            {
                if (p.RequiresGrad)
                {
                    ranges.Add((p.Offset, p.Length));
                }
            }

            table = ChunkTable.Build(Parameters.Device, ranges);
        }

        return table!;
    }
}
