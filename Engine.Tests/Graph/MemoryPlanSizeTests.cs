// The memory plans of a set of models are no bigger than the planner made them before its rewrite into named steps
// (the arena sizes below were printed by the old planner, which ran beside the new one over the whole test suite
// and gave the same layout, offset for offset, for all 335 plans the suite compiles). A better plan may be smaller.
using System.Collections.Generic;
using Engine.Nn;
using Engine.Tests.Infrastructure;
using MnistTrainer;
using NUnit.Framework;

namespace Engine.Tests.Graph;

public sealed class MemoryPlanSizeTests
{
    private static Module ResidualCnn()
    {
        static Module Block(int c) => new Residual(
            new Conv2d(c, c, 3, padding: 1, bias: false), new BatchNorm2d(c), new Relu(),
            new Conv2d(c, c, 3, padding: 1, bias: false), new BatchNorm2d(c));
        return new Sequential(new Conv2d(3, 16, 3, padding: 1), new Relu(), Block(16), new Relu(), Block(16), new Relu(), new GlobalAvgPool(), new Linear(16, 10));
    }

    private static Module Decoder() => new Sequential(
        new Conv2d(1, 8, 3, stride: 2, padding: 1), new Relu(), new ConvTranspose2d(8, 4, 2, stride: 2), new Sigmoid(), new Flatten(), new Linear(4 * 16 * 16, 5));

    public static IEnumerable<TestCaseData> Models()
    {
        yield return new TestCaseData("mnist cnn, batch 32", (System.Func<Module>)(() => MnistTraining.Build(ModelKind.Cnn)), new[] { 32, 1, 28, 28 }, true, 15355648L);
        yield return new TestCaseData("mnist cnn, inference", (System.Func<Module>)(() => MnistTraining.Build(ModelKind.Cnn)), new[] { 32, 1, 28, 28 }, false, 9734400L);
        yield return new TestCaseData("mnist mlp, batch 64", (System.Func<Module>)(() => MnistTraining.Build(ModelKind.Mlp)), new[] { 64, 1, 28, 28 }, true, 465920L);
        yield return new TestCaseData("deep mlp", (System.Func<Module>)MemoryPlanTests.DeepMlp, new[] { 8, 16 }, true, 13824L);
        yield return new TestCaseData("residual cnn", (System.Func<Module>)ResidualCnn, new[] { 4, 3, 12, 12 }, true, 857088L);
        yield return new TestCaseData("conv, transposed conv", (System.Func<Module>)Decoder, new[] { 2, 1, 16, 16 }, true, 35584L);
    }

    [TestCaseSource(nameof(Models))]
    public void The_plan_is_no_bigger_than_before_the_rewrite(string name, System.Func<Module> build, int[] shape, bool training, long before)
    {
        var device = TestDevices.Get(new DeviceConfig("cpu-host", DeviceKind.Cpu, false));
        using var model = build();
        using var net = model.Compile(device, shape, Loss.CrossEntropy(), new CompileOptions { Training = training });
        Assert.That(net.Memory.PeakBytes, Is.LessThanOrEqualTo(before), net.Memory.ToString());
    }
}
