// Conformance handler for `optimizer` cases: T steps of one optimizer from w0 with PyTorch's gradients.
using System;
using System.Collections.Generic;
using Engine.Nn;
using Engine.Optim;

namespace Engine.Conformance.Handlers;

/// <summary>
/// Runs <c>optimizer</c> cases: inputs w0 (n) and grads (T, n); params name and PyTorch's hyper-parameters (betas as
/// beta1/beta2; engine extensions l1 and decoupled_weight_decay); outputs w_stepK.
/// </summary>
internal sealed class OptimizerCases : IConformanceHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> Ops { get; } = ["optimizer"];

    /// <inheritdoc />
    public IReadOnlyDictionary<string, HostTensor> Run(Device device, ConformanceCase testCase)
    {
        ArgumentNullException.ThrowIfNull(testCase);
        var w0 = testCase.Input("w0");
        var grads = testCase.Input("grads");
        int n = w0.Data.Length;
        if (grads.Shape.Length != 2 || grads.Shape[1] != n)
        {
            throw new FormatException($"grads has shape [{string.Join(", ", grads.Shape)}]; expected (T, {n}).");
        }

        int steps = grads.Shape[0];
        using var set = ParameterSet.Create(device, [("w", new Shape(n), ParameterRole.Weight)]);
        set.Values.CopyFrom(w0.ToFloat());
        using var opt = Create(set, testCase.Params);
        var g = grads.ToFloat();
        var outputs = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        for (int t = 1; t <= steps; t++)
        {
            set.Grads.CopyFrom(g.AsSpan((t - 1) * n, n));
            opt.Step();
            string key = $"w_step{t}";
            if (testCase.Wants(key))
            {
                outputs[key] = HostTensor.From(set.Values);
            }
        }

        return outputs;
    }

    /// <summary>Builds the optimizer a case (or a <c>train</c> case's optimizer object) describes, through <see cref="OptimizerTable"/>.</summary>
    /// <exception cref="ArgumentException">Unknown optimizer name, maximize=true or a bad value.</exception>
    public static Optimizer Create(ParameterSet set, CaseParams p) => OptimizerTable.Create(set, p);
}
