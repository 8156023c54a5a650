// Initializers chosen per layer and per model at compile time: each rule on linear, convolution and transposed
// convolution weights against torch.nn.init's fans, gains, bounds and stds (Fixtures/init, scripts/fixtures/init.py),
// model-wide rules (explicit layer rules win, ByActivation reads the next layer), bad rules, and class weights.
using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Engine.Nn;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Graph;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class InitRuleTests(DeviceConfig config)
{
    private Device Dev => TestDevices.Get(config);

    private static JsonNode Fixture => JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "init", "init_rules.json")))!["cases"]![0]!;

    private static ParamInit Rule(JsonNode r) => (string)r["rule"]! switch
    {
        "xavier_uniform" => Init.XavierUniform((double)r["gain"]!),
        "xavier_normal" => Init.XavierNormal((double)r["gain"]!),
        "kaiming_uniform" => Init.KaimingUniform((string)r["nonlinearity"]!, (double)r["a"]!, Mode(r)),
        "kaiming_normal" => Init.KaimingNormal((string)r["nonlinearity"]!, (double)r["a"]!, Mode(r)),
        "torch_default" => Init.TorchDefault(),
        var other => throw new FormatException(other),
    };

    private static FanMode Mode(JsonNode r) => (string)r["mode"]! == "fan_in" ? FanMode.FanIn : FanMode.FanOut;

    /// <summary>The engine's layer for a fixture layer object with <paramref name="init"/> on its weight, and an input shape it accepts.</summary>
    private static (Layer Layer, Shape Input) Build(JsonNode l, ParamInit? init)
    {
        int I(string k) => (int)l[k]!;
        (int, int) K() => ((int)l["kernel"]![0]!, (int)l["kernel"]![1]!);
        return (string)l["type"]! switch
        {
            "linear" => (new Linear(I("in_features"), I("out_features"), init: init), new Shape(1, I("in_features"))),
            "conv2d" => (new Conv2d(I("in_channels"), I("out_channels"), K(), new Engine.Ops.Conv2dOptions { Groups = I("groups") }, init: init),
                new Shape(1, I("in_channels"), 6, 5)),
            "conv_transpose2d" => (new ConvTranspose2d(I("in_channels"), I("out_channels"), K(), new Engine.Ops.ConvTranspose2dOptions { Groups = I("groups") }, init: init),
                new Shape(1, I("in_channels"), 3, 4)),
            var other => throw new FormatException(other),
        };
    }

    private static (double Mean, double Std, double MaxAbs) Stats(float[] v)
    {
        double mean = v.Average(x => (double)x);
        return (mean, Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / v.Length), v.Max(x => Math.Abs((double)x)));
    }

    [Test]
    public void Every_rule_on_linear_and_convolution_weights_matches_torch_fans_bounds_and_std()
    {
        int seed = 0;
        foreach (var l in Fixture["layers"]!.AsArray())
        {
            var shape = new Shape(l!["weight_shape"]!.AsArray().Select(d => (int)d!).ToArray());
            Assert.That(Init.Fans(shape), Is.EqualTo(((long)l["fan_in"]!, (long)l["fan_out"]!)), $"{l["layer"]!.ToJsonString()}: torch's fans");
            foreach (var r in l["rules"]!.AsArray())
            {
                var (layer, input) = Build(l["layer"]!, Rule(r!));
                using var model = new Sequential(layer);
                using var net = model.Compile(Dev, input, options: new CompileOptions { Training = false, Seed = ++seed });
                var w = net.Parameters["0.weight"];
                string what = $"{l["layer"]!.ToJsonString()} {r!.ToJsonString()}";
                Assert.That(w.Shape, Is.EqualTo(shape), what + ": the weight has torch's shape");
                var (mean, std, max) = Stats(w.Value.ToArray());
                int n = (int)shape.Length;
                if (r["bound"] is { } b)
                {
                    double bound = (double)b;
                    Assert.That(max, Is.LessThanOrEqualTo(bound * (1 + 1e-6)).And.GreaterThan(0.99 * bound), what + ": bound");
                    Assert.That(std, Is.EqualTo(bound / Math.Sqrt(3)).Within(0.03 * bound / Math.Sqrt(3)), what + ": std of the uniform");
                    Assert.That(mean, Is.EqualTo(0).Within(5 * bound / Math.Sqrt(3 * n)), what + ": mean");
                }
                else
                {
                    double want = (double)r["std"]!;
                    Assert.That(std, Is.EqualTo(want).Within(0.04 * want), what + ": std");
                    Assert.That(mean, Is.EqualTo(0).Within(5 * want / Math.Sqrt(n)), what + ": mean");
                }

                var bias = net.Parameters["0.bias"].Value.ToArray();
                double torchBias = 1 / Math.Sqrt((long)l["fan_in"]!);
                Assert.That(bias.Max(x => Math.Abs(x)), Is.LessThanOrEqualTo(torchBias), what + ": the bias keeps PyTorch's default");
            }
        }
    }

    [Test]
    public void Gains_are_torchs_calculate_gain()
    {
        foreach (var g in Fixture["gains"]!.AsArray())
        {
            var nl = Init.ParseNonlinearity((string)g!["nonlinearity"]!);
            double got = g["param"] is { } p ? Init.Gain(nl, (double)p) : Init.Gain(nl);
            Assert.That(got, Is.EqualTo((double)g["gain"]!).Within(1e-12), g.ToJsonString());
        }

        Assert.That(() => Init.ParseNonlinearity("gelu"), Throws.ArgumentException.With.Message.Contain("unknown nonlinearity 'gelu'"));
    }

    [Test]
    public void A_model_wide_rule_fills_every_weight_and_bias_but_an_explicit_layer_rule_wins()
    {
        using var model = new Sequential(new Linear(300, 200), new Relu(), new Linear(200, 100, init: Init.Normal(3, 0.5)), new Linear(100, 10));
        using var net = model.Compile(Dev, new Shape(2, 300), options: new CompileOptions
        {
            Training = false,
            Init = Init.Rule(weights: Init.XavierUniform(), biases: Init.Constant(0.25)),
        });
        double xavier0 = Math.Sqrt(6.0 / (300 + 200)), xavier3 = Math.Sqrt(6.0 / (100 + 10));
        var s0 = Stats(net.Parameters["0.weight"].Value.ToArray());
        Assert.That(s0.MaxAbs, Is.LessThanOrEqualTo(xavier0).And.GreaterThan(0.99 * xavier0), "0.weight: xavier_uniform");
        Assert.That(net.Parameters["0.bias"].Value.ToArray(), Is.All.EqualTo(0.25f), "0.bias: the rule's constant");
        var s2 = Stats(net.Parameters["2.weight"].Value.ToArray());
        Assert.That(s2.Mean, Is.EqualTo(3).Within(0.02), "2.weight keeps its explicit normal(3, 0.5)");
        Assert.That(s2.Std, Is.EqualTo(0.5).Within(0.02));
        Assert.That(net.Parameters["2.bias"].Value.ToArray(), Is.All.EqualTo(0.25f), "2.bias had no explicit rule");
        Assert.That(Stats(net.Parameters["3.weight"].Value.ToArray()).MaxAbs, Is.LessThanOrEqualTo(xavier3).And.GreaterThan(0.95 * xavier3));
    }

    [Test]
    public void By_activation_picks_kaiming_before_relu_and_xavier_with_the_gain_before_tanh()
    {
        using var model = new Sequential(new Linear(400, 300), new Relu(), new Linear(300, 200), new LeakyRelu(0.2f),
            new Linear(200, 100), new Tanh(), new Linear(100, 50));
        using var net = model.Compile(Dev, new Shape(2, 400), options: new CompileOptions { Training = false, Init = Init.ByActivation() });
        double Std(string name) => Stats(net.Parameters[name].Value.ToArray()).Std;
        Assert.That(Std("0.weight"), Is.EqualTo(Math.Sqrt(2.0 / 400)).Within(0.03 * Math.Sqrt(2.0 / 400)), "kaiming_normal(relu), fan_in 400");
        double leaky = Math.Sqrt(2.0 / (1 + (0.2 * 0.2))) / Math.Sqrt(300);
        Assert.That(Std("2.weight"), Is.EqualTo(leaky).Within(0.03 * leaky), "kaiming_normal(leaky_relu 0.2)");
        double tanh = 5.0 / 3 * Math.Sqrt(2.0 / (200 + 100));
        Assert.That(Std("4.weight"), Is.EqualTo(tanh).Within(0.04 * tanh), "xavier_normal(gain 5/3) before tanh");
        double last = Math.Sqrt(2.0 / (100 + 50));
        Assert.That(Std("6.weight"), Is.EqualTo(last).Within(0.06 * last), "xavier_normal(gain 1) for the output layer");
        foreach (var b in new[] { "0.bias", "2.bias", "4.bias", "6.bias" })
        {
            Assert.That(net.Parameters[b].Value.ToArray(), Is.All.EqualTo(0f), b);
        }
    }

    [Test]
    public void The_same_seed_gives_the_same_weights_and_another_seed_others()
    {
        float[] Draw(int seed)
        {
            using var model = new Sequential(new Linear(20, 30, init: Init.KaimingNormal("relu")));
            using var net = model.Compile(Dev, new Shape(1, 20), options: new CompileOptions { Training = false, Seed = seed });
            return net.Parameters["0.weight"].Value.ToArray();
        }

        var first = Draw(7);
        Assert.That(Draw(7), Is.EqualTo(first));
        Assert.That(Draw(8), Is.Not.EqualTo(first));
    }

    [Test]
    public void A_fan_rule_on_a_vector_fails_naming_the_parameter()
    {
        Assert.That(() => new Linear(4, 3, biasInit: Init.XavierUniform()),
            Throws.ArgumentException.With.Message.Contain("bias [3]").And.Message.Contain("fan in and fan out"));
        using var model = new Sequential(new Linear(4, 3));
        Assert.That(() => model.Compile(Dev, new Shape(1, 4), options: new CompileOptions { Init = _ => Init.KaimingNormal() }),
            Throws.ArgumentException.With.Message.Contain("0.bias [3]"));
        Assert.That(() => Init.Normal(0, -1), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }
}
