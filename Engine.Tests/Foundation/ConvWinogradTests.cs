// The Winograd F(2x2, 3x3) host convolution, both tile widths, against the plain double convolution of ConvShiftTests
// on odd shapes: odd and tiny planes (tiles cut by the border, one tile per image), channel counts off the register
// tiles, more tiles than one block; forward with and without bias, the input and weight gradients overwritten and
// accumulated.
using System;
using System.Collections.Generic;
using Engine.Backends.Cpu;
using NUnit.Framework;
using Problem = Engine.Tests.Foundation.ConvShiftTests.Problem;

namespace Engine.Tests.Foundation;

public sealed unsafe class ConvWinogradTests
{
    private static readonly GemmKernel[] Kernels = [GemmKernel.Vector256, GemmKernel.Vector512];

    // (N, Cin, H, W, Cout): 3x3 kernels, padding 1, stride 1, one group.
    private static readonly int[][] Cases =
    [
        [2, 8, 7, 9, 17],
        [3, 9, 5, 11, 8],
        [2, 16, 8, 8, 16],
        [1, 33, 6, 13, 10],
        [2, 8, 1, 3, 8],
        [3, 32, 14, 14, 64],
        [2, 12, 16, 18, 41],
        [1, 8, 33, 31, 9],
        [3, 20, 2, 1, 12],
    ];

    public static IEnumerable<TestCaseData> Shapes()
    {
        foreach (var kernel in Kernels)
        {
            for (int i = 0; i < Cases.Length; i++)
            {
                var c = Cases[i];
                yield return new TestCaseData((int)kernel, i).SetArgDisplayNames(kernel.ToString(), $"{c[0]}x{c[1]}x{c[2]}x{c[3]}_{c[4]}");
            }
        }
    }

    [TestCaseSource(nameof(Shapes))]
    public void Forward_matches_double_reference(int kernel, int index)
    {
        var t = Of(index, seed: index);
        Assert.That(ConvWinograd.Applies(t.P, 1, t.Cout, (GemmKernel)kernel), Is.True);
        t.Reference(out var yRef, out var yAbs, out _, out _, out _, out _, bias: true);
        t.Reference(out var yRefNoBias, out var yAbsNoBias, out _, out _, out _, out _, bias: false);
        foreach (bool bias in new[] { true, false })
        {
            var y = new float[t.YLen];
            Array.Fill(y, float.NaN);
            fixed (float* px = t.X, pw = t.Wt, pb = t.B, py = y)
            {
                ConvWinograd.Forward((GemmKernel)kernel, t.P, t.Cout, px, pw, bias ? pb : null, py);
            }

            ConvShiftTests.Near(y, bias ? yRef : yRefNoBias, bias ? yAbs : yAbsNoBias, $"y (bias {bias})");
        }
    }

    [TestCaseSource(nameof(Shapes))]
    public void Input_gradient_matches_double_reference(int kernel, int index)
    {
        var t = Of(index, seed: 100 + index);
        t.Reference(out _, out _, out var dxRef, out var dxAbs, out _, out _, bias: false);
        foreach (bool accumulate in new[] { false, true })
        {
            var dx = new float[t.X.Length];
            Array.Fill(dx, accumulate ? 0.5f : float.NaN);
            fixed (float* pw = t.Wt, pdy = t.Dy, pdx = dx)
            {
                ConvWinograd.InputGrad((GemmKernel)kernel, t.P, t.Cout, pw, pdy, pdx, accumulate);
            }

            ConvShiftTests.Near(dx, ConvShiftTests.Shift(dxRef, accumulate ? 0.5f : 0f), dxAbs, $"dx (accumulate {accumulate})");
        }
    }

    [TestCaseSource(nameof(Shapes))]
    public void Weight_gradient_matches_double_reference(int kernel, int index)
    {
        var t = Of(index, seed: 200 + index);
        t.Reference(out _, out _, out _, out _, out var dwRef, out var dwAbs, bias: false);
        foreach (bool accumulate in new[] { false, true })
        {
            var dw = new float[t.Wt.Length];
            Array.Fill(dw, accumulate ? 0.5f : float.NaN);
            fixed (float* px = t.X, pdy = t.Dy, pdw = dw)
            {
                ConvWinograd.WeightGrad((GemmKernel)kernel, t.P, t.Cout, px, pdy, pdw, accumulate);
            }

            ConvShiftTests.Near(dw, ConvShiftTests.Shift(dwRef, accumulate ? 0.5f : 0f), dwAbs, $"dw (accumulate {accumulate})");
        }
    }

    [Test]
    public void Only_3x3_stride_1_padding_1_convolutions_with_enough_channels_apply()
    {
        var p = Of(0, 0).P;
        Assert.That(ConvWinograd.Applies(p, 1, 16, GemmKernel.Vector512), Is.True);
        Assert.That(ConvWinograd.Applies(p, 1, 16, GemmKernel.Vector256), Is.True);
        Assert.That(ConvWinograd.Applies(p, 1, 16, GemmKernel.Vector128), Is.False);
        Assert.That(ConvWinograd.Applies(p, 2, 16, GemmKernel.Vector512), Is.False, "groups");
        Assert.That(ConvWinograd.Applies(p, 1, ConvWinograd.MinChannels - 1, GemmKernel.Vector512), Is.False, "output channels");
        Assert.That(ConvWinograd.Applies(p with { Channels = ConvWinograd.MinChannels - 1 }, 1, 16, GemmKernel.Vector512), Is.False, "input channels");
        Assert.That(ConvWinograd.Applies(p with { StrideH = 2, OutH = 4 }, 1, 16, GemmKernel.Vector512), Is.False, "stride");
        Assert.That(ConvWinograd.Applies(p with { DilationW = 2, PadLeft = 2 }, 1, 16, GemmKernel.Vector512), Is.False, "dilation");
        Assert.That(ConvWinograd.Applies(p with { PadTop = 0, PadLeft = 0, OutH = 5, OutW = 7 }, 1, 16, GemmKernel.Vector512), Is.False, "padding 0");
        Assert.That(ConvWinograd.Applies(p with { OutH = 8 }, 1, 16, GemmKernel.Vector512), Is.False, "padding 1 above, 2 below");
        Assert.That(ConvWinograd.Applies(p with { KernelH = 5, KernelW = 5, PadTop = 2, PadLeft = 2 }, 1, 16, GemmKernel.Vector512), Is.False, "5x5");
        Assert.That(() => ConvWinograd.Forward(GemmKernel.Vector128, p, 16, null, null, null, null), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    private static Problem Of(int index, int seed)
    {
        var c = Cases[index];
        return new Problem([c[0], c[1], c[2], c[3], c[4], 3, 3, 1, 1, 1, 1, 1, 1], seed);
    }
}
