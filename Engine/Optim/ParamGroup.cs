// Optimizer parameter groups (per-group lr and hyper-parameters) and the standard "no decay for biases and norms" split.
using System;
using System.Collections.Generic;
using Engine.Nn;

namespace Engine.Optim;

/// <summary>
/// A parameter group, like one entry of PyTorch's <c>optimizer.param_groups</c>: the parameters whose
/// <see cref="Parameter.Group"/> has this name, the live learning rate (which schedulers change) and the other
/// hyper-parameters.
/// </summary>
public sealed class ParamGroup
{
    private OptimizerOptions options;

    internal ParamGroup(string name, int index, OptimizerOptions options, IReadOnlyList<Parameter> parameters)
    {
        Name = name;
        Index = index;
        this.options = options;
        Parameters = parameters;
        LR = options.LR;
    }

    /// <summary>The default group's name, for parameters whose <see cref="Parameter.Group"/> is null.</summary>
    public const string DefaultName = "default";

    /// <summary>The group's name.</summary>
    public string Name { get; }

    /// <summary>Position in <see cref="Optimizer.Groups"/>.</summary>
    public int Index { get; }

    /// <summary>The parameters of the group (frozen ones included; steps skip them).</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The live learning rate (starts at <see cref="OptimizerOptions.LR"/>; schedulers set it).</summary>
    public double LR { get; set; }

    /// <summary>The learning rate when the first scheduler was attached (PyTorch's <c>initial_lr</c>), or null.</summary>
    public double? InitialLR { get; set; }

    /// <summary>The other hyper-parameters. Setting validates them and requires the optimizer's options type.</summary>
    /// <exception cref="ArgumentException">The options are of another optimizer's type.</exception>
    public OptimizerOptions Options
    {
        get => options;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.GetType() != options.GetType())
            {
                throw new ArgumentException($"Group '{Name}' takes {options.GetType().Name}, not {value.GetType().Name}.", nameof(value));
            }

            value.Validate();
            options = value;
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {Parameters.Count} parameters, lr {LR}";
}

/// <summary>Builders for common parameter groupings.</summary>
public static class ParamGroups
{
    /// <summary>The group name <see cref="NoDecayForBiasAndNorm{TOptions}"/> uses.</summary>
    public const string NoDecay = "no_decay";

    /// <summary>
    /// The standard grouping "no weight decay for biases and normalization parameters": puts every parameter whose
    /// <see cref="Parameter.Role"/> is Bias, NormScale or NormShift (and whose group is unset) into
    /// <paramref name="groupName"/>, and returns that group's options: <paramref name="options"/> with weight decay,
    /// L1 and decoupled decay set to zero. Pass the result as the optimizer's group options.
    /// </summary>
    public static IReadOnlyDictionary<string, OptimizerOptions> NoDecayForBiasAndNorm<TOptions>(ParameterSet parameters, TOptions options, string groupName = NoDecay)
        where TOptions : OptimizerOptions
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(groupName);
        foreach (var p in parameters)
        {
            if (p.Role != ParameterRole.Weight && p.Group is null)
            {
                p.Group = groupName;
            }
        }

        return new Dictionary<string, OptimizerOptions>(StringComparer.Ordinal) { [groupName] = options.WithoutDecay() };
    }
}
