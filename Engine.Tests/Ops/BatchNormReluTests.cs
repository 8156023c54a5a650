// Batch norm with a ReLU folded in (BatchNormOp with relu, and the compiler's folding of BatchNorm -> ReLU) against the
// unfolded composition, batch norm then the relu op, on every device: the same numbers, bit for bit.
using System.Collections.Generic;
using System.Linq;
using Engine.Nn;
using Engine.Ops;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Ops;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class BatchNormReluTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    public static IEnumerable<TestCaseData> Cases()
    {
        // Odd image planes (vectors plus a tail), a plane shorter than a vector, (N, C) input; training and inference, with and without affine.
        foreach (var dims in new[] { new[] { 3, 5, 7, 9 }, new[] { 2, 3, 37 }, new[] { 7, 3, 1, 3 }, new[] { 9, 4 } })
        {
            foreach (bool training in new[] { true, false })
            {
                foreach (bool affine in new[] { true, false })
                {
                    yield return new TestCaseData(dims, training, affine).SetArgDisplayNames($"({string.Join(",", dims)}) {(training ? "training" : "inference")}{(affine ? " affine" : string.Empty)}");
                }
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Folded_relu_equals_batch_norm_then_relu(int[] dims, bool training, bool affine)
    {
        var shape = new Shape(dims);
        int c = dims[1], len = (int)shape.Length;
        using var x = Tensor.FromHost(Dev, HostMath.Random(len, 21 + len, -2f, 2f), shape);
        using var dy = Tensor.FromHost(Dev, HostMath.Random(len, 22), shape);
        using var gamma = Tensor.FromHost(Dev, HostMath.Random(c, 23, 0.5f, 1.5f), new Shape(c));
        using var beta = Tensor.FromHost(Dev, HostMath.Random(c, 24, -0.5f, 0.5f), new Shape(c));
        var g = affine ? gamma : null;
        var b = affine ? beta : null;
        var (y1, dx1, dg1, db1, rm1, rv1) = Run(x, dy, g, b, training, folded: false);
        var (y2, dx2, dg2, db2, rm2, rv2) = Run(x, dy, g, b, training, folded: true);
        Assert.That(y1.Count(v => v == 0f), Is.GreaterThan(len / 5), "the ReLU clips a good part of the values");
        Assert.That(y2, Is.EqualTo(y1), "forward");
        Assert.That(dx2, Is.EqualTo(dx1), "dx");
        Assert.That(dg2, Is.EqualTo(dg1), "dgamma");
        Assert.That(db2, Is.EqualTo(db1), "dbeta");
        Assert.That(rm2, Is.EqualTo(rm1), "running mean");
        Assert.That(rv2, Is.EqualTo(rv1), "running var");
    }

    [Test]
    public void Folded_backward_leaves_dy_unchanged_and_may_write_dx_into_dy()
    {
        var shape = new Shape(3, 5, 7, 9);
        int len = (int)shape.Length;
        var dyh = HostMath.Random(len, 32);
        using var x = Tensor.FromHost(Dev, HostMath.Random(len, 31, -2f, 2f), shape);
        using var dy = Tensor.FromHost(Dev, dyh, shape);
        var (_, dx1, _, _, _, _) = Run(x, dy, null, null, training: true, folded: true);
        Assert.That(dy.ToArray(), Is.EqualTo(dyh), "dy is read only");

        using var y = Tensor.Empty(Dev, shape);
        using var mean = Tensor.Empty(Dev, new Shape(5));
        using var invStd = Tensor.Empty(Dev, new Shape(5));
        BatchNormOp.Forward(x, y, null, null, null, null, mean, invStd, training: true, relu: true);
        BatchNormOp.Backward(x, dy, null, mean, invStd, dy, null, null, training: true, reluOutput: y);
        Assert.That(dy.ToArray(), Is.EqualTo(dx1), "dx written over dy");
    }

    [Test]
    public void Folding_in_a_compiled_model_gives_the_unfolded_numbers()
    {
        static Module Build() => new Sequential(
            new Conv2d(3, 5, 3, padding: 1, bias: false), new BatchNorm2d(5), new Relu(),
            new Residual(new Conv2d(5, 5, 3, padding: 1, bias: false), new BatchNorm2d(5), new Relu(), new Conv2d(5, 5, 3, padding: 1, bias: false), new BatchNorm2d(5)),
            new Relu(), new GlobalAvgPool(), new Linear(5, 4), new BatchNorm1d(4), new Relu());
        var shape = new Shape(3, 3, 7, 9);
        var input = HostMath.Random((int)shape.Length, 41, -2f, 2f);
        float[] target = [0, 3, 1];
        using var m1 = Build();
        using var m2 = Build();
        using var unfolded = m1.Compile(Dev, shape, Loss.CrossEntropy(), new CompileOptions { Seed = 5, InputGradients = true, FoldActivations = false });
        using var folded = m2.Compile(Dev, shape, Loss.CrossEntropy(), new CompileOptions { Seed = 5, InputGradients = true });
        Assert.That(folded.Memory.PeakBytes, Is.LessThan(unfolded.Memory.PeakBytes), "a folded ReLU's output is its input's memory");
        for (int step = 0; step < 2; step++)
        {
            var l1 = unfolded.ForwardBackward(input, target).Loss!.ToArray();
            var l2 = folded.ForwardBackward(input, target).Loss!.ToArray();
            Assert.That(l2, Is.EqualTo(l1), "loss");
            Assert.That(folded.Outputs[0].ToArray(), Is.EqualTo(unfolded.Outputs[0].ToArray()), "output");
            Assert.That(folded.Parameters.Grads.ToArray(), Is.EqualTo(unfolded.Parameters.Grads.ToArray()), "parameter gradients");
            Assert.That(folded.InputGrad(0)!.ToArray(), Is.EqualTo(unfolded.InputGrad(0)!.ToArray()), "input gradient");
            Assert.That(folded.Buffers.Values!.ToArray(), Is.EqualTo(unfolded.Buffers.Values!.ToArray()), "running statistics");
        }

        folded.Training = unfolded.Training = false;
        Assert.That(folded.Forward(input, target).Loss!.ToArray(), Is.EqualTo(unfolded.Forward(input, target).Loss!.ToArray()), "evaluation mode");
    }

    /// <summary>Training or inference forward and backward, folded (one op) or as batch norm then the relu op.</summary>
    private (float[] Y, float[] Dx, float[] DGamma, float[] DBeta, float[] RunningMean, float[] RunningVar) Run(Tensor x, Tensor dy, Tensor? gamma, Tensor? beta, bool training, bool folded)
    {
        int c = x.Shape[1];
        using var rm = Tensor.FromHost(Dev, HostMath.Random(c, 25), new Shape(c));
        using var rv = Tensor.FromHost(Dev, HostMath.Random(c, 26, 0.5f, 2f), new Shape(c));
        using var y = Tensor.Empty(Dev, x.Shape);
        using var z = Tensor.Empty(Dev, x.Shape);
        using var g = Tensor.Empty(Dev, x.Shape);
        using var dx = Tensor.Empty(Dev, x.Shape);
        using var mean = Tensor.Empty(Dev, new Shape(c));
        using var invStd = Tensor.Empty(Dev, new Shape(c));
        using var dgamma = Tensor.Empty(Dev, new Shape(c));
        using var dbeta = Tensor.Empty(Dev, new Shape(c));
        if (folded)
        {
            BatchNormOp.Forward(x, z, gamma, beta, rm, rv, mean, invStd, training, relu: true);
            BatchNormOp.Backward(x, dy, gamma, mean, invStd, dx, dgamma, dbeta, training, beta: beta, reluOutput: z);
        }
        else
        {
            BatchNormOp.Forward(x, y, gamma, beta, rm, rv, mean, invStd, training);
            Activations.Forward(ActivationSpec.Relu, y, z);
            Activations.Backward(ActivationSpec.Relu, y, z, dy, g);
            BatchNormOp.Backward(x, g, gamma, mean, invStd, dx, dgamma, dbeta, training);
        }

        return (z.ToArray(), dx.ToArray(), dgamma.ToArray(), dbeta.ToArray(), rm.ToArray(), rv.ToArray());
    }
}
