// The sequential conformance handler rejects what it does not understand: unknown layer types and settings,
// missing or extra parameter inputs, mismatched shapes; and it runs a hand-written case correctly.
using System.Text.Json.Nodes;
using Engine.Conformance;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Graph;

public sealed class SequentialCaseTests
{
    private static Device Dev => TestDevices.Get(new DeviceConfig("cpu-host", DeviceKind.Cpu, false));

    // y = relu(x W^T + b), W = [[1, -1]], b = [0.5]: rows give relu(-0.5) = 0 and relu(2.5) = 2.5; summed squared
    // error against [0, 1] is 2.25; dL/dy = [0, 3]; dW = 3 * [3, 1]; db = 3.
    private const string Template = """
        {"op": "sequential", "label": "t",
         "params": {"layers": [LAYERS], "loss": {"op": "mse", "reduction": "sum"}, "training": true},
         "inputs": {"x": {"shape": [2, 2], "data": [1, 2, 3, 1]}, "target": {"shape": [2, 1], "data": [0, 1]},
                    INPUTS},
         "outputs": {"loss": {"shape": [1], "data": [2.25]}, "output": {"shape": [2, 1], "data": [0, 2.5]},
                     "grad.0.weight": {"shape": [1, 2], "data": [9, 3]}, "grad.0.bias": {"shape": [1], "data": [3]}}}
        """;

    private const string Linear = """{"type": "linear", "in_features": 2, "out_features": 1}""";

    private const string Params = """
        "0.weight": {"shape": [1, 2], "data": [1, -1]}, "0.bias": {"shape": [1], "data": [0.5]}
        """;

    private static CaseResult Run(string layers, string inputs) => ConformanceRunner.RunCase(Dev,
        ConformanceCase.Parse((JsonObject)JsonNode.Parse(Template.Replace("LAYERS", layers).Replace("INPUTS", inputs))!));

    [Test]
    public void A_hand_computed_case_passes()
    {
        var r = Run(Linear + """, {"type": "relu"}""", Params);
        Assert.That(r.Passed, Is.True, r.ToString());
    }

    [Test]
    public void Unknown_layers_settings_and_inputs_fail_with_their_names()
    {
        Assert.That(Run("""{"type": "teleport"}""", Params).Message, Does.Contain("unknown type 'teleport'"));
        Assert.That(Run("""{"type": "linear", "in_features": 2, "out_features": 1, "fancy": 3}""", Params).Message,
            Does.Contain("unknown setting(s) fancy"));
        Assert.That(Run("""{"type": "leaky_relu", "slope": 3}""", Params).Message, Does.Contain("slope"));
        Assert.That(Run(Linear, """ "0.weight": {"shape": [1, 2], "data": [1, -1]} """).Message,
            Does.Contain("'0.bias'"));
        Assert.That(Run(Linear, Params + """, "3.weight": {"shape": [1], "data": [1]} """).Message,
            Does.Contain("3.weight").And.Contain("name no parameter"));
        Assert.That(Run(Linear, """ "0.weight": {"shape": [2, 1], "data": [1, -1]}, "0.bias": {"shape": [1], "data": [0.5]} """).Message,
            Does.Contain("'0.weight' has shape [2, 1]"));
        Assert.That(Run("""{"type": "linear", "in_features": 3, "out_features": 1}""", Params).Message,
            Does.Contain("Layer '0' (Linear(3, 1))"));
    }
}
