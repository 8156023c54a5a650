// Forward mode (CompileOptions.Tangents) beyond the PyTorch fixtures (Fixtures/jvp.json): through every layer type in
// one graph it agrees with reverse mode (v . J u computed both ways) and with central differences; a full Jacobian
// takes one forward pass per input instead of one backward pass per output; bad use fails with clear errors.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Engine.Conformance;
using Engine.Nn;
using Conv2dOptions = Engine.Ops.Conv2dOptions;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Graph;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class JvpTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    /// <summary>
    /// Every layer type of the engine in one graph (two branches joined by Concat and Add), on (2, 3, 7, 6) inputs:
    /// conv, batch norm (2-D with and without affine, 1-D), max/avg/lp/global average/global max pooling, dropout,
    /// identity, transposed conv, broadcasting multiply/divide/subtract, unflatten, layer norm (with and without affine),
    /// flatten, linear, maxout and softmax-type activations. (Conv1d and median pooling: Fixtures/jvp.json.)
    /// </summary>
    private static GraphModule EveryLayer()
    {
        var m = new GraphModule();
        var x = m.Input();
        var a = m.Apply(new BatchNorm2d(4), m.Apply(new Conv2d(3, 4, 3, padding: 1), x));
        var left = m.Apply(new MaxPool2d(2), m.Apply(new Relu(), a));                         // (2, 4, 3, 3)
        var right = m.Apply(new AvgPool2d(3, 2, 1), m.Apply(new Gelu(), a));                   // (2, 4, 4, 3)
        right = m.Apply(new Conv2d(4, 4, (2, 1), new Conv2dOptions { Groups = 2 }), right);    // (2, 4, 3, 3)
        var c = m.Apply(new Identity(), m.Apply(new Dropout(0.3f), m.Concat(1, left, right))); // (2, 8, 3, 3)
        c = m.Apply(new BatchNorm2d(8, affine: false), c);
        var up = m.Apply(new Sigmoid(), m.Apply(new ConvTranspose2d(8, 4, 2, stride: 2), c));  // (2, 4, 6, 6)
        var lp = m.Apply(new LPPool2d(2, 2), up);                                              // (2, 4, 3, 3)
        var gate = m.Apply(new Unflatten(1, 4, 1, 1), m.Apply(new Sigmoid(), m.Apply(new GlobalMaxPool(), lp)));   // (2, 4, 1, 1)
        lp = m.Subtract(m.Divide(m.Multiply(lp, gate), m.Apply(new Softplus(), gate)), gate);  // broadcasting binary ops
        var b = m.Apply(new LayerNorm(new Shape(4, 3, 3)), lp);
        var g = m.Apply(new GlobalAvgPool(), b);                                               // (2, 4)
        var f = m.Apply(new Linear(36, 4), m.Apply(new Flatten(), m.Apply(new LayerNorm(new Shape(3), elementwiseAffine: false), b)));
        var s = m.Apply(new BatchNorm1d(4), m.Add(g, f));
        var o = m.Apply(new Maxout(2), m.Apply(new Linear(4, 6), m.Apply(new Tanh(), s)));   // (2, 3)
        m.Output(m.Apply(new LogSoftmax(), m.Apply(new Linear(3, 5), m.Apply(new Softmax(), o))));
        return m;
    }

    [Test]
    public void Forward_mode_agrees_with_reverse_mode_through_every_layer()
    {
        using var model = EveryLayer();
        using var net = model.Compile(Dev, [2, 3, 7, 6], options: new CompileOptions { Tangents = true, ParameterTangents = true, InputGradients = true, Seed = 5 });
        Assert.That(net.IsTangentPlan, Is.True);
        GraphTestUtil.Randomize(net.Parameters, 140, 0.6f);
        GraphTestUtil.RandomInputs(net, 141);
        var u = HostMath.Random((int)net.Input.Length, 142);
        var tp = HostMath.Random((int)net.Parameters.TotalLength, 143);
        var v = HostMath.Random((int)net.Output.Length, 144);
        net.InputTangent().CopyFrom(u);
        net.Parameters.Tangents.CopyFrom(tp);

        // Forward mode: J (u, tp). Reverse mode on the same pass (same batch statistics and dropout mask): J^T v.
        net.StepCount = 3;
        net.Forward();
        double forward = Dot(v, net.OutputTangent().ToArray());
        using var vt = Tensor.FromHost(Dev, v, net.Output.Shape);
        net.Backward(vt);
        double reverse = Dot(u, net.InputGrad()!.ToArray()) + Dot(tp, net.Parameters.Grads.ToArray());
        Assert.That(forward, Is.EqualTo(reverse).Within(1e-4 + (1e-3 * Math.Abs(reverse))), $"v.Ju = {forward}, (J^T v).u = {reverse}");
        Assert.That(Math.Abs(forward), Is.GreaterThan(1e-3), "a vanishing product would prove nothing");
    }

    [Test]
    public void Gated_attention_block_jvp_matches_pytorch()
    {
        // Multiply, broadcast multiply and divide, subtract and unflatten against torch.autograd.forward_ad.
        string file = Path.Combine(AppContext.BaseDirectory, "Fixtures", "graphs", "gated_block_jvp.json");
        var root = (JsonObject)JsonNode.Parse(File.ReadAllText(file))!;
        var c = ConformanceCase.Parse((JsonObject)((JsonArray)root["cases"]!)[0]!);
        var xh = c.Input("x");
        using var model = GraphBinaryTests.GatedBlock(3, 5, 4, 6, 3);
        using var net = model.Compile(Dev, xh.ToShape(), options: new CompileOptions { Tangents = true, ParameterTangents = true, Training = false });
        foreach (var p in net.Parameters)
        {
            p.Value.CopyFrom(c.Input(p.Name).ToFloat());
            net.ParameterTangent(p.Name).CopyFrom(c.Input("tangent." + p.Name).ToFloat());
        }

        net.InputTangent().CopyFrom(c.Input("dx").ToFloat());
        net.Input.CopyFrom(xh.ToFloat());
        net.Forward();
        HostMath.AssertClose(net.Output.ToArray(), c.Outputs["output"].Data, 1e-4, 1e-3, "output");
        HostMath.AssertClose(net.OutputTangent().ToArray(), c.Outputs["jvp"].Data, 1e-4, 1e-3, "jvp");
    }

    [Test]
    public void Forward_mode_agrees_with_central_differences()
    {
        // Smooth layers only: at a kink (ReLU, max) a central difference averages two slopes.
        using var model = new Sequential(
            new Conv2d(2, 3, 3, stride: 2, padding: 1, dilation: 2), new BatchNorm2d(3), new Gelu(), new LPPool2d(2, 2, 1),
            new ConvTranspose2d(3, 2, 3, stride: 2, padding: 1, outputPadding: 1), new Tanh(), new LayerNorm(new Shape(2, 4, 6)),
            new Flatten(), new Linear(48, 5), new Softmax());
        using var net = model.Compile(Dev, [3, 2, 7, 9], options: new CompileOptions { Tangents = true, ParameterTangents = true, Training = false });
        GraphTestUtil.Randomize(net.Parameters, 150, 0.7f);
        net.Buffers.Values!.CopyFrom(Enumerable.Range(0, (int)net.Buffers.Values.Length).Select(i => i % 6 < 3 ? 0.1f * (i % 3) : 0.8f + (0.2f * (i % 3))).ToArray());
        var x = HostMath.Random((int)net.Input.Length, 151);
        var p = net.Parameters.Values.ToArray();
        var u = HostMath.Random(x.Length, 152);
        var tp = HostMath.Random(p.Length, 153);
        net.InputTangent().CopyFrom(u);
        net.Parameters.Tangents.CopyFrom(tp);
        net.Input.CopyFrom(x);
        net.Forward();
        var jvp = net.OutputTangent().ToArray();

        const double h = 1e-3;
        double[] At(double sign)
        {
            net.Input.CopyFrom(x.Select((xi, i) => (float)(xi + (sign * h * u[i]))).ToArray());
            net.Parameters.Values.CopyFrom(p.Select((pi, i) => (float)(pi + (sign * h * tp[i]))).ToArray());
            net.Forward();
            return GradCheck.ToDouble(net.Output.ToArray());
        }

        var up = At(1);
        var down = At(-1);
        var numeric = up.Select((yu, i) => (yu - down[i]) / (2 * h)).ToArray();
        HostMath.AssertClose(jvp, numeric, 2e-3, 2e-2, "J (u, tp) vs central differences");
        Assert.That(numeric.Max(Math.Abs), Is.GreaterThan(1e-2), "a vanishing derivative would prove nothing");
    }

    [Test]
    public void A_full_jacobian_takes_one_forward_pass_per_input_or_one_backward_pass_per_output()
    {
        // Few inputs, many outputs: forward mode needs 3 passes where reverse mode needs 40 (docs/graph.md).
        const int inputs = 3, outputs = 40;
        using var model = new Sequential(new Linear(inputs, 16), new Tanh(), new Linear(16, outputs), new Sigmoid());
        using var fwd = model.Compile(Dev, [1, inputs], options: new CompileOptions { Tangents = true, Training = false });
        using var rev = model.Compile(Dev, [1, inputs], options: new CompileOptions { InputGradients = true });
        GraphTestUtil.Randomize(fwd.Parameters, 160, 0.9f);
        var x = HostMath.Random(inputs, 161);
        using var xt = Tensor.FromHost(Dev, x, fwd.Input.Shape);
        var byColumns = new float[outputs, inputs];
        for (int j = 0; j < inputs; j++)
        {
            var e = new float[inputs];
            e[j] = 1f;
            using var et = Tensor.FromHost(Dev, e, fwd.Input.Shape);
            var column = fwd.Jvp(xt, et).ToArray();
            for (int i = 0; i < outputs; i++)
            {
                byColumns[i, j] = column[i];
            }
        }

        rev.Input.CopyFrom(x);
        rev.Forward();
        for (int i = 0; i < outputs; i++)
        {
            var e = new float[outputs];
            e[i] = 1f;
            using var et = Tensor.FromHost(Dev, e, rev.Output.Shape);
            rev.Backward(et);
            var row = GradCheck.ToDouble(rev.InputGrad()!.ToArray());
            HostMath.AssertClose(Enumerable.Range(0, inputs).Select(j => byColumns[i, j]).ToArray(), row, 1e-5, 1e-4, $"Jacobian row {i}");
        }
    }

    [Test]
    public void A_layer_without_a_tangent_rule_is_named_at_compile_time()
    {
        using var model = new Sequential(new Linear(3, 4), new NoTangent(), new Relu());
        Assert.That(() => model.Compile(Dev, [2, 3], options: new CompileOptions { Tangents = true }),
            Throws.InvalidOperationException.With.Message.Contain("'1'").And.Message.Contain("no-tangent").And.Message.Contain("no tangent rule"));
        using var plain = model.Compile(Dev, [2, 3], options: new CompileOptions { Training = false });
        Assert.That(plain.IsTangentPlan, Is.False);
    }

    [Test]
    public void Bad_forward_mode_requests_fail_clearly()
    {
        using var model = new Sequential(new Linear(3, 4), new Tanh());
        Assert.That(() => model.Compile(Dev, [2, 3], Loss.Mse(), new CompileOptions { Tangents = true }),
            Throws.ArgumentException.With.Message.Contain("takes no loss"));
        Assert.That(() => model.Compile(Dev, [2, 3], options: new CompileOptions { ParameterTangents = true }),
            Throws.ArgumentException.With.Message.Contain("needs Tangents = true"));
        using (var plain = model.Compile(Dev, [2, 3]))
        {
            Assert.That(() => plain.InputTangent(), Throws.InvalidOperationException.With.Message.Contain("not a forward-mode plan"));
            Assert.That(() => plain.OutputTangent(), Throws.InvalidOperationException.With.Message.Contain("CompileOptions.Tangents"));
        }

        using var net = model.Compile(Dev, [2, 3], options: new CompileOptions { Tangents = true });
        Assert.That(() => net.ParameterTangent("0.weight"), Throws.InvalidOperationException.With.Message.Contain("ParameterTangents"));
        using var x = Tensor.Zeros(Dev, new Shape(2, 3));
        using var wrong = Tensor.Zeros(Dev, new Shape(3, 2));
        Assert.That(() => net.Jvp(x, wrong), Throws.ArgumentException.With.Message.Contain("inputTangent").And.Message.Contain("[3, 2]"));
        Assert.That(net.TangentMemory, Is.Not.Null);
        Assert.That(net.TangentMemory!.Buffers, Has.Some.Matches<PlannedBuffer>(b => b.Kind == BufferKind.Tangent));
    }

    [Test]
    public void Parameter_tangents_alone_give_the_derivative_along_the_weights()
    {
        // y = x W^T + b: along (dW, db) with dx = 0 the tangent is x dW^T + db.
        using var model = new Sequential(new Linear(3, 2));
        using var net = model.Compile(Dev, [2, 3], options: new CompileOptions { Tangents = true, ParameterTangents = true, Training = false });
        net.Parameters["0.weight"].Value.CopyFrom([1, 2, 3, 4, 5, 6]);
        net.ParameterTangent("0.weight").CopyFrom([1, 0, 0, 0, 0, 2]);
        net.ParameterTangent("0.bias").CopyFrom([0.5f, -1]);
        using var x = Tensor.FromHost(Dev, new float[] { 1, 2, 3, 4, 5, 6 }, new Shape(2, 3));
        using var zero = Tensor.Zeros(Dev, new Shape(2, 3));
        var t = net.Jvp(x, zero).ToArray();
        Assert.That(t, Is.EqualTo(new[] { 1.5f, 5f, 4.5f, 11f }));
    }

    private static double Dot(float[] a, float[] b) => a.Select((ai, i) => (double)ai * b[i]).Sum();

    /// <summary>An identity layer with no tangent rule.</summary>
    private sealed class NoTangent : Layer
    {
        public override string Describe() => "no-tangent";

        public override Shape[] InferShapes(IReadOnlyList<Shape> inputs) => [inputs[0]];

        public override void Forward(NodeContext context) => context.Output().CopyFrom(context.Input());
    }
}

/// <summary>On the CPU host path a warm forward-mode pass allocates no managed or device memory.</summary>
public sealed class JvpAllocationTests
{
    [Test]
    public void A_warm_forward_mode_pass_allocates_nothing()
    {
        var dev = TestDevices.Get(new DeviceConfig("cpu-host", DeviceKind.Cpu, ForceKernels: false));
        using var model = new Sequential(
            new Conv2d(1, 3, 3), new BatchNorm2d(3), new Relu(), new MaxPool2d(2), new LPPool2d(2, 1), new LayerNorm(new Shape(2, 2)),
            new Dropout(0.2f), new Flatten(), new Linear(12, 6), new Maxout(2), new LogSoftmax());
        using var net = model.Compile(dev, [2, 1, 6, 6], options: new CompileOptions { Tangents = true, ParameterTangents = true });
        GraphTestUtil.RandomInputs(net, 170);
        net.InputTangent().CopyFrom(HostMath.Random(72, 171));
        net.Parameters.Tangents.CopyFrom(HostMath.Random((int)net.Parameters.TotalLength, 172));

        // Warm up past tiered JIT compilation (its call counting and rewrites allocate).
        for (int i = 0; i < 60; i++)
        {
            net.Forward();
        }

        dev.Synchronize();
        var stats = dev.Allocator.Stats;
        long total = GC.GetTotalAllocatedBytes(precise: true);
        long thread = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++)
        {
            net.Forward();
        }

        dev.Synchronize();
        long threadDelta = GC.GetAllocatedBytesForCurrentThread() - thread;
        long totalDelta = GC.GetTotalAllocatedBytes(precise: true) - total;
        Assert.That(threadDelta, Is.Zero, "bytes allocated on the stepping thread");
        Assert.That(totalDelta, Is.Zero, "bytes allocated by any thread");
        Assert.That(dev.Allocator.Stats.DeviceAllocations, Is.EqualTo(stats.DeviceAllocations));
        Assert.That(net.OutputTangent().ToArray().All(float.IsFinite), Is.True);
    }
}
