// Conformance handler for `sequential` cases: a layer list and a loss, one forward and backward pass, compared
// with torch.nn.Sequential. ModelCase also serves other whole-model ops (such as `train`).
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using Engine.Nn;

namespace Engine.Conformance.Handlers;

/// <summary>Runs <c>sequential</c> cases: outputs <c>loss</c>, <c>output</c>, <c>grad.NAME</c> and (training) <c>buffer.NAME</c>.</summary>
internal sealed class SequentialCases : IConformanceHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> Ops { get; } = ["sequential"];

    /// <inheritdoc />
    public IReadOnlyDictionary<string, HostTensor> Run(Device device, ConformanceCase testCase)
    {
        ArgumentNullException.ThrowIfNull(testCase);
        using var m = ModelCase.Load(device, testCase);
        var net = m.Compiled;
        net.Forward();
        net.Backward();
        var got = new Dictionary<string, HostTensor>(StringComparer.Ordinal)
        {
            ["loss"] = HostTensor.From(net.Loss!),
            ["output"] = HostTensor.From(net.Output),
        };
        foreach (var p in net.Parameters)
        {
            got["grad." + p.Name] = HostTensor.From(p.Grad);
        }

        foreach (var b in net.Buffers)
        {
            got["buffer." + b.Name] = HostTensor.From(b.Value);
        }

        return got;
    }
}

/// <summary>
/// A whole-model case made ready to run: the module built from <c>layers</c>, compiled for <c>x</c>'s shape with the
/// <c>loss</c>, every parameter and buffer loaded from the inputs by state-dict name, <c>x</c> and <c>target</c>
/// copied in, and the mode set from <c>training</c>. Inputs that name nothing fail the case.
/// </summary>
internal sealed class ModelCase : IDisposable
{
    private ModelCase(Module model, CompiledModel compiled)
    {
        Model = model;
        Compiled = compiled;
    }

    /// <summary>The module tree.</summary>
    public Module Model { get; }

    /// <summary>The compiled training plan, loaded and ready for <see cref="CompiledModel.Forward()"/>.</summary>
    public CompiledModel Compiled { get; }

    /// <summary>Builds, compiles and loads the model of <paramref name="testCase"/> (reads params layers, loss and training).</summary>
    /// <exception cref="FormatException">A layer, the loss or an input is malformed, unknown or missing.</exception>
    public static ModelCase Load(Device device, ConformanceCase testCase)
    {
        ArgumentNullException.ThrowIfNull(testCase);
        var p = testCase.Params;
        var layers = p.Node("layers") as JsonArray ?? throw new FormatException("param 'layers' must be a list of layer objects");
        var lossNode = p.Node("loss") as JsonObject ?? throw new FormatException("param 'loss' must be a loss object");
        bool training = p.Bool("training", true);
        var model = new Sequential(LayerFactory.Build(layers, string.Empty).ToArray());
        try
        {
            var loss = LayerFactory.Loss(lossNode);
            var x = testCase.Input("x");
            var net = model.Compile(device, x.ToShape(), loss);
            net.Training = training;
            var used = new HashSet<string>(StringComparer.Ordinal) { "x", "target" };
            net.Input.CopyFrom(x.ToFloat());
            var target = testCase.Input("target");
            if (target.Data.Length != net.Target!.Length)
            {
                throw new FormatException($"target has shape [{string.Join(", ", target.Shape)}] but the loss needs {net.Target.Shape}");
            }

            net.Target.CopyFrom(target.ToFloat());
            if (net.HasParameters)
            {
                foreach (var prm in net.Parameters)
                {
                    Copy(testCase, prm.Name, prm.Value);
                    used.Add(prm.Name);
                }
            }

            foreach (var b in net.Buffers)
            {
                Copy(testCase, b.Name, b.Value);
                used.Add(b.Name);
            }

            var extra = testCase.Inputs.Keys.Where(k => !used.Contains(k)).ToList();
            if (extra.Count > 0)
            {
                throw new FormatException($"input(s) {string.Join(", ", extra)} name no parameter or buffer of the model");
            }

            return new ModelCase(model, net);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Frees the compiled plan and the parameters.</summary>
    public void Dispose()
    {
        Compiled.Dispose();
        Model.Dispose();
    }

    /// <summary>Copies input <paramref name="name"/> into <paramref name="dst"/>, failing when it is missing or of another shape.</summary>
    internal static void Copy(ConformanceCase c, string name, Tensor dst)
    {
        var t = c.OptionalInput(name) ?? throw new FormatException($"the model has '{name}' {dst.Shape} but the case gives no input of that name");
        if (!t.ToShape().SameAs(dst.Shape.ToArray()))
        {
            throw new FormatException($"input '{name}' has shape [{string.Join(", ", t.Shape)}] but the model's is {dst.Shape}");
        }

        dst.CopyFrom(t.ToFloat());
    }
}
