// One row of the loss table: a loss name with its named parameters, formulas and input rules, and its family's
// implementation (pointwise and region families generic over the loss operator struct) with the dispatch rows
// generated for it.
using System;
using System.Collections.Generic;
using System.Globalization;
using Engine.Backends;
using Engine.Backends.Cpu;
using Engine.Backends.Kernel;
using Engine.Dispatch;
using Engine.Kernels.Losses;

namespace Engine.Ops;

/// <summary>A named parameter of a loss: its default, its rule and the <see cref="LossSpec"/> property it sets.</summary>
/// <param name="Name">PyTorch's name, e.g. <c>delta</c>.</param>
/// <param name="Default">PyTorch's default.</param>
/// <param name="Rule">What values are allowed (for the docs and the error message).</param>
public sealed record LossParameterInfo(string Name, double Default, LossParameterRule Rule)
{
    /// <summary>Reads the parameter of a spec.</summary>
    internal Func<LossSpec, float> Get { get; init; } = null!;

    /// <summary>Sets the parameter on a spec.</summary>
    internal Func<LossSpec, float, LossSpec> Set { get; init; } = null!;

    /// <summary>Throws unless <paramref name="v"/> obeys <see cref="Rule"/>; returns it as a float.</summary>
    internal float Check(string op, double v)
    {
        bool ok = Rule switch
        {
            LossParameterRule.Finite => double.IsFinite(v),
            LossParameterRule.NonNegative => double.IsFinite(v) && v >= 0,
            LossParameterRule.Positive => double.IsFinite(v) && v > 0,
            LossParameterRule.UnitInterval => v >= 0 && v <= 1,
            _ => throw new InvalidOperationException($"{op}: unknown rule {Rule} of {Name}."),
        };
        return ok ? (float)v : throw new ArgumentException(
            $"{op}: {Name} must be {RuleText}, got {v.ToString(CultureInfo.InvariantCulture)}.", Name);
    }

    /// <summary>The rule in words.</summary>
    internal string RuleText => Rule switch
    {
        LossParameterRule.Finite => "finite",
        LossParameterRule.NonNegative => "finite and >= 0",
        LossParameterRule.Positive => "finite and > 0",
        LossParameterRule.UnitInterval => "in [0, 1]",
        _ => throw new InvalidOperationException($"unknown rule {Rule}."),
    };
}

/// <summary>The values a loss parameter may take.</summary>
public enum LossParameterRule
{
    /// <summary>Any finite number.</summary>
    Finite,

    /// <summary>A finite number &gt;= 0.</summary>
    NonNegative,

    /// <summary>A finite number &gt; 0.</summary>
    Positive,

    /// <summary>A number in [0, 1].</summary>
    UnitInterval,
}

/// <summary>
/// One row of <see cref="LossTable"/>: the loss's name, parameters, formulas, input rules and its dispatch rows
/// <c>NAME</c> and <c>NAME_backward</c> (variants <c>kernel.reduce</c> / <c>kernel.elementwise</c> and
/// <c>host.parallel</c>).
/// </summary>
public sealed class LossDefinition
{
    internal LossDefinition(string name, LossFamily family, string forward, string backward, IReadOnlyList<LossParameterInfo> parameters)
    {
        Name = name;
        Family = family;
        Forward = forward;
        Backward = backward;
        Parameters = parameters;
        ForwardRegistry = new OpRegistry<LossForwardImpl>(name)
            .Register("kernel.reduce", ComputePath.Kernels, family.KernelForward, family.KernelForwardText)
            .Register("host.parallel", ComputePath.Host, family.HostForward, family.HostForwardText);
        BackwardRegistry = new OpRegistry<LossBackwardImpl>(name + "_backward")
            .Register("kernel.elementwise", ComputePath.Kernels, family.KernelBackward, family.KernelBackwardText)
            .Register("host.parallel", ComputePath.Host, family.HostBackward, family.HostBackwardText);
    }

    /// <summary>The op name, e.g. <c>smooth_l1</c>.</summary>
    public string Name { get; }

    /// <summary>The fixture file that checks it against PyTorch (docs).</summary>
    public string Fixtures { get; internal init; } = "losses.json";

    /// <summary>The loss per element or sample (docs).</summary>
    public string Forward { get; }

    /// <summary>Its gradient (docs).</summary>
    public string Backward { get; }

    /// <summary>The numeric parameters with their defaults and rules (reduction and cross-entropy's target kind aside).</summary>
    public IReadOnlyList<LossParameterInfo> Parameters { get; }

    /// <summary>Whether the loss takes a <c>reduction</c> (region losses are means over classes by definition).</summary>
    public bool HasReduction => Family.HasReduction;

    /// <summary>Whether the loss takes a class-weight vector (cross-entropy).</summary>
    public bool AcceptsWeight => Family is CrossEntropyFamily;

    /// <summary>Whether the loss has three inputs (anchor, positive, negative) instead of pred and target.</summary>
    public bool IsTriplet => Family is TripletFamily;

    /// <summary>Forward implementations (dispatch row <see cref="Name"/>).</summary>
    internal OpRegistry<LossForwardImpl> ForwardRegistry { get; }

    /// <summary>Backward implementations (dispatch row <c>Name_backward</c>).</summary>
    internal OpRegistry<LossBackwardImpl> BackwardRegistry { get; }

    /// <summary>How the loss checks its inputs and fills the kernel arguments.</summary>
    internal LossFamily Family { get; }

    /// <inheritdoc />
    public override string ToString() => Name;
}
