// GEMM op: validation, dispatch table, and the kernel-path launchers (reference and tiled).
using System;
using Engine.Backends.Cpu;
using Engine.Dispatch;
using Engine.Kernels.Gemm;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Ops;

/// <summary>An implementation of GEMM over views (element offsets already applied).</summary>
internal delegate void GemmImpl(Device device, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmParams p);

/// <summary>
/// General matrix multiply <c>C = alpha * op(A) * op(B) + beta * C</c>, with either operand transposed and
/// strided batches. Variants: <c>kernel.reference</c>, <c>kernel.tiled</c> (default on GPUs),
/// <c>host.blocked</c> (default on the CPU device).
/// </summary>
public static class GemmOp
{
    /// <summary>The dispatch table of GEMM implementations.</summary>
    internal static readonly OpRegistry<GemmImpl> Registry = new OpRegistry<GemmImpl>("gemm")
        .Register("kernel.tiled", ComputePath.Kernels, LaunchTiled, "ILGPU kernel: 64x64 shared-memory tiles, 4x4 register blocks per thread", isDefault: true)
        .Register("kernel.reference", ComputePath.Kernels, LaunchReference, "ILGPU kernel: one thread per output, straight K loop")
        .Register("host.blocked", ComputePath.Host, CpuGemm.Run, "managed SIMD, packed panels, all cores; one output row (M = 1) as matrix-vector products without packing");

    /// <summary>
    /// Multiplies tensors: 2-D A and B give a 2-D C; 3-D (batch, rows, cols) A and B give a 3-D C (strided batch).
    /// A is (M, K), or (K, M) when <paramref name="transA"/>; B is (K, N), or (N, K) when <paramref name="transB"/>;
    /// C is (M, N). <paramref name="variant"/> picks an implementation by name; null uses the device default.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes, ranks or devices do not fit; the message names them.</exception>
    public static void Run(Tensor a, Tensor b, Tensor c, bool transA = false, bool transB = false, float alpha = 1f, float beta = 0f, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(c);
        var p = Describe(a.Shape, b.Shape, c.Shape, transA, transB, alpha, beta);
        if (a.Device != b.Device || a.Device != c.Device)
        {
            throw new ArgumentException("a, b and c must live on the same device.", nameof(b));
        }

        Registry.Select(a.Device, variant)(a.Device, a.View, b.View, c.View, p);
    }

    /// <summary>Validates shapes and builds the kernel parameters for dense row-major operands.</summary>
    /// <exception cref="ArgumentException">The shapes do not describe a GEMM.</exception>
    public static GemmParams Describe(Shape a, Shape b, Shape c, bool transA, bool transB, float alpha, float beta)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(c);
        if (a.Rank != b.Rank || a.Rank != c.Rank || a.Rank is not (2 or 3))
        {
            throw new ArgumentException($"gemm: a {a}, b {b} and c {c} must all be 2-D, or all 3-D (batch, rows, cols).", nameof(a));
        }

        int o = a.Rank - 2;
        int batch = o == 1 ? a[0] : 1;
        if (o == 1 && (b[0] != batch || c[0] != batch))
        {
            throw new ArgumentException($"gemm: batch sizes differ: a {a}, b {b}, c {c}.", nameof(b));
        }

        int m = transA ? a[o + 1] : a[o];
        int k = transA ? a[o] : a[o + 1];
        int kb = transB ? b[o + 1] : b[o];
        int n = transB ? b[o] : b[o + 1];
        if (k != kb)
        {
            throw new ArgumentException(
                $"gemm: inner dimensions differ: op(a) is {m}x{k} (a {a}, transA {transA}) but op(b) is {kb}x{n} (b {b}, transB {transB}).", nameof(b));
        }

        if (c[o] != m || c[o + 1] != n)
        {
            throw new ArgumentException($"gemm: c is {c} but op(a) * op(b) is {m}x{n}.", nameof(c));
        }

        return new GemmParams
        {
            M = m, N = n, K = k,
            Lda = a[o + 1], Ldb = b[o + 1], Ldc = n,
            TransA = transA ? 1 : 0, TransB = transB ? 1 : 0,
            Alpha = alpha, Beta = beta,
            StrideA = (long)m * k, StrideB = (long)k * n, StrideC = (long)m * n,
            Batch = batch,
        };
    }

    /// <summary>Launches <see cref="GemmReferenceKernel"/>.</summary>
    internal static void LaunchReference(Device device, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmParams p)
    {
        if (p.M == 0 || p.N == 0)
        {
            return;
        }

        var k = device.Kernels.Get<Action<AcceleratorStream, Index3D, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmParams>>(
            "gemm.reference", acc => acc.LoadAutoGroupedKernel<Index3D, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmParams>(GemmReferenceKernel.Run));
        k(device.Stream, new Index3D(p.N, p.M, p.Batch), a, b, c, p);
    }

    /// <summary>Launches <see cref="GemmTiledKernel"/>.</summary>
    internal static void LaunchTiled(Device device, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmParams p)
    {
        if (p.M == 0 || p.N == 0)
        {
            return;
        }

        var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmParams>>(
            "gemm.tiled", acc => acc.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmParams>(GemmTiledKernel.Run));
        const int T = GemmTiledKernel.Tile;
        var grid = new Index3D((p.N + T - 1) / T, (p.M + T - 1) / T, p.Batch);
        var group = new Index3D(GemmTiledKernel.GroupSize, GemmTiledKernel.GroupSize, 1);
        k(device.Stream, new KernelConfig(grid, group), a, b, c, p);
    }
}
