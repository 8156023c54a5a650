// Host SGEMM entry points for the CPU device and for other host ops: validation, batching, micro-kernel choice.
using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Engine.Kernels.Gemm;
using ILGPU;

namespace Engine.Backends.Cpu;

/// <summary>The SIMD width of the host GEMM micro-kernel.</summary>
internal enum GemmKernel
{
    /// <summary>The widest kernel the hardware accelerates (<see cref="CpuGemm.BestKernel"/>).</summary>
    Auto = 0,

    /// <summary>6 x 8 tiles of 128-bit vectors (SSE / Arm64 AdvSimd).</summary>
    Vector128 = 128,

    /// <summary>6 x 16 tiles of 256-bit vectors (AVX2 + FMA).</summary>
    Vector256 = 256,

    /// <summary>12 x 32 tiles of 512-bit vectors (AVX-512F).</summary>
    Vector512 = 512,
}

/// <summary>
/// BLIS/GotoBLAS-style SGEMM in managed SIMD over host memory: packed, cache-blocked panels of A and B, a
/// register-blocked FMA micro-kernel picked at run time (<see cref="BestKernel"/>), all cores through
/// <see cref="HostParallel"/>. Warm calls allocate nothing (packing buffers are rented once and reused).
/// </summary>
internal static class CpuGemm
{
    /// <summary>The kernel <see cref="GemmKernel.Auto"/> resolves to on this machine.</summary>
    public static GemmKernel BestKernel { get; } =
        Avx512F.IsSupported && Vector512.IsHardwareAccelerated ? GemmKernel.Vector512
        : Fma.IsSupported && Avx2.IsSupported && Vector256.IsHardwareAccelerated ? GemmKernel.Vector256
        : GemmKernel.Vector128;

    /// <summary>
    /// Whether <paramref name="kernel"/> runs on SIMD hardware here. Every kernel runs everywhere (wider vectors
    /// fall back to software), so tests can check each one; only accelerated ones are fast.
    /// </summary>
    public static bool IsHardwareAccelerated(GemmKernel kernel) => kernel switch
    {
        GemmKernel.Auto => true,
        GemmKernel.Vector128 => Vector128.IsHardwareAccelerated,
        GemmKernel.Vector256 => Vector256.IsHardwareAccelerated && Fma.IsSupported,
        GemmKernel.Vector512 => Vector512.IsHardwareAccelerated && Avx512F.IsSupported,
        _ => false,
    };

    /// <summary>The register tile (MR x NR) and cache blocks (MC, KC, NC) of <paramref name="kernel"/>.</summary>
    public static (int MR, int NR, int MC, int KC, int NC) Blocking(GemmKernel kernel) => Resolve(kernel) switch
    {
        GemmKernel.Vector512 => (MicroKernel512.MR, MicroKernel512.NR, MicroKernel512.MC, MicroKernel512.KC, MicroKernel512.NC),
        GemmKernel.Vector256 => (MicroKernel256.MR, MicroKernel256.NR, MicroKernel256.MC, MicroKernel256.KC, MicroKernel256.NC),
        _ => (MicroKernel128.MR, MicroKernel128.NR, MicroKernel128.MC, MicroKernel128.KC, MicroKernel128.NC),
    };

    /// <summary>The <c>host.blocked</c> GEMM implementation: waits for the device, then runs on its host memory.</summary>
    public static void Run(Device device, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmParams p)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (p.M == 0 || p.N == 0)
        {
            return;
        }

        device.Synchronize();
        Compute(HostViews.ReadOnly(a), HostViews.ReadOnly(b), HostViews.Span(c), p);
    }

    /// <summary>One GEMM on spans with the strides and flags of <paramref name="p"/> (its batch fields are ignored).</summary>
    /// <exception cref="ArgumentException">A span is too short or a parameter is out of range.</exception>
    public static void Single(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, GemmParams p)
    {
        p.Batch = 1;
        Compute(a, b, c, p);
    }

    /// <summary>
    /// <c>C[i] = alpha * op(A[i]) * op(B[i]) + beta * C[i]</c> for every matrix i of the strided batch described
    /// by <paramref name="p"/>, on host spans, for host ops that call it directly (no device involved). Beta 0
    /// overwrites C without reading it (NaNs there do not propagate).
    /// </summary>
    /// <param name="a">A, row-major with pitch Lda: M x K, or K x M when TransA.</param>
    /// <param name="b">B, row-major with pitch Ldb: K x N, or N x K when TransB.</param>
    /// <param name="c">C, row-major M x N with pitch Ldc; must not overlap A or B.</param>
    /// <param name="p">Sizes, pitches, flags, scales and batch strides.</param>
    /// <param name="kernel">Micro-kernel width; <see cref="GemmKernel.Auto"/> picks <see cref="BestKernel"/>.</param>
    /// <exception cref="ArgumentException">A span is too short or a parameter is out of range; the message names it.</exception>
    public static unsafe void Compute(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, in GemmParams p, GemmKernel kernel = GemmKernel.Auto)
    {
        Validate(p, a.Length, b.Length, c.Length);
        if (p.M == 0 || p.N == 0)
        {
            return;
        }

        fixed (float* pa = a, pb = b, pc = c)
        {
            Compute(pa, pb, pc, p, kernel);
        }
    }

    /// <summary>
    /// The pointer form of <see cref="Compute(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, in GemmParams, GemmKernel)"/>:
    /// no bounds checks; the caller guarantees that every element the parameters address is valid.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Compute(float* a, float* b, float* c, in GemmParams p, GemmKernel kernel = GemmKernel.Auto)
    {
        if (p.M <= 0 || p.N <= 0 || p.Batch <= 0)
        {
            return;
        }

        // One output row: matrix-vector products, no packing (a forced kernel width keeps the micro-kernels, for tests).
        if (kernel == GemmKernel.Auto && CpuMatVec.Applies(p))
        {
            CpuMatVec.Run(a, b, c, p);
            return;
        }

        var job = new GemmJob
        {
            A = a, B = b, C = c,
            Lda = p.Lda, Ldb = p.Ldb, Ldc = p.Ldc,
            TransA = p.TransA != 0, TransB = p.TransB != 0,
            M = p.M, N = p.N, K = p.K,
            Alpha = p.Alpha, Beta = p.Beta,
        };
        switch (Resolve(kernel))
        {
            case GemmKernel.Vector512:
                Batched<MicroKernel512>(&job, p);
                break;
            case GemmKernel.Vector256:
                Batched<MicroKernel256>(&job, p);
                break;
            default:
                Batched<MicroKernel128>(&job, p);
                break;
        }
    }

    private static GemmKernel Resolve(GemmKernel kernel) => kernel switch
    {
        GemmKernel.Auto => BestKernel,
        GemmKernel.Vector128 or GemmKernel.Vector256 or GemmKernel.Vector512 => kernel,
        _ => throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "gemm: unknown micro-kernel width."),
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Batched<TK>(GemmJob* template, in GemmParams p)
        where TK : struct, IGemmMicroKernel
    {
        long flops = 2L * p.M * p.N * p.K;
        if (p.Batch > 1 && flops < GemmDriver.ParallelMinFlops && HostParallel.Degree > 1)
        {
            // Many small matrices: one per task, each on a single thread.
            var body = new BatchBody<TK> { Template = template, StrideA = p.StrideA, StrideB = p.StrideB, StrideC = p.StrideC };
            HostParallel.For(p.Batch, ref body);
            return;
        }

        for (int i = 0; i < p.Batch; i++)
        {
            var job = *template;
            job.A += i * p.StrideA;
            job.B += i * p.StrideB;
            job.C += i * p.StrideC;
            GemmDriver.Run<TK>(&job, parallel: true);
        }
    }

    private static void Validate(in GemmParams p, long aLength, long bLength, long cLength)
    {
        if (p.M < 0 || p.N < 0 || p.K < 0)
        {
            throw new ArgumentException($"gemm: sizes must not be negative, got M={p.M}, N={p.N}, K={p.K}.", nameof(p));
        }

        if (p.Batch < 1)
        {
            throw new ArgumentException($"gemm: batch must be at least 1, got {p.Batch}.", nameof(p));
        }

        if (p.StrideA < 0 || p.StrideB < 0 || p.StrideC < 0)
        {
            throw new ArgumentException($"gemm: batch strides must not be negative, got {p.StrideA}, {p.StrideB}, {p.StrideC}.", nameof(p));
        }

        bool ta = p.TransA != 0, tb = p.TransB != 0;
        CheckPitch("Lda", p.Lda, ta ? p.M : p.K);
        CheckPitch("Ldb", p.Ldb, tb ? p.K : p.N);
        CheckPitch("Ldc", p.Ldc, p.N);
        if (p.M == 0 || p.N == 0)
        {
            return;
        }

        if (p.K > 0)
        {
            CheckSpan("a", aLength, ta ? p.K : p.M, p.Lda, ta ? p.M : p.K, p.StrideA, p.Batch);
            CheckSpan("b", bLength, tb ? p.N : p.K, p.Ldb, tb ? p.K : p.N, p.StrideB, p.Batch);
        }

        CheckSpan("c", cLength, p.M, p.Ldc, p.N, p.StrideC, p.Batch);
    }

    private static void CheckPitch(string name, int ld, int width)
    {
        if (ld < width)
        {
            throw new ArgumentException($"gemm: {name} is {ld} but rows hold {width} elements.", "p");
        }
    }

    private static void CheckSpan(string name, long length, int rows, int ld, int cols, long stride, int batch)
    {
        long needed = ((long)(batch - 1) * stride) + ((long)(rows - 1) * ld) + cols;
        if (length < needed)
        {
            throw new ArgumentException(
                $"gemm: {name} has {length} elements but {batch} matrices of {rows}x{cols} (pitch {ld}, batch stride {stride}) need {needed}.", name);
        }
    }

    /// <summary>Runs matrices [start, end) of a batch, each on the calling thread.</summary>
    private unsafe struct BatchBody<TK> : IRangeBody
        where TK : struct, IGemmMicroKernel
    {
        public GemmJob* Template;
        public long StrideA;
        public long StrideB;
        public long StrideC;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int start, int end)
        {
            for (int i = start; i < end; i++)
            {
                var job = *Template;
                job.A += i * StrideA;
                job.B += i * StrideB;
                job.C += i * StrideC;
                GemmDriver.Run<TK>(&job, parallel: false);
            }
        }
    }
}
