// The kernel-path reductions under other launch shapes: the GPU shape (256-thread groups, many blocks) and a tiny
// shape (one element per thread, so small tensors split into dozens of blocks), proven on every kernel device.
using System.Collections.Generic;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Kernels))]
public sealed class ReductionPlanTests(DeviceConfig config)
{
    private static readonly ReduceTuning Tiny = new(32, 1, 4096);

    private Device Dev => TestDevices.Get(config);

    public static IEnumerable<TestCaseData> Tunings()
    {
        yield return new TestCaseData("gpu").SetArgDisplayNames("gpu shape");
        yield return new TestCaseData("tiny").SetArgDisplayNames("tiny shape");
    }

    private static ReduceTuning Pick(string name) => name == "gpu" ? ReduceTuning.Gpu : Tiny;

    [TestCaseSource(nameof(Tunings))]
    public void Batch_norm_layer_norm_and_bias_backward_match_references(string tuning)
    {
        ReduceTuning.Forced = Pick(tuning);
        try
        {
            string device = $"{config} ({tuning})";
            bool gpu = tuning == "gpu";

            // The GPU shape runs 256-thread groups, which the simulator pays for; a few shapes cover its trees.
            var bn = gpu
                ? new[] { new[] { 37, 2 }, new[] { 3, 2, 37 }, new[] { 600, 3 } }
                : new[] { new[] { 37, 2 }, new[] { 5, 3, 4, 4 }, new[] { 3, 2, 37 }, new[] { 2, 2, 100 }, new[] { 600, 3 } };
            foreach (var dims in bn)
            {
                BatchNormTests.Check(Dev, device, dims, training: true, shift: 3f);
            }

            BatchNormTests.Check(Dev, device, [1, 3, 1, 1], training: false, shift: 0f);
            LayerNormTests.Check(Dev, device, [3, 300], 1, affine: true);
            ElementwiseTests.CheckBias(Dev, device, [7, 3, 40], 1);
            if (!gpu)
            {
                LayerNormTests.Check(Dev, device, [40, 6], 1, affine: true);
                ElementwiseTests.CheckBias(Dev, device, [300, 5], -1);
            }
        }
        finally
        {
            ReduceTuning.Forced = null;
        }
    }

    [Test]
    public void Plans_split_large_channels_into_blocks_and_cover_every_element()
    {
        var p = ReducePlan.Create(ReduceTuning.Gpu, 4099, 2, 1);
        Assert.That(p.Columns, Is.True);
        Assert.That(p.Params.Blocks, Is.EqualTo(33));
        Assert.That(p.Params.Blocks * p.Params.Chunk, Is.GreaterThanOrEqualTo(4099));
        Assert.That((p.Params.Blocks - 1) * p.Params.Chunk, Is.LessThan(4099), "no empty block");
        Assert.That(p.SerialFinalize, Is.False, "33 entries per channel: one group per channel finalizes");

        var s = ReducePlan.Create(ReduceTuning.Gpu, 64, 1, 4099);
        Assert.That(s.Columns, Is.False);
        Assert.That(s.Group, Is.EqualTo(256));
        Assert.That(s.Params.Blocks, Is.EqualTo(65));
        Assert.That(s.FinalizeGroup, Is.EqualTo(128));

        var t = ReducePlan.Create(Tiny, 37, 2, 1);
        Assert.That(t.Params.Blocks, Is.EqualTo(37));
        Assert.That(t.Entries, Is.EqualTo(37));
        Assert.That(ReducePlan.Create(ReduceTuning.CpuSimulator, 1, 3, 1).Params.Blocks, Is.EqualTo(1));
        Assert.That(ReducePlan.Create(ReduceTuning.CpuSimulator, 1000, 3, 1).SerialFinalize, Is.True);
        Assert.That(ReducePlan.Create(Tiny, 5, 3, 16).Entries, Is.EqualTo(80), "column plans: S entries per block");
    }
}
