// The runner itself: unknown ops and params fail, wrong values fail, and the shared example file passes where supported.
using System.Collections.Generic;
using System.IO;
using System.Text.Json.Nodes;
using Engine.Conformance;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Conformance;

public sealed class RunnerTests
{
    private static Device Dev => TestDevices.Get(new DeviceConfig("cpu-host", DeviceKind.Cpu, false));

    private static ConformanceCase Case(string json) => ConformanceCase.Parse((JsonObject)JsonNode.Parse(json)!);

    private const string GemmCase = """
        {"op": "gemm", "label": "t", "params": PARAMS,
         "inputs": {"a": {"shape": [1, 2], "data": [1, 2]}, "b": {"shape": [2, 1], "data": [3, 4]}},
         "outputs": {"y": {"shape": [1, 1], "data": [WANT]}}}
        """;

    [Test]
    public void Correct_case_passes()
    {
        var r = ConformanceRunner.RunCase(Dev, Case(GemmCase.Replace("PARAMS", "{}").Replace("WANT", "11")));
        Assert.That(r.Passed, Is.True, r.ToString());
    }

    [Test]
    public void Wrong_expected_value_fails_with_the_element()
    {
        var r = ConformanceRunner.RunCase(Dev, Case(GemmCase.Replace("PARAMS", "{}").Replace("WANT", "11.1")));
        Assert.That(r.Passed, Is.False);
        Assert.That(r.Message, Does.Contain("y[0] = 11"));
        Assert.That(r.WorstAbs, Is.EqualTo(0.1).Within(1e-5));
    }

    [Test]
    public void Unknown_param_fails()
    {
        var r = ConformanceRunner.RunCase(Dev, Case(GemmCase.Replace("PARAMS", "{\"fancy\": 1}").Replace("WANT", "11")));
        Assert.That(r.Passed, Is.False);
        Assert.That(r.Message, Does.Contain("unknown param").And.Contain("fancy"));
    }

    [Test]
    public void Unknown_op_fails()
    {
        var r = ConformanceRunner.RunCase(Dev, Case(GemmCase.Replace("\"gemm\"", "\"teleport\"").Replace("PARAMS", "{}").Replace("WANT", "11")));
        Assert.That(r.Passed, Is.False);
        Assert.That(r.Message, Does.Contain("unknown op 'teleport'"));
    }

    [Test]
    public void Malformed_tensor_is_a_format_error()
    {
        Assert.That(() => Case("""{"op": "gemm", "inputs": {"a": {"shape": [2], "data": [1]}}}"""), Throws.InstanceOf<System.FormatException>().With.Message.Contain("'a'"));
    }
}
