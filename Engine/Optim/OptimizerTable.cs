// The one table of optimizers: each row names an optimizer as PyTorch does, its torch.optim class, its state
// buffers, its hyper-parameters (parsed from named settings), its rule struct and the dispatch rows generated for
// that rule; the optimizer classes, the conformance runner and the docs read it.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Engine.Dispatch;
using Engine.Kernels.Optim;
using Engine.Nn;
using Engine.Ops;

namespace Engine.Optim;

/// <summary>
/// Every optimizer. <see cref="Create(ParameterSet, IOpParams)"/> builds one from PyTorch's name and
/// hyper-parameter names (betas as beta1/beta2; engine extensions l1 and decoupled_weight_decay).
/// </summary>
public static class OptimizerTable
{
    /// <summary>torch.optim.SGD.</summary>
    internal static readonly OptimizerDefinition<SgdRule> SgdRow = new("sgd", "SGD", ["momentum_buffer"],
        p =>
        {
            var d = new SgdOptions();
            return d with { LR = p.Number("lr", d.LR), Momentum = p.Number("momentum", d.Momentum), Dampening = p.Number("dampening", d.Dampening), Nesterov = p.Bool("nesterov", d.Nesterov) };
        },
        (set, o, g) => new Sgd(set, (SgdOptions)o, g));

    /// <summary>torch.optim.Adagrad.</summary>
    internal static readonly OptimizerDefinition<AdagradRule> AdagradRow = new("adagrad", "Adagrad", ["sum"],
        p =>
        {
            var d = new AdagradOptions();
            return d with
            {
                LR = p.Number("lr", d.LR), LRDecay = p.Number("lr_decay", d.LRDecay), Eps = p.Number("eps", d.Eps),
                InitialAccumulatorValue = p.Number("initial_accumulator_value", d.InitialAccumulatorValue),
            };
        },
        (set, o, g) => new Adagrad(set, (AdagradOptions)o, g));

    /// <summary>torch.optim.Adadelta.</summary>
    internal static readonly OptimizerDefinition<AdadeltaRule> AdadeltaRow = new("adadelta", "Adadelta", ["square_avg", "acc_delta"],
        p =>
        {
            var d = new AdadeltaOptions();
            return d with { LR = p.Number("lr", d.LR), Rho = p.Number("rho", d.Rho), Eps = p.Number("eps", d.Eps) };
        },
        (set, o, g) => new Adadelta(set, (AdadeltaOptions)o, g));

    /// <summary>torch.optim.RMSprop.</summary>
    internal static readonly OptimizerDefinition<RmspropRule> RmspropRow = new("rmsprop", "RMSprop", ["square_avg", "momentum_buffer", "grad_avg"],
        p =>
        {
            var d = new RmspropOptions();
            return d with
            {
                LR = p.Number("lr", d.LR), Alpha = p.Number("alpha", d.Alpha), Eps = p.Number("eps", d.Eps), Momentum = p.Number("momentum", d.Momentum),
                Centered = p.Bool("centered", d.Centered),
            };
        },
        (set, o, g) => new Rmsprop(set, (RmspropOptions)o, g));

    /// <summary>torch.optim.Adam.</summary>
    internal static readonly OptimizerDefinition<AdamRule> AdamRow = new("adam", "Adam", ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
        p => ParseAdam(p, new AdamOptions()),
        (set, o, g) => new Adam(set, (AdamOptions)o, g));

    /// <summary>torch.optim.AdamW: Adam's rule struct with the weight decay decoupled.</summary>
    internal static readonly OptimizerDefinition<AdamRule> AdamWRow = new("adamw", "AdamW", ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
        p => ParseAdam(p, new AdamWOptions()),
        (set, o, g) => new AdamW(set, (AdamWOptions)o, g));

    /// <summary>torch.optim.Adamax.</summary>
    internal static readonly OptimizerDefinition<AdamaxRule> AdamaxRow = new("adamax", "Adamax", ["exp_avg", "exp_inf"],
        p =>
        {
            var d = new AdamaxOptions();
            return d with { LR = p.Number("lr", d.LR), Beta1 = p.Number("beta1", d.Beta1), Beta2 = p.Number("beta2", d.Beta2), Eps = p.Number("eps", d.Eps) };
        },
        (set, o, g) => new Adamax(set, (AdamaxOptions)o, g));

    /// <summary>torch.optim.NAdam.</summary>
    internal static readonly OptimizerDefinition<NadamRule> NAdamRow = new("nadam", "NAdam", ["exp_avg", "exp_avg_sq"],
        p =>
        {
            var d = new NAdamOptions();
            return d with
            {
                LR = p.Number("lr", d.LR), Beta1 = p.Number("beta1", d.Beta1), Beta2 = p.Number("beta2", d.Beta2), Eps = p.Number("eps", d.Eps),
                MomentumDecay = p.Number("momentum_decay", d.MomentumDecay),
            };
        },
        (set, o, g) => new NAdam(set, (NAdamOptions)o, g));

    private static readonly OptimizerDefinition[] Rows = [SgdRow, AdagradRow, AdadeltaRow, RmspropRow, AdamRow, AdamWRow, AdamaxRow, NAdamRow];

    /// <summary>Every dispatch registry of the optimizers (OpTable finds them through this field).</summary>
    internal static readonly IReadOnlyList<IOpRegistry> Registries = Rows.Select(r => r.Registry).ToArray();

    /// <summary>Every optimizer, in docs order.</summary>
    public static IReadOnlyList<OptimizerDefinition> All => Rows;

    /// <summary>Every optimizer name (PyTorch's, lower case).</summary>
    public static IReadOnlyList<string> Names { get; } = Rows.Select(r => r.Name).ToArray();

    /// <summary>The row named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No such optimizer; the message lists them.</exception>
    public static OptimizerDefinition Get(string name) => Rows.FirstOrDefault(r => r.Name == name)
        ?? throw new ArgumentException($"unknown optimizer '{name}'; expected one of: {string.Join(", ", Names)}.", nameof(name));

    /// <summary>
    /// The optimizer <c>name</c> in <paramref name="p"/> over <paramref name="parameters"/>, with its hyper-parameters
    /// under PyTorch's names and defaults, plus <c>weight_decay</c>, <c>l1</c> and <c>decoupled_weight_decay</c>.
    /// <c>maximize</c> may only be false (PyTorch's default).
    /// </summary>
    /// <exception cref="ArgumentException">Unknown optimizer, maximize=true, or an invalid value.</exception>
    public static Optimizer Create(ParameterSet parameters, IOpParams p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var row = Get(p.Str("name", string.Empty));
        if (p.Bool("maximize", false))
        {
            throw new ArgumentException("maximize=true is not supported (only PyTorch's default, false).", nameof(p));
        }

        var o = row.ParseOptions(p);
        o = o with
        {
            WeightDecay = p.Number("weight_decay", o.WeightDecay),
            L1 = p.Number("l1", o.L1),
            DecoupledWeightDecay = p.Number("decoupled_weight_decay", o.DecoupledWeightDecay),
        };
        return row.Create(parameters, o, null);
    }

    /// <summary>The optimizer table as Markdown (docs/optimizers.md embeds it; a test keeps the two equal).</summary>
    public static string ToMarkdown()
    {
        var sb = new StringBuilder("| name | torch.optim | state buffers | rule struct | dispatch row |\n| --- | --- | --- | --- | --- |\n");
        foreach (var r in Rows)
        {
            sb.Append(CultureInfo.InvariantCulture, $"| {r.Name} | {r.TorchName} | {string.Join(", ", r.StateNames)} | {r.RuleType.Name} | {r.Registry.Op} |\n");
        }

        return sb.ToString();
    }

    private static OptimizerOptions ParseAdam(IOpParams p, AdamOptions d) => d with
    {
        LR = p.Number("lr", d.LR), Beta1 = p.Number("beta1", d.Beta1), Beta2 = p.Number("beta2", d.Beta2), Eps = p.Number("eps", d.Eps),
        Amsgrad = p.Bool("amsgrad", d.Amsgrad),
    };
}

/// <summary>One row of <see cref="OptimizerTable"/>.</summary>
public abstract class OptimizerDefinition
{
    private readonly Func<IOpParams, OptimizerOptions> parse;
    private readonly Func<ParameterSet, OptimizerOptions, IReadOnlyDictionary<string, OptimizerOptions>?, Optimizer> create;

    private protected OptimizerDefinition(string name, string torchName, string[] stateNames, Func<IOpParams, OptimizerOptions> parse,
        Func<ParameterSet, OptimizerOptions, IReadOnlyDictionary<string, OptimizerOptions>?, Optimizer> create)
    {
        Name = name;
        TorchName = torchName;
        StateNames = stateNames;
        this.parse = parse;
        this.create = create;
    }

    /// <summary>PyTorch's name in lower case (sgd, adagrad, ...), as checkpoints and conformance cases spell it.</summary>
    public string Name { get; }

    /// <summary>The torch.optim class name (SGD, RMSprop, NAdam, ...).</summary>
    public string TorchName { get; }

    /// <summary>Every state buffer the optimizer may allocate, under PyTorch's names.</summary>
    public IReadOnlyList<string> StateNames { get; }

    /// <summary>The update rule struct the kernel and host loop are instantiated with.</summary>
    public abstract Type RuleType { get; }

    /// <summary>The dispatch rows (<c>optim.NAME</c>: <c>kernel.fused</c>, <c>host.simd</c>).</summary>
    public abstract IOpRegistry Registry { get; }

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <summary>The optimizer's own hyper-parameters read from <paramref name="p"/> (defaults PyTorch's).</summary>
    internal OptimizerOptions ParseOptions(IOpParams p) => parse(p);

    /// <summary>A new optimizer of this row.</summary>
    internal Optimizer Create(ParameterSet parameters, OptimizerOptions options, IReadOnlyDictionary<string, OptimizerOptions>? groups) =>
        create(parameters, options, groups);
}

/// <summary>A row of <see cref="OptimizerTable"/> whose update rule is <typeparamref name="TRule"/>.</summary>
/// <typeparam name="TRule">The rule struct.</typeparam>
public sealed class OptimizerDefinition<TRule> : OptimizerDefinition
    where TRule : struct, IOptimizerRule
{
    internal OptimizerDefinition(string name, string torchName, string[] stateNames, Func<IOpParams, OptimizerOptions> parse,
        Func<ParameterSet, OptimizerOptions, IReadOnlyDictionary<string, OptimizerOptions>?, Optimizer> create)
        : base(name, torchName, stateNames, parse, create)
    {
        Steps = new OpRegistry<OptimStepImpl<TRule>>("optim." + name)
            .Register("kernel.fused", ComputePath.Kernels, OptimKernelLaunch.Run<TRule>, $"ILGPU OptimizerKernels.Step<{typeof(TRule).Name}> over the group's chunk table")
            .Register("host.simd", ComputePath.Host, HostOptim.Run<TRule>, $"Vector<float> loop over {typeof(TRule).Name}'s vector form, chunks in parallel");
    }

    /// <inheritdoc />
    public override Type RuleType => typeof(TRule);

    /// <inheritdoc />
    public override IOpRegistry Registry => Steps;

    /// <summary>The typed implementations.</summary>
    internal OpRegistry<OptimStepImpl<TRule>> Steps { get; }
}
