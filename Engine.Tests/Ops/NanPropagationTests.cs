// A NaN in the input of a reduction makes its result NaN, as in PyTorch, on every device and variant: sums, maxima,
// means and variances. (ILGPU's OpenCL backend turns C#'s unordered float branches into ordered comparisons, so a
// kernel that decides on a comparison must test NaN explicitly; these tests catch the ones that do not.)
using System.Linq;
using Engine.Ops;
using Engine.Optim;
using ParameterRole = Engine.Nn.ParameterRole;
using ParameterSet = Engine.Nn.ParameterSet;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class NanPropagationTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    private static float[] WithNaN(int n, int at, int seed)
    {
        var a = HostMath.Random(n, seed);
        a[at] = float.NaN;
        return a;
    }

    [Test]
    public void Softmax_line_with_a_nan_is_all_nan_and_other_lines_are_finite([Values(7, 3000)] int width)
    {
        using var x = Tensor.FromHost(Dev, WithNaN(2 * width, width / 2, 3), new Shape(2, width));
        using var y = Tensor.Empty(Dev, x.Shape);
        foreach (var v in SoftmaxOp.ForwardRegistry.Variants.Where(v => v.Path == Dev.Path).Select(v => v.Variant))
        {
            foreach (bool log in new[] { false, true })
            {
                SoftmaxOp.Forward(x, y, -1, log, v);
                var got = y.ToArray();
                Assert.That(got.Take(width), Is.All.NaN, $"line 0 ({v}, log {log})");
                Assert.That(got.Skip(width).All(float.IsFinite), Is.True, $"line 1 ({v}, log {log})");
            }
        }
    }

    [Test]
    public void Batch_norm_training_statistics_of_a_channel_with_a_nan_are_nan([Values(3, 700)] int batch)
    {
        // (batch, 2 channels, 3): the NaN is in channel 1 only.
        var shape = new Shape(batch, 2, 3);
        using var x = Tensor.FromHost(Dev, WithNaN((int)shape.Length, 4, 5), shape);
        using var y = Tensor.Empty(Dev, shape);
        using var mean = Tensor.Empty(Dev, new Shape(2));
        using var invStd = Tensor.Empty(Dev, new Shape(2));
        using var rm = Tensor.Zeros(Dev, new Shape(2));
        using var rv = Tensor.Zeros(Dev, new Shape(2));
        rv.Fill(1f);
        foreach (var v in BatchNormOp.ForwardRegistry.Variants.Where(v => v.Path == Dev.Path).Select(v => v.Variant))
        {
            BatchNormOp.Forward(x, y, null, null, rm, rv, mean, invStd, training: true, variant: v);
            var m = mean.ToArray();
            Assert.That(float.IsFinite(m[0]) && float.IsNaN(m[1]), Is.True, $"saved means {string.Join(", ", m)} ({v})");
            Assert.That(float.IsNaN(rm.ToArray()[1]) && float.IsNaN(rv.ToArray()[1]), Is.True, $"running statistics of channel 1 ({v})");
            var got = y.ToArray();
            for (int i = 0; i < got.Length; i++)
            {
                int c = (i / 3) % 2;
                Assert.That(float.IsNaN(got[i]), Is.EqualTo(c == 1), $"y[{i}] = {got[i]} ({v})");
            }

            rm.Fill(0f);
            rv.Fill(1f);
        }
    }

    [Test]
    public void Layer_norm_row_with_a_nan_is_all_nan_and_other_rows_are_finite([Values(5, 300)] int d)
    {
        var shape = new Shape(3, d);
        using var x = Tensor.FromHost(Dev, WithNaN(3 * d, d + 1, 7), shape);
        using var y = Tensor.Empty(Dev, shape);
        using var mean = Tensor.Empty(Dev, new Shape(3));
        using var rstd = Tensor.Empty(Dev, new Shape(3));
        foreach (var v in LayerNormOp.ForwardRegistry.Variants.Where(v => v.Path == Dev.Path).Select(v => v.Variant))
        {
            LayerNormOp.Forward(x, y, null, null, mean, rstd, new Shape(d), variant: v);
            var got = y.ToArray();
            Assert.That(got.Skip(d).Take(d), Is.All.NaN, $"row 1 ({v})");
            Assert.That(got.Take(d).Concat(got.Skip(2 * d)).All(float.IsFinite), Is.True, $"rows 0 and 2 ({v})");
            Assert.That(float.IsNaN(mean.ToArray()[1]) && float.IsNaN(rstd.ToArray()[1]), Is.True, $"row 1 statistics ({v})");
        }
    }

    [Test]
    public void Average_pools_of_a_window_with_a_nan_are_nan()
    {
        // (1, 1, 4, 4), the NaN at (1, 2): 2x2 average windows (0, 1) only; the global average is NaN.
        using var x = Tensor.FromHost(Dev, WithNaN(16, 6, 9), new Shape(1, 1, 4, 4));
        using var y = Tensor.Empty(Dev, new Shape(1, 1, 2, 2));
        using var g = Tensor.Empty(Dev, new Shape(1, 1));
        AvgPool2dOp.Forward(x, y, new Pool2dOptions(2));
        GlobalAvgPool2dOp.Forward(x, g);
        var got = y.ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(float.IsNaN(got[1]), Is.True, "window (0, 1)");
            Assert.That(new[] { got[0], got[2], got[3] }.All(float.IsFinite), Is.True, "other windows");
            Assert.That(g.ToArray()[0], Is.NaN, "global average");
        });
    }

    [Test]
    public void Gradient_norms_of_every_type_are_nan_when_a_gradient_is([Values(1_000, 70_001)] int n)
    {
        using var set = ParameterSet.Create(Dev, [("w", new Shape(n), ParameterRole.Weight)]);
        set.Grads.CopyFrom(WithNaN(n, n - 3, 11));
        using var clipper = new GradientClipper(set);
        Assert.Multiple(() =>
        {
            foreach (double type in new[] { 1.0, 2.0, 3.0, double.PositiveInfinity })
            {
                Assert.That(clipper.TotalNorm(type), Is.NaN, $"norm type {type}");
            }
        });
    }

    [Test]
    public void Gemm_row_with_a_nan_input_is_nan_for_every_variant()
    {
        // (70 x 9) * (9 x 66): A's row 3 holds a NaN, so C's row 3 is NaN and the rest finite.
        using var a = Tensor.FromHost(Dev, WithNaN(70 * 9, (3 * 9) + 4, 13), new Shape(70, 9));
        using var b = Tensor.FromHost(Dev, HostMath.Random(9 * 66, 14), new Shape(9, 66));
        using var c = Tensor.Empty(Dev, new Shape(70, 66));
        foreach (var v in GemmOp.Registry.Variants.Where(v => v.Path == Dev.Path).Select(v => v.Variant))
        {
            GemmOp.Run(a, b, c, variant: v);
            var got = c.ToArray();
            for (int r = 0; r < 70; r++)
            {
                var row = got.Skip(r * 66).Take(66);
                Assert.That(r == 3 ? row.All(float.IsNaN) : row.All(float.IsFinite), Is.True, $"row {r} ({v})");
            }
        }
    }
}
