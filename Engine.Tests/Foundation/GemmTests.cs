// Every GEMM variant against a double-precision host reference, on shapes that are not tile multiples.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Foundation;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class GemmTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    private IEnumerable<string> Variants() => GemmOp.Registry.Variants
        .Where(v => v.Path == Dev.Path)
        .Select(v => v.Variant);

    public static IEnumerable<TestCaseData> Shapes()
    {
        int[][] mnk = [[1, 1, 1], [1, 1, 37], [1, 7, 1], [17, 33, 9], [5, 3, 70], [65, 66, 17], [70, 2, 130]];
        foreach (var s in mnk)
        {
            foreach (bool ta in new[] { false, true })
            {
                foreach (bool tb in new[] { false, true })
                {
                    yield return new TestCaseData(s[0], s[1], s[2], ta, tb, 1).SetArgDisplayNames($"{s[0]}x{s[1]}x{s[2]}", ta ? "At" : "A", tb ? "Bt" : "B", "batch1");
                }
            }
        }

        yield return new TestCaseData(9, 13, 11, false, false, 3).SetArgDisplayNames("9x13x11", "A", "B", "batch3");
        yield return new TestCaseData(9, 13, 11, true, true, 3).SetArgDisplayNames("9x13x11", "At", "Bt", "batch3");
        yield return new TestCaseData(2, 67, 5, false, true, 4).SetArgDisplayNames("2x67x5", "A", "Bt", "batch4");

        // One output row (the host matrix-vector path), large enough to split across cores and with column blocks and tails.
        foreach (bool ta in new[] { false, true })
        {
            foreach (bool tb in new[] { false, true })
            {
                yield return new TestCaseData(1, 1037, 301, ta, tb, 1).SetArgDisplayNames("1x1037x301", ta ? "At" : "A", tb ? "Bt" : "B", "batch1");
            }
        }

        yield return new TestCaseData(1, 515, 129, false, true, 3).SetArgDisplayNames("1x515x129", "A", "Bt", "batch3");
        yield return new TestCaseData(1, 515, 129, false, false, 3).SetArgDisplayNames("1x515x129", "A", "B", "batch3");
    }

    [TestCaseSource(nameof(Shapes))]
    public void Matches_double_reference_for_every_variant(int m, int n, int k, bool transA, bool transB, int batch)
    {
        const float alpha = 0.75f;
        const float beta = -0.5f;
        int[] aShape = transA ? [k, m] : [m, k];
        int[] bShape = transB ? [n, k] : [k, n];
        var aHost = HostMath.Random(batch * m * k, 1 + m + n);
        var bHost = HostMath.Random(batch * k * n, 2 + k);
        var cHost = HostMath.Random(batch * m * n, 3);
        var want = new double[batch * m * n];
        for (int bi = 0; bi < batch; bi++)
        {
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double acc = 0;
                    for (int q = 0; q < k; q++)
                    {
                        double av = transA ? aHost[(bi * m * k) + (q * m) + i] : aHost[(bi * m * k) + (i * k) + q];
                        double bv = transB ? bHost[(bi * k * n) + (j * k) + q] : bHost[(bi * k * n) + (q * n) + j];
                        acc += av * bv;
                    }

                    int ci = (bi * m * n) + (i * n) + j;
                    want[ci] = (alpha * acc) + (beta * cHost[ci]);
                }
            }
        }

        Shape S(int[] d) => batch == 1 ? new Shape(d) : new Shape([batch, .. d]);
        using var a = Tensor.FromHost(Dev, aHost, S(aShape));
        using var b = Tensor.FromHost(Dev, bHost, S(bShape));
        foreach (var variant in Variants())
        {
            using var c = Tensor.FromHost(Dev, cHost, S([m, n]));
            GemmOp.Run(a, b, c, transA, transB, alpha, beta, variant);
            HostMath.AssertClose(c.ToArray(), want, 1e-5, 1e-4, $"gemm {variant} on {config}");
        }
    }

    [Test]
    public void Beta_zero_overwrites_garbage_in_c()
    {
        using var a = Tensor.FromHost(Dev, [1f, 2f, 3f, 4f], new Shape(2, 2));
        using var b = Tensor.FromHost(Dev, [1f, 0f, 0f, 1f], new Shape(2, 2));
        foreach (var variant in Variants())
        {
            using var c = Tensor.FromHost(Dev, [float.NaN, float.NaN, float.NaN, float.NaN], new Shape(2, 2));
            GemmOp.Run(a, b, c, variant: variant);
            Assert.That(c.ToArray(), Is.EqualTo(new[] { 1f, 2f, 3f, 4f }), variant);
        }

        // One output row (the host matrix-vector path), both forms of B.
        using var row = Tensor.FromHost(Dev, [3f, 4f], new Shape(1, 2));
        foreach (var variant in Variants())
        {
            foreach (bool tb in new[] { false, true })
            {
                using var c = Tensor.FromHost(Dev, [float.NaN, float.NaN], new Shape(1, 2));
                GemmOp.Run(row, b, c, transB: tb, variant: variant);
                Assert.That(c.ToArray(), Is.EqualTo(new[] { 3f, 4f }), $"{variant} transB {tb}");
            }
        }
    }

    [Test]
    public void Mismatched_inner_dimension_is_rejected_before_launch()
    {
        using var a = Tensor.Zeros(Dev, new Shape(3, 4));
        using var b = Tensor.Zeros(Dev, new Shape(5, 2));
        using var c = Tensor.Zeros(Dev, new Shape(3, 2));
        var ex = Assert.Throws<ArgumentException>(() => GemmOp.Run(a, b, c));
        Assert.That(ex!.Message, Does.Contain("inner dimensions differ").And.Contain("[3, 4]").And.Contain("[5, 2]"));
        Assert.That(ex.ParamName, Is.EqualTo("b"));
    }

    [Test]
    public void Wrong_output_shape_and_rank_are_rejected()
    {
        using var a = Tensor.Zeros(Dev, new Shape(3, 4));
        using var b = Tensor.Zeros(Dev, new Shape(4, 2));
        using var c = Tensor.Zeros(Dev, new Shape(2, 3));
        Assert.That(() => GemmOp.Run(a, b, c), Throws.ArgumentException.With.Message.Contain("c is [2, 3]").And.Message.Contain("3x2"));
        using var v = Tensor.Zeros(Dev, new Shape(4));
        Assert.That(() => GemmOp.Run(a, v, c), Throws.ArgumentException.With.Message.Contain("2-D"));
    }

    [Test]
    public void Unknown_variant_lists_the_registered_ones()
    {
        using var a = Tensor.Zeros(Dev, new Shape(1, 1));
        Assert.That(() => GemmOp.Run(a, a, a, variant: "nope"), Throws.ArgumentException.With.Message.Contain("kernel.tiled"));
    }

    [Test]
    public void Kernel_variants_compute_each_element_as_an_in_order_fma_chain()
    {
        // C(i, j) = alpha * fma(a(i, K-1), b(K-1, j), ... fma(a(i, 0), b(0, j), 0)): one rounding per step, in K order,
        // bit for bit on every device that runs the kernels (CUDA's fma.rn.f32, OpenCL's fma, MathF on the CPU).
        if (Dev.Path != ComputePath.Kernels)
        {
            Assert.That(Variants(), Does.Not.Contain("kernel.tiled"), "the host path has its own blocking");
            return;
        }

        const int m = 37, n = 70, k = 200;
        var ah = HostMath.Random(m * k, 21);
        var bh = HostMath.Random(k * n, 22);
        var want = new float[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float acc = 0f;
                for (int q = 0; q < k; q++)
                {
                    acc = MathF.FusedMultiplyAdd(ah[(i * k) + q], bh[(q * n) + j], acc);
                }

                want[(i * n) + j] = 0.5f * acc;
            }
        }

        using var a = Tensor.FromHost(Dev, ah, new Shape(m, k));
        using var b = Tensor.FromHost(Dev, bh, new Shape(k, n));
        using var c = Tensor.Zeros(Dev, new Shape(m, n));
        foreach (var v in Variants())
        {
            GemmOp.Run(a, b, c, alpha: 0.5f, variant: v);
            Assert.That(c.ToArray(), Is.EqualTo(want), $"{v}: bit for bit against the in-order FMA chain");
        }
    }
}
