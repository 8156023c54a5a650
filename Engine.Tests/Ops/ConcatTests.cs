// Concat along every axis and its backward (the split of the gradient) on every device, with bad inputs.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class ConcatTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    public static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData(new[] { new[] { 2, 3 }, new[] { 2, 5 } }, 1).SetArgDisplayNames("(2,3)+(2,5) axis 1");
        yield return new TestCaseData(new[] { new[] { 1, 4 }, new[] { 3, 4 }, new[] { 2, 4 } }, 0).SetArgDisplayNames("rows axis 0");
        yield return new TestCaseData(new[] { new[] { 2, 3, 4, 5 }, new[] { 2, 1, 4, 5 }, new[] { 2, 2, 4, 5 } }, 1).SetArgDisplayNames("channels axis 1");
        yield return new TestCaseData(new[] { new[] { 3, 2, 7 }, new[] { 3, 2, 1 } }, -1).SetArgDisplayNames("last axis -1");
        yield return new TestCaseData(new[] { new[] { 5 } }, 0).SetArgDisplayNames("single input");
    }

    [TestCaseSource(nameof(Cases))]
    public void Forward_places_every_input_and_backward_splits_the_gradient(int[][] shapes, int axis)
    {
        var hosts = shapes.Select((s, i) => HostMath.Random((int)new Shape(s).Length, 90 + i)).ToArray();
        int ax = axis < 0 ? axis + shapes[0].Length : axis;
        var outDims = (int[])shapes[0].Clone();
        outDims[ax] = shapes.Sum(s => s[ax]);
        var outShape = new Shape(outDims);
        long outer = outShape.Product(0, ax), inner = outShape.Product(ax + 1, outDims.Length);

        // Reference: row o of the output is the inputs' rows o, one after the other.
        var want = new List<double>();
        for (long o = 0; o < outer; o++)
        {
            for (int i = 0; i < shapes.Length; i++)
            {
                long pitch = shapes[i][ax] * inner;
                want.AddRange(hosts[i].Skip((int)(o * pitch)).Take((int)pitch).Select(v => (double)v));
            }
        }

        var parts = shapes.Select((s, i) => Tensor.FromHost(Dev, hosts[i], new Shape(s))).ToArray();
        var grads = shapes.Select(s => Tensor.Empty(Dev, new Shape(s))).ToArray();
        try
        {
            using var y = Tensor.Empty(Dev, outShape);
            ConcatOp.Forward(parts, y, axis);
            HostMath.AssertClose(y.ToArray(), want.ToArray(), 0, 0, $"concat on {config}");
            ConcatOp.Backward(y, grads, axis);
            for (int i = 0; i < shapes.Length; i++)
            {
                Assert.That(grads[i].ToArray(), Is.EqualTo(hosts[i]), $"split {i}");
            }

            // The backward is the transpose of the forward: finite differences of L = sum g * cat(x0, ...) wrt x0.
            var g = GradCheck.ToDouble(HostMath.Random((int)outShape.Length, 99));
            using var gy = Tensor.FromHost(Dev, g.Select(v => (float)v).ToArray(), outShape);
            ConcatOp.Backward(gy, grads, axis);
            double Loss(double[] x0)
            {
                double s = 0;
                int k = 0;
                for (long o = 0; o < outer; o++)
                {
                    for (int i = 0; i < shapes.Length; i++)
                    {
                        long pitch = shapes[i][ax] * inner;
                        for (long j = 0; j < pitch; j++, k++)
                        {
                            s += g[k] * (i == 0 ? x0[(o * pitch) + j] : hosts[i][(o * pitch) + j]);
                        }
                    }
                }

                return s;
            }

            GradCheck.AssertMatches(grads[0].ToArray(), Loss, GradCheck.ToDouble(hosts[0]), $"concat dx0 on {config}");
        }
        finally
        {
            foreach (var t in parts.Concat(grads))
            {
                t.Dispose();
            }
        }
    }

    [Test]
    public void Bad_arguments_are_rejected_with_their_names_and_shapes()
    {
        using var a = Tensor.Zeros(Dev, new Shape(2, 3));
        using var b = Tensor.Zeros(Dev, new Shape(3, 3));
        using var c = Tensor.Zeros(Dev, new Shape(2, 3, 1));
        using var y = Tensor.Zeros(Dev, new Shape(2, 6));
        Assert.That(() => ConcatOp.Forward([a, b], y, 1), Throws.ArgumentException.With.Message.Contain("inputs[1] is [3, 3]").And.Message.Contain("except axis 1"));
        Assert.That(() => ConcatOp.Forward([a, c], y, 1), Throws.ArgumentException.With.Message.Contain("inputs[1] is [2, 3, 1]"));
        Assert.That(() => ConcatOp.Forward([a], y, 1), Throws.ArgumentException.With.Property("ParamName").EqualTo("y").And.Message.Contain("add up to 3"));
        Assert.That(() => ConcatOp.Forward([a, a], y, 2), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("axis"));
        Assert.That(() => ConcatOp.Forward([], y, 1), Throws.ArgumentException.With.Message.Contain("empty"));
        Assert.That(() => ConcatOp.Backward(y, [a, b], 1), Throws.ArgumentException.With.Message.Contain("dxs[1] is [3, 3]"));
    }
}
