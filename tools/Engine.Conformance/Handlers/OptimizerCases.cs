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
public sealed class OptimizerCases : IConformanceHandler
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

    /// <summary>Builds the optimizer a case (or a <c>train</c> case's optimizer object) describes.</summary>
    /// <exception cref="FormatException">Unknown optimizer name, or maximize=true.</exception>
    public static Optimizer Create(ParameterSet set, CaseParams p)
    {
        ArgumentNullException.ThrowIfNull(p);
        string name = p.Str("name", string.Empty);
        if (p.Bool("maximize", false))
        {
            throw new FormatException("maximize=true is not supported (only PyTorch's default, false).");
        }

        double l1 = p.Number("l1", 0);
        double dwd = p.Number("decoupled_weight_decay", 0);
        double Lr(double fallback) => p.Number("lr", fallback);
        double Wd(double fallback) => p.Number("weight_decay", fallback);
        switch (name)
        {
            case "sgd":
                return new Sgd(set, new SgdOptions
                {
                    Lr = p.Number("lr"), Momentum = p.Number("momentum", 0), Dampening = p.Number("dampening", 0),
                    Nesterov = p.Bool("nesterov", false), WeightDecay = Wd(0), L1 = l1, DecoupledWeightDecay = dwd,
                });
            case "adagrad":
            {
                var d = new AdagradOptions();
                return new Adagrad(set, d with
                {
                    Lr = Lr(d.Lr), LrDecay = p.Number("lr_decay", d.LrDecay), WeightDecay = Wd(d.WeightDecay),
                    InitialAccumulatorValue = p.Number("initial_accumulator_value", d.InitialAccumulatorValue),
                    Eps = p.Number("eps", d.Eps), L1 = l1, DecoupledWeightDecay = dwd,
                });
            }

            case "adadelta":
            {
                var d = new AdadeltaOptions();
                return new Adadelta(set, d with
                {
                    Lr = Lr(d.Lr), Rho = p.Number("rho", d.Rho), Eps = p.Number("eps", d.Eps), WeightDecay = Wd(d.WeightDecay),
                    L1 = l1, DecoupledWeightDecay = dwd,
                });
            }

            case "rmsprop":
            {
                var d = new RmspropOptions();
                return new Rmsprop(set, d with
                {
                    Lr = Lr(d.Lr), Alpha = p.Number("alpha", d.Alpha), Eps = p.Number("eps", d.Eps), WeightDecay = Wd(d.WeightDecay),
                    Momentum = p.Number("momentum", d.Momentum), Centered = p.Bool("centered", d.Centered), L1 = l1, DecoupledWeightDecay = dwd,
                });
            }

            case "adam":
            {
                var d = new AdamOptions();
                return new Adam(set, d with
                {
                    Lr = Lr(d.Lr), Beta1 = p.Number("beta1", d.Beta1), Beta2 = p.Number("beta2", d.Beta2), Eps = p.Number("eps", d.Eps),
                    WeightDecay = Wd(d.WeightDecay), Amsgrad = p.Bool("amsgrad", d.Amsgrad), L1 = l1, DecoupledWeightDecay = dwd,
                });
            }

            case "adamw":
            {
                var d = new AdamWOptions();
                return new AdamW(set, d with
                {
                    Lr = Lr(d.Lr), Beta1 = p.Number("beta1", d.Beta1), Beta2 = p.Number("beta2", d.Beta2), Eps = p.Number("eps", d.Eps),
                    WeightDecay = Wd(d.WeightDecay), Amsgrad = p.Bool("amsgrad", d.Amsgrad), L1 = l1, DecoupledWeightDecay = dwd,
                });
            }

            case "adamax":
            {
                var d = new AdamaxOptions();
                return new Adamax(set, d with
                {
                    Lr = Lr(d.Lr), Beta1 = p.Number("beta1", d.Beta1), Beta2 = p.Number("beta2", d.Beta2), Eps = p.Number("eps", d.Eps),
                    WeightDecay = Wd(d.WeightDecay), L1 = l1, DecoupledWeightDecay = dwd,
                });
            }

            case "nadam":
            {
                var d = new NAdamOptions();
                return new NAdam(set, d with
                {
                    Lr = Lr(d.Lr), Beta1 = p.Number("beta1", d.Beta1), Beta2 = p.Number("beta2", d.Beta2), Eps = p.Number("eps", d.Eps),
                    WeightDecay = Wd(d.WeightDecay), MomentumDecay = p.Number("momentum_decay", d.MomentumDecay), L1 = l1, DecoupledWeightDecay = dwd,
                });
            }

            default:
                throw new FormatException($"unknown optimizer '{name}'; expected sgd, adagrad, adadelta, rmsprop, adam, adamw, adamax or nadam.");
        }
    }
}
