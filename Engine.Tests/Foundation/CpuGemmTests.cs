// The host SGEMM (every micro-kernel width, transpose, pitch, batch and alpha/beta) against a double reference.
using System;
using System.Collections.Generic;
using Engine.Backends.Cpu;
using Engine.Kernels.Gemm;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Foundation;

public sealed class CpuGemmTests
{
    private static readonly GemmKernel[] Kernels = [GemmKernel.Vector128, GemmKernel.Vector256, GemmKernel.Vector512];

    public static IEnumerable<TestCaseData> Shapes()
    {
        // (M, N, K): tiny, GEMV-like, odd, more than one MC block and KC slice, wider than NC, MLP and im2col-like,
        // three KC slices of a depth that is not a multiple of 8 (the 8-step packing tail),
        // and shapes that split over threads by column chunks (M within one MC block) or by row blocks (narrow N).
        int[][] mnk =
        [
            [1, 1, 1], [1, 1, 300], [300, 1, 1], [1, 300, 1], [17, 33, 9], [17, 9, 33], [6, 16, 256], [7, 17, 257],
            [257, 129, 513], [257, 513, 129], [64, 10, 128], [32, 4100, 9], [2, 4100, 3], [200, 40, 3], [100, 700, 50],
            [600, 5, 400], [130, 12, 1000], [150, 40, 1030],
        ];
        foreach (var kernel in Kernels)
        {
            foreach (var s in mnk)
            {
                for (int t = 0; t < 4; t++)
                {
                    bool ta = (t & 1) != 0, tb = (t & 2) != 0;
                    yield return new TestCaseData((int)kernel, s[0], s[1], s[2], ta, tb)
                        .SetArgDisplayNames(kernel.ToString(), $"{s[0]}x{s[1]}x{s[2]}", ta ? "At" : "A", tb ? "Bt" : "B");
                }
            }
        }
    }

    [TestCaseSource(nameof(Shapes))]
    public void Matches_double_reference(int kernel, int m, int n, int k, bool transA, bool transB)
    {
        // The kernel as its number: GemmKernel is internal (Engine.Backends), and a test method is public.
        var g = new Problem(m, n, k, transA, transB, batch: 1, pad: 0, seed: m + (3 * n) + (7 * k));
        g.Check((GemmKernel)kernel, 0.75f, -0.5f);
    }

    [TestCase(1f, 0f)]
    [TestCase(1f, 1f)]
    [TestCase(-2f, 0.25f)]
    [TestCase(0f, 3f)]
    public void Alpha_and_beta_scale_product_and_c(float alpha, float beta)
    {
        foreach (var kernel in Kernels)
        {
            new Problem(37, 45, 300, false, true, batch: 1, pad: 0, seed: 5).Check(kernel, alpha, beta);
            new Problem(150, 70, 20, true, false, batch: 1, pad: 0, seed: 6).Check(kernel, alpha, beta);
        }
    }

    [TestCase(3, 9, 13, 11)]
    [TestCase(4, 2, 67, 5)]
    [TestCase(2, 100, 90, 80)]
    [TestCase(5, 1, 1, 1)]
    public void Strided_batches_with_padded_pitches(int batch, int m, int n, int k)
    {
        foreach (var kernel in Kernels)
        {
            for (int t = 0; t < 4; t++)
            {
                new Problem(m, n, k, (t & 1) != 0, (t & 2) != 0, batch, pad: 3, seed: batch + t).Check(kernel, 1.25f, 0.5f);
            }
        }
    }

    [Test]
    public void Beta_zero_overwrites_nan_on_full_and_edge_tiles()
    {
        foreach (var kernel in Kernels)
        {
            foreach (var (m, n, k) in new[] { (13, 37, 20), (48, 64, 300), (5, 3, 0) })
            {
                var g = new Problem(m, n, k, false, false, batch: 1, pad: 0, seed: 9);
                Array.Fill(g.C, float.NaN);
                g.Check(kernel, 1f, 0f);
            }
        }
    }

    [Test]
    public void Zero_depth_scales_c_by_beta()
    {
        var c = new float[] { 1f, 2f, 3f, 4f, 5f, 6f };
        var p = new GemmParams { M = 2, N = 3, K = 0, Lda = 1, Ldb = 3, Ldc = 3, Alpha = 1f, Beta = -2f, Batch = 1 };
        CpuGemm.Compute([], [], c, p);
        Assert.That(c, Is.EqualTo(new[] { -2f, -4f, -6f, -8f, -10f, -12f }));
    }

    [Test]
    public void Auto_picks_an_accelerated_kernel()
    {
        Assert.That(CpuGemm.IsHardwareAccelerated(CpuGemm.BestKernel), Is.True, CpuGemm.BestKernel.ToString());
        var (mr, nr, mc, kc, nc) = CpuGemm.Blocking(GemmKernel.Auto);
        Assert.That(mc % mr, Is.Zero);
        Assert.That(nc % nr, Is.Zero);
        Assert.That(kc, Is.Positive);
        TestContext.Out.WriteLine($"best kernel {CpuGemm.BestKernel}: {mr}x{nr} tiles, MC {mc}, KC {kc}, NC {nc}");
    }

    [Test]
    public void Short_spans_and_bad_parameters_are_rejected_with_names()
    {
        var p = new GemmParams { M = 4, N = 5, K = 6, Lda = 6, Ldb = 5, Ldc = 5, Alpha = 1f, Batch = 2, StrideA = 24, StrideB = 30, StrideC = 20 };
        var a = new float[48];
        var b = new float[60];
        var c = new float[40];
        Assert.That(() => CpuGemm.Compute(a.AsSpan(0, 47), b, c, p), Throws.ArgumentException
            .With.Property("ParamName").EqualTo("a").And.Message.Contain("47 elements").And.Message.Contain("4x6").And.Message.Contain("need 48"));
        Assert.That(() => CpuGemm.Compute(a, b.AsSpan(1), c, p), Throws.ArgumentException.With.Property("ParamName").EqualTo("b"));
        Assert.That(() => CpuGemm.Compute(a, b, c.AsSpan(1), p), Throws.ArgumentException.With.Property("ParamName").EqualTo("c"));
        Assert.That(() => CpuGemm.Compute(a, b, c, p with { Lda = 5 }), Throws.ArgumentException
            .With.Property("ParamName").EqualTo("p").And.Message.Contain("Lda is 5 but rows hold 6"));
        Assert.That(() => CpuGemm.Compute(a, b, c, p with { M = -1 }), Throws.ArgumentException.With.Message.Contain("M=-1"));
        Assert.That(() => CpuGemm.Compute(a, b, c, p with { Batch = 0 }), Throws.ArgumentException.With.Message.Contain("batch must be at least 1"));
        Assert.That(() => CpuGemm.Compute(a, b, c, p with { StrideB = -1 }), Throws.ArgumentException.With.Message.Contain("strides must not be negative"));
        Assert.That(() => CpuGemm.Compute(a, b, c, p, (GemmKernel)7), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Concurrent_callers_get_correct_results()
    {
        // Only one caller at a time gets the worker pool; the others run inline with their own packing buffers.
        var problems = new Problem[6];
        for (int i = 0; i < problems.Length; i++)
        {
            problems[i] = new Problem(150 + i, 90 + (7 * i), 260, i % 2 == 1, i % 3 == 1, batch: 1 + (i % 2), pad: i % 2, seed: 40 + i);
        }

        System.Threading.Tasks.Parallel.For(0, problems.Length * 2, new System.Threading.Tasks.ParallelOptions { MaxDegreeOfParallelism = 6 },
            i => problems[i % problems.Length].Check(GemmKernel.Auto, 0.5f, 2f));
    }

    [TestCase(128, 128, 128, 1)]
    [TestCase(64, 3000, 288, 1)]
    [TestCase(300, 200, 300, 1)]
    [TestCase(20, 300, 50, 1)]
    [TestCase(9, 13, 11, 6)]
    [TestCase(100, 90, 80, 3)]
    public void Warm_calls_allocate_nothing(int m, int n, int k, int batch)
    {
        var g = new Problem(m, n, k, false, true, batch, pad: 0, seed: 1);
        var p = g.Params(1f, 0f);
        using var dev = Device.Create(DeviceKind.Cpu, new DeviceOptions { HonorEnvironment = false, ForceKernelsOnCpu = false });
        Shape S(int r, int c) => batch == 1 ? new Shape(r, c) : new Shape(batch, r, c);
        using var ta = Tensor.FromHost(dev, g.A, S(m, k));
        using var tb = Tensor.FromHost(dev, g.B, S(n, k));
        using var tc = Tensor.Zeros(dev, S(m, n));
        // Warm up past tiered compilation of the callers (tier 0, instrumented tier 0, then a background re-JIT,
        // each stage after 30 calls and a quiet 100 ms): the runtime allocates a little while it switches tiers.
        for (int round = 0; round < 4; round++)
        {
            for (int warm = 0; warm < 40; warm++)
            {
                CpuGemm.Compute(g.A, g.B, g.C, p);
                GemmOp.Run(ta, tb, tc, transB: true);
            }

            System.Threading.Thread.Sleep(100);
        }

        long thread0 = GC.GetAllocatedBytesForCurrentThread();
        long total0 = GC.GetTotalAllocatedBytes(true);
        for (int r = 0; r < 20; r++)
        {
            CpuGemm.Compute(g.A, g.B, g.C, p);
        }

        long total1 = GC.GetTotalAllocatedBytes(true);
        long thread1 = GC.GetAllocatedBytesForCurrentThread();
        for (int r = 0; r < 20; r++)
        {
            GemmOp.Run(ta, tb, tc, transB: true);
        }

        long total2 = GC.GetTotalAllocatedBytes(true);
        long thread2 = GC.GetAllocatedBytesForCurrentThread();
        Assert.That(thread1 - thread0, Is.Zero, "bytes allocated on the calling thread by CpuGemm.Compute");
        Assert.That(total1 - total0, Is.Zero, "bytes allocated by all threads during CpuGemm.Compute");
        Assert.That(thread2 - thread1, Is.Zero, "bytes allocated on the calling thread by Gemm.Run on the CPU device");
        Assert.That(total2 - total1, Is.Zero, "bytes allocated by all threads during Gemm.Run on the CPU device");
    }

    /// <summary>A random GEMM problem with dense or padded pitches and its float64 reference.</summary>
    private sealed class Problem
    {
        private readonly int m, n, k, batch, lda, ldb, ldc;
        private readonly bool ta, tb;
        private readonly long sa, sb, sc;

        public Problem(int m, int n, int k, bool transA, bool transB, int batch, int pad, int seed)
        {
            (this.m, this.n, this.k, ta, tb, this.batch) = (m, n, k, transA, transB, batch);
            lda = (ta ? m : k) + pad;
            ldb = (tb ? k : n) + pad;
            ldc = n + pad;
            sa = ((long)(ta ? k : m) * lda) + pad;
            sb = ((long)(tb ? n : k) * ldb) + pad;
            sc = ((long)m * ldc) + pad;
            A = HostMath.Random((int)(sa * batch), seed);
            B = HostMath.Random((int)(sb * batch), seed + 1);
            C = HostMath.Random((int)(sc * batch), seed + 2);
        }

        public float[] A { get; }

        public float[] B { get; }

        public float[] C { get; }

        public GemmParams Params(float alpha, float beta) => new()
        {
            M = m, N = n, K = k, Lda = lda, Ldb = ldb, Ldc = ldc, TransA = ta ? 1 : 0, TransB = tb ? 1 : 0,
            Alpha = alpha, Beta = beta, StrideA = sa, StrideB = sb, StrideC = sc, Batch = batch,
        };

        /// <summary>
        /// Runs the kernel on a copy of C and checks every element against the float64 result within the float32
        /// error bound of a K-term dot product summed over K slices, 2(K+4) eps |alpha| sum|a||b| + 4 eps |beta c|.
        /// Elements outside the matrices (pitch padding, batch gaps) must be untouched.
        /// </summary>
        public void Check(GemmKernel kernel, float alpha, float beta)
        {
            var got = (float[])C.Clone();
            CpuGemm.Compute(A, B, got, Params(alpha, beta), kernel);
            const double eps = 1.0 / (1 << 24);
            var inside = new bool[got.Length];
            for (int bi = 0; bi < batch; bi++)
            {
                for (int i = 0; i < m; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        double acc = 0, mag = 0;
                        for (int q = 0; q < k; q++)
                        {
                            double av = ta ? A[(bi * sa) + (q * lda) + i] : A[(bi * sa) + (i * lda) + q];
                            double bv = tb ? B[(bi * sb) + (j * ldb) + q] : B[(bi * sb) + (q * ldb) + j];
                            acc += av * bv;
                            mag += Math.Abs(av * bv);
                        }

                        long ci = (bi * sc) + (i * ldc) + j;
                        inside[ci] = true;
                        double old = C[ci];
                        double want = beta == 0f ? alpha * acc : (alpha * acc) + (beta * old);
                        double tol = (2 * (k + 4) * eps * Math.Abs(alpha) * mag) + (beta == 0f ? 0 : 4 * eps * Math.Abs(beta * old)) + 1e-30;
                        if (!(Math.Abs(got[ci] - want) <= tol))
                        {
                            Assert.Fail($"{kernel} {m}x{n}x{k} transA {ta} transB {tb} batch {batch} alpha {alpha} beta {beta}: " +
                                $"C[{bi}][{i},{j}] is {got[ci]} but expected {want} (bound {tol:G3}).");
                        }
                    }
                }
            }

            for (int x = 0; x < got.Length; x++)
            {
                if (!inside[x] && BitConverter.SingleToInt32Bits(got[x]) != BitConverter.SingleToInt32Bits(C[x]))
                {
                    Assert.Fail($"{kernel} {m}x{n}x{k}: element {x} outside C was written ({C[x]} became {got[x]}).");
                }
            }
        }
    }
}
