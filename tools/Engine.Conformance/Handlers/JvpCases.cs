// Conformance handler for `jvp` cases: a layer list run in forward mode (CompileOptions.Tangents), its output and
// the Jacobian-vector product along the input's tangent and the parameters' tangents, compared with
// torch.autograd.forward_ad.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using Engine.Nn;

namespace Engine.Conformance.Handlers;

/// <summary>
/// Runs <c>jvp</c> cases: inputs <c>x</c>, <c>dx</c> (x's tangent), every parameter (and batch-norm buffer) by state-dict
/// name and optional <c>tangent.NAME</c> per parameter (absent: zero); params <c>layers</c> as in <c>sequential</c>, and
/// optional <c>training</c> (default false: evaluation mode). Outputs <c>output</c> and <c>jvp</c>.
/// </summary>
public sealed class JvpCases : IConformanceHandler
{
    private const string TangentPrefix = "tangent.";

    /// <inheritdoc />
    public IReadOnlyCollection<string> Ops { get; } = ["jvp"];

    /// <inheritdoc />
    public IReadOnlyDictionary<string, HostTensor> Run(Device device, ConformanceCase testCase)
    {
        ArgumentNullException.ThrowIfNull(testCase);
        var p = testCase.Params;
        var layers = p.Node("layers") as JsonArray ?? throw new FormatException("param 'layers' must be a list of layer objects");
        bool training = p.Bool("training", false);
        using var model = new Sequential(LayerFactory.Build(layers, string.Empty).ToArray());
        var x = testCase.Input("x");
        var dx = testCase.Input("dx");
        if (!dx.Shape.SequenceEqual(x.Shape))
        {
            throw new FormatException($"dx has shape [{string.Join(", ", dx.Shape)}] but x has [{string.Join(", ", x.Shape)}]");
        }

        bool paramTangents = testCase.Inputs.Keys.Any(k => k.StartsWith(TangentPrefix, StringComparison.Ordinal));
        using var net = model.Compile(device, x.ToShape(), options: new CompileOptions { Training = training, Tangents = true, ParameterTangents = paramTangents });
        net.Training = training;
        var used = new HashSet<string>(StringComparer.Ordinal) { "x", "dx" };
        if (net.HasParameters)
        {
            foreach (var prm in net.Parameters)
            {
                ModelCase.Copy(testCase, prm.Name, prm.Value);
                used.Add(prm.Name);
                if (paramTangents)
                {
                    var t = net.ParameterTangent(prm.Name);
                    if (testCase.Inputs.ContainsKey(TangentPrefix + prm.Name))
                    {
                        ModelCase.Copy(testCase, TangentPrefix + prm.Name, t);
                        used.Add(TangentPrefix + prm.Name);
                    }
                    else
                    {
                        t.Fill(0f);
                    }
                }
            }
        }

        foreach (var b in net.Buffers)
        {
            ModelCase.Copy(testCase, b.Name, b.Value);
            used.Add(b.Name);
        }

        var extra = testCase.Inputs.Keys.Where(k => !used.Contains(k)).ToList();
        if (extra.Count > 0)
        {
            throw new FormatException($"input(s) {string.Join(", ", extra)} name no parameter, buffer or parameter tangent of the model");
        }

        net.InputTangent().CopyFrom(dx.ToFloat());
        net.Input.CopyFrom(x.ToFloat());
        net.Forward();
        return new Dictionary<string, HostTensor>(StringComparer.Ordinal)
        {
            ["output"] = HostTensor.From(net.Output),
            ["jvp"] = HostTensor.From(net.OutputTangent()),
        };
    }
}
