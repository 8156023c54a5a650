// The graph executor on Linear models: forward values, gradients (central differences), names, shapes, modes.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Nn;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Graph;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class ExecutorTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    [Test]
    public void Sequential_forward_matches_a_double_reference()
    {
        using var model = new Sequential(new Linear(5, 7), new Linear(7, 3, bias: false));
        using var net = model.Compile(Dev, [4, 5], options: new CompileOptions { Training = false });
        GraphTestUtil.Randomize(net.Parameters, 1);
        var x = HostMath.Random(20, 2);
        var y = net.Forward(x).Output.ToArray();
        var ps = net.Parameters;
        var h = GraphTestUtil.Linear(GraphTestUtil.ToDouble(x), 4, ps["0.weight"].Value.ToArray(), ps["0.bias"].Value.ToArray(), 5, 7);
        var want = GraphTestUtil.Linear(h, 4, ps["1.weight"].Value.ToArray(), null, 7, 3);
        Assert.That(net.Output.Shape, Is.EqualTo(new Shape(4, 3)));
        HostMath.AssertClose(y, want, 1e-5, 1e-4, "mlp output");
    }

    [Test]
    public void Linear_applies_to_the_last_dimension_of_a_3d_input()
    {
        using var model = new Sequential(new Linear(3, 2));
        using var net = model.Compile(Dev, [2, 4, 3]);
        GraphTestUtil.Randomize(net.Parameters, 5);
        net.Input.CopyFrom(HostMath.Random(24, 6));
        Assert.That(net.Forward().Output.Shape, Is.EqualTo(new Shape(2, 4, 2)));
        GraphTestUtil.AssertGradients(net);
    }

    [Test]
    public void Residual_and_shared_weights_pass_the_gradient_check()
    {
        var shared = new Linear(6, 6);
        using var g = new GraphModule();
        var x = g.Input();
        var a = g.Apply(g.Register("inp", new Linear(4, 6)), x);
        var b = g.Apply(shared, a);
        var c = g.Apply(shared, b);                  // the same weights twice
        var r = g.Apply(g.Register("res", new Residual(new Linear(6, 6), new Flatten())), g.Add(a, c));
        g.Output(g.Apply(g.Register("head", new Linear(6, 2)), r));
        using var net = g.Compile(Dev, [3, 4], options: new CompileOptions { InputGradients = true });
        Assert.That(net.Parameters.Select(p => p.Name), Is.EqualTo(new[]
        {
            "inp.weight", "inp.bias", "1.weight", "1.bias", "res.0.weight", "res.0.bias", "head.weight", "head.bias",
        }));
        GraphTestUtil.Randomize(net.Parameters, 3);
        net.Input.CopyFrom(HostMath.Random(12, 4));
        GraphTestUtil.AssertGradients(net);
        Assert.That(net.InputGrad(), Is.Not.Null);
    }

    [Test]
    public void A_tensor_feeding_several_consumers_sums_their_gradients()
    {
        // h feeds two Linear layers (which add into its gradient) and both inputs of one Add (a scratch gradient).
        using var g = new GraphModule();
        var x = g.Input();
        var h = g.Apply(new Linear(3, 5), x);
        var u = g.Apply(new Linear(5, 5), h);
        var v = g.Apply(new Linear(5, 5), h);
        var hh = g.Add(h, h);
        g.Output(g.Add(g.Add(u, v), hh), u);        // two outputs
        using var net = g.Compile(Dev, [2, 3]);
        Assert.That(net.Memory.Buffers.Count(b => b.Kind == BufferKind.PartialGradient), Is.EqualTo(1), net.Memory.ToString());
        GraphTestUtil.Randomize(net.Parameters, 8);
        net.Input.CopyFrom(HostMath.Random(6, 9));
        GraphTestUtil.AssertGradients(net);
    }

    [Test]
    public void Several_inputs_and_outputs()
    {
        using var g = new GraphModule();
        var a = g.Input("a");
        var b = g.Input("b");
        var ha = g.Apply(g.Register("fa", new Linear(3, 4)), a);
        var hb = g.Apply(g.Register("fb", new Linear(2, 4)), b);
        var s = g.Add(ha, hb);
        g.Output(g.Apply(g.Register("o1", new Linear(4, 1)), s), hb);
        using var net = g.Compile(Dev, new Shape[] { [5, 3], [5, 2] });
        Assert.That(net.Inputs.Select(t => t.Shape), Is.EqualTo(new[] { new Shape(5, 3), new Shape(5, 2) }));
        Assert.That(net.Outputs.Select(t => t.Shape), Is.EqualTo(new[] { new Shape(5, 1), new Shape(5, 4) }));
        GraphTestUtil.Randomize(net.Parameters, 10);
        net.Inputs[0].CopyFrom(HostMath.Random(15, 11));
        net.Inputs[1].CopyFrom(HostMath.Random(10, 12));
        GraphTestUtil.AssertGradients(net);
    }

    [Test]
    public void State_dict_names_follow_pytorch()
    {
        using var model = new Sequential(
            new Linear(2, 3),
            new Sequential(new Linear(3, 3), new Linear(3, 3, bias: false)),
            new Flatten(),
            new Residual(new Linear(3, 3), new Identity()));
        using var net = model.Compile(Dev, [1, 2], options: new CompileOptions { Training = false });
        Assert.That(net.Parameters.Select(p => p.Name), Is.EqualTo(new[]
        {
            "0.weight", "0.bias", "1.0.weight", "1.0.bias", "1.1.weight", "3.0.weight", "3.0.bias",
        }));
        Assert.That(net.Parameters["1.1.weight"].Shape, Is.EqualTo(new Shape(3, 3)));
    }

    [Test]
    public void A_shape_mismatch_names_the_layer_and_the_shapes()
    {
        using var model = new Sequential(new Linear(4, 8), new Sequential(new Flatten(), new Linear(9, 2)));
        var ex = Assert.Throws<ShapeMismatchException>(() => model.Compile(Dev, [2, 4]));
        Assert.That(ex!.Message, Does.Contain("Layer '1.1'").And.Contain("Linear(9, 2)").And.Contain("[2, 8]").And.Contain("in_features is 9"));
        Assert.That(ex.LayerName, Is.EqualTo("1.1"));
        var res = new Sequential(new Residual(new Linear(4, 3)));
        Assert.That(() => res.Compile(Dev, [2, 4]), Throws.InstanceOf<ShapeMismatchException>()
            .With.Message.Contain("Layer '0.add'").And.Message.Contain("[2, 4], [2, 3]"));
    }

    [Test]
    public void Frozen_layers_compute_no_gradients_and_nothing_below_the_lowest_trainable_layer_runs_backward()
    {
        using var model = new Sequential(new Linear(3, 4), new Linear(4, 4), new Linear(4, 2));
        model[0].Freeze();
        using var net = model.Compile(Dev, [2, 3]);
        GraphTestUtil.Randomize(net.Parameters, 4);
        net.Parameters.Grads.Fill(7f);
        net.Input.CopyFrom(HostMath.Random(6, 5));
        net.Forward();
        net.Backward(Seed(net));
        Assert.That(net.Parameters["0.weight"].RequiresGrad, Is.False);
        Assert.That(net.Parameters["0.weight"].Grad.ToArray(), Is.All.EqualTo(7f), "a frozen gradient is never written");
        Assert.That(net.Parameters["1.weight"].Grad.ToArray(), Has.Some.Not.EqualTo(7f));
        Assert.That(net.Memory.StepNames, Is.EqualTo(new[] { "fwd 0", "fwd 1", "fwd 2", "bwd 2", "bwd 1" }));
        var trainable = net.Parameters["1.weight"].Grad.ToArray();

        model.Unfreeze();
        using var full = model.Compile(Dev, [2, 3]);
        Assert.That(() => net.Backward(), Throws.InvalidOperationException.With.Message.Contain("unfrozen after compiling"));
        full.Input.CopyFrom(HostMath.Random(6, 5));
        full.Forward();
        full.Backward(Seed(full));
        Assert.That(full.Memory.StepNames, Has.Count.EqualTo(6));
        HostMath.AssertClose(full.Parameters["1.weight"].Grad.ToArray(), GraphTestUtil.ToDouble(trainable), 1e-6, 1e-5, "same gradient either way");
        Assert.That(full.Parameters["0.weight"].Grad.ToArray(), Has.Some.Not.EqualTo(7f));
    }

    [Test]
    public void Fine_tuning_a_frozen_body_with_a_trainable_head()
    {
        using var model = new Sequential(new Linear(3, 4), new Linear(4, 4), new Linear(4, 2));
        model.Freeze();
        model[2].Unfreeze();
        using var net = model.Compile(Dev, [2, 3]);
        Assert.That(net.Memory.StepNames.Where(s => s.StartsWith("bwd", StringComparison.Ordinal)), Is.EqualTo(new[] { "bwd 2" }));
        Assert.That(net.Memory.Buffers.Where(b => b.Kind == BufferKind.Gradient).Select(b => b.Label), Is.EqualTo(new[] { "grad 2" }),
            "only the output's (seeded) gradient: the head's input needs none");
        Assert.That(net.Summary(), Does.Contain("(frozen)").And.Contain("10 trainable"));
    }

    [Test]
    public void Accumulating_gradients_adds_backward_passes()
    {
        using var model = new Sequential(new Linear(3, 2));
        using var net = model.Compile(Dev, [2, 3], options: new CompileOptions { AccumulateGradients = true });
        GraphTestUtil.Randomize(net.Parameters, 6);
        net.Input.CopyFrom(HostMath.Random(6, 7));
        net.Parameters.ZeroGrads();
        using var seed = Seed(net);
        net.Forward();
        net.Backward(seed);
        var once = net.Parameters.Grads.ToArray();
        net.Forward();
        net.Backward(seed);
        HostMath.AssertClose(net.Parameters.Grads.ToArray(), once.Select(v => 2.0 * v).ToArray(), 1e-6, 1e-5, "two passes");
    }

    [Test]
    public void Modes_and_plans()
    {
        using var model = new Sequential(new Linear(3, 2));
        using var infer = model.Compile(Dev, [2, 3], options: new CompileOptions { Training = false });
        Assert.That(infer.Training, Is.False);
        Assert.That(() => infer.Training = true, Throws.InvalidOperationException);
        Assert.That(() => infer.Backward(), Throws.InvalidOperationException.With.Message.Contain("inference plan"));
        using var train = model.Compile(Dev, [2, 3]);
        Assert.That(train.Training, Is.True);
        train.Training = false;
        Assert.That(train.Training, Is.False);
        Assert.That(train.Parameters, Is.SameAs(infer.Parameters), "plans of one model share its parameters");
        Assert.That(() => train.Forward(Tensor.Zeros(Dev, [3, 3])), Throws.ArgumentException.With.Message.Contain("compiled for [2, 3]"));
        var last = train.ForBatchSize(1);
        Assert.That(last.Input.Shape, Is.EqualTo(new Shape(1, 3)));
        Assert.That(last.Parameters, Is.SameAs(train.Parameters));
        Assert.That(last.Training, Is.False, "the same mode");
        Assert.That(train.ForBatchSize(1), Is.SameAs(last));
        Assert.That(train.ForBatchSize(2), Is.SameAs(train));
        var x = HostMath.Random(6, 3);
        var full = train.Forward(x).Output.ToArray();
        HostMath.AssertClose(last.Forward(x.AsSpan(3, 3)).Output.ToArray(), GraphTestUtil.ToDouble(full[2..]), 1e-6, 1e-5, "row 2 alone");
    }

    [Test]
    public void A_layer_without_backward_fails_only_on_the_training_path()
    {
        using var model = new Sequential(new Linear(3, 3), new NoBackward(), new Linear(3, 2));
        Assert.That(() => model.Compile(Dev, [2, 3]), Throws.InvalidOperationException
            .With.Message.Contain("Layer '1' (NoBackward) has no backward"));
        using var infer = model.Compile(Dev, [2, 3], options: new CompileOptions { Training = false });
        model[0].Freeze();
        using var headOnly = model.Compile(Dev, [2, 3]);
        Assert.That(headOnly.Memory.StepNames.Last(), Is.EqualTo("bwd 2"));
    }

    [Test]
    public void Summary_lists_layers_shapes_parameters_and_flops()
    {
        using var model = new Sequential(new Linear(784, 128), new Flatten(), new Linear(128, 10));
        using var net = model.Compile(Dev, [32, 784], options: new CompileOptions { Training = false });
        var rows = net.SummaryRows();
        Assert.That(rows.Select(r => r.Parameters), Is.EqualTo(new long[] { (784 * 128) + 128, 0, (128 * 10) + 10 }));
        Assert.That(rows.Select(r => r.OutputShape), Is.EqualTo(new[] { new Shape(32, 128), new Shape(32, 128), new Shape(32, 10) }));
        Assert.That(rows[0].Flops, Is.EqualTo((2L * 32 * 784 * 128) + (32 * 128)));
        string text = net.Summary();
        Assert.That(text, Does.Contain("Linear(784, 128)").And.Contain("100,480").And.Contain("Parameters: 101,770"));
    }

    internal static Tensor Seed(CompiledModel net) =>
        Tensor.FromHost(net.Device, HostMath.Random((int)net.Output.Length, 99), net.Output.Shape);

    /// <summary>A layer with a forward and no backward (copies its input).</summary>
    private sealed class NoBackward : Layer
    {
        public override bool HasBackward => false;

        public override Shape[] InferShapes(IReadOnlyList<Shape> inputs) => [inputs[0]];

        public override void Forward(NodeContext context) => context.Output().CopyFrom(context.Input());
    }
}

/// <summary>Gradient accumulation with layers whose backward takes a single accumulate flag.</summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class AccumulationTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    [Test]
    public void A_uniform_layer_never_gets_mixed_flags_and_gradients_stay_right()
    {
        // The shared uniform layer's second use must add into its weight gradient while overwriting the
        // gradient of its input (h2's first contribution): the executor routes the weight through a partial.
        var shared = new UniformMatMul(4);
        using var g = new GraphModule();
        var x = g.Input();
        var h1 = g.Apply(new Linear(3, 4), x);
        var h2 = g.Apply(shared, h1);
        var h3 = g.Apply(shared, h2);
        g.Output(g.Add(h3, g.Apply(new Linear(4, 4), h2)));
        using var net = g.Compile(Dev, [2, 3]);
        Assert.That(net.Memory.Buffers.Where(b => b.Kind == BufferKind.PartialGradient).Select(b => b.Label),
            Is.EquivalentTo(new[] { "partial 1#2 in0", "partial 1 weight" }), net.Memory.ToString());
        GraphTestUtil.Randomize(net.Parameters, 21);
        GraphTestUtil.RandomInputs(net, 22);
        GraphTestUtil.AssertGradients(net);
    }

    /// <summary>y = x W^T with a square W, whose backward honors one accumulate flag for dx and dW together.</summary>
    private sealed class UniformMatMul : Layer
    {
        private readonly int n;

        public UniformMatMul(int n)
        {
            this.n = n;
            AddParameter("weight", new Shape(n, n), ParameterRole.Weight, ParamInit.Uniform(0.5));
        }

        public override GradientAccumulation Accumulation => GradientAccumulation.All | GradientAccumulation.Uniform;

        public override Shape[] InferShapes(IReadOnlyList<Shape> inputs) => [inputs[0]];

        public override void Plan(LayerPlan plan) => plan.KeepInput();

        public override void Forward(NodeContext c) => Engine.Ops.GemmOp.Run(c.Input(), c.Param(0), c.Output(), transB: true);

        public override void Backward(NodeContext c)
        {
            var flags = new List<bool>();
            if (c.InputGrad() is not null)
            {
                flags.Add(c.AccumulateInputGrad());
            }

            if (c.ParamGrad(0) is not null)
            {
                flags.Add(c.AccumulateParamGrad(0));
            }

            if (flags.Distinct().Count() > 1)
            {
                throw new InvalidOperationException($"{c.Name}: mixed accumulate flags");
            }

            if (c.ParamGrad(0) is { } dw)
            {
                Engine.Ops.GemmOp.Run(c.OutputGrad(), c.Input(), dw, transA: true, beta: c.AccumulateParamGrad(0) ? 1f : 0f);
            }

            if (c.InputGrad() is { } dx)
            {
                Engine.Ops.GemmOp.Run(c.OutputGrad(), c.Param(0), dx, beta: c.AccumulateInputGrad() ? 1f : 0f);
            }
        }
    }
}
