// The channel-layout ops on every device: (N, C, d...) to rows of channels and back against a plain index map, one-hot
// expansion, shape errors; and the segmentation shapes of the losses equal the row losses on the permuted tensors.
using System;
using System.Linq;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class ChannelLayoutTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    private static float[] Random(int n, int seed) => [.. Enumerable.Range(0, n).Select(i => (float)new Random(seed + i).NextDouble() - 0.5f)];

    [TestCase(3, 5, 7)]
    [TestCase(2, 3, 1)]
    [TestCase(1, 11, 37)]
    public void Channels_move_last_and_back_by_the_index_map(int n, int c, int s)
    {
        var x = Random(n * c * s, 1);
        using var tx = Tensor.FromHost(Dev, x, new Shape(n, c, s));
        using var rows = Tensor.Empty(Dev, new Shape(n * s, c));
        ChannelLayout.ToChannelsLast(tx, rows);
        var got = rows.ToArray();
        for (int b = 0; b < n; b++)
        {
            for (int k = 0; k < c; k++)
            {
                for (int p = 0; p < s; p++)
                {
                    Assert.That(got[(((b * s) + p) * c) + k], Is.EqualTo(x[(((b * c) + k) * s) + p]));
                }
            }
        }

        using var back = Tensor.Empty(Dev, tx.Shape);
        ChannelLayout.ToChannelsFirst(rows, back);
        Assert.That(back.ToArray(), Is.EqualTo(x));
    }

    [Test]
    public void Class_indices_expand_to_one_hot_channels()
    {
        float[] idx = [0, 2, 1, 1, 2, 0];   // (2, 3) positions
        using var t = Tensor.FromHost(Dev, idx, new Shape(2, 3));
        using var y = Tensor.Empty(Dev, new Shape(2, 3, 3));
        ChannelLayout.OneHot(t, y);
        var got = y.ToArray();
        for (int b = 0; b < 2; b++)
        {
            for (int k = 0; k < 3; k++)
            {
                for (int p = 0; p < 3; p++)
                {
                    Assert.That(got[(((b * 3) + k) * 3) + p], Is.EqualTo(idx[(b * 3) + p] == k ? 1f : 0f));
                }
            }
        }
    }

    [Test]
    public void Mismatched_shapes_and_bad_indices_are_refused()
    {
        using var x = Tensor.Zeros(Dev, new Shape(2, 3, 4));
        using var rows = Tensor.Zeros(Dev, new Shape(8, 4));
        Assert.That(() => ChannelLayout.ToChannelsLast(x, rows), Throws.ArgumentException.With.Message.Contain("rows is [8, 4] for x [2, 3, 4]; expected [8, 3]"));
        using var idx = Tensor.FromHost(Dev, [0f, 5f], new Shape(2));
        using var y = Tensor.Zeros(Dev, new Shape(2, 3));
        if (Dev.IsHostMemory)
        {
            Assert.That(() => ChannelLayout.OneHot(idx, y), Throws.ArgumentException.With.Message.Contain("indices[1] = 5 is not a class index in [0, 3)"));
        }

        using var wrong = Tensor.Zeros(Dev, new Shape(2, 3, 2));
        Assert.That(() => ChannelLayout.OneHot(idx, wrong), Throws.ArgumentException.With.Message.Contain("expected (N, C, d...) for indices (N, d...)"));
    }

    [Test]
    public void Segmentation_losses_are_the_row_losses_of_every_position()
    {
        const int n = 2, c = 3, s = 5;
        var logits = Random(n * c * s, 7).Select(v => v * 4).ToArray();
        var labels = Enumerable.Range(0, n * s).Select(i => (float)(i * 7 % c)).ToArray();
        using var pred = Tensor.FromHost(Dev, logits, new Shape(n, c, s));
        using var target = Tensor.FromHost(Dev, labels, new Shape(n, s));
        using var rows = Tensor.Empty(Dev, new Shape(n * s, c));
        ChannelLayout.ToChannelsLast(pred, rows);
        using var flatTarget = Tensor.FromHost(Dev, labels, new Shape(n * s));
        var spec = LossSpec.CrossEntropy(labelSmoothing: 0.1f);
        using var a = Tensor.Empty(Dev, new Shape(1));
        using var b = Tensor.Empty(Dev, new Shape(1));
        Losses.Forward(spec, pred, target, a);
        Losses.Forward(spec, rows, flatTarget, b);
        Assert.That(a.ToArray()[0], Is.EqualTo(b.ToArray()[0]).Within(1e-6));

        using var dpred = Tensor.Empty(Dev, pred.Shape);
        using var drows = Tensor.Empty(Dev, rows.Shape);
        using var dback = Tensor.Empty(Dev, pred.Shape);
        Losses.Backward(spec, pred, target, dpred);
        Losses.Backward(spec, rows, flatTarget, drows);
        ChannelLayout.ToChannelsFirst(drows, dback);
        Assert.That(dpred.ToArray(), Is.EqualTo(dback.ToArray()).Within(1e-6));

        Assert.That(() => Losses.Forward(spec, pred, flatTarget, a), Throws.ArgumentException.With.Message.Contain("expected class indices [2, 5]"));
        Assert.That(() => Losses.Forward(LossSpec.Dice(), pred, target, a), Throws.ArgumentException.With.Message.Contain("expected a target of pred's shape"));
    }
}
