// Metadata an activation operator carries in its own file: its op name, docs and named parameters. The engine's
// activation table reads these, so adding an activation needs no list to be edited elsewhere.
using System;

namespace Engine.Kernels.Activations;

/// <summary>
/// Registers an <see cref="IActivationOperator"/> struct under an op name (as conformance cases and sequential
/// layers spell it), with the formulas the docs show. Two operators may share a name when a string parameter
/// chooses between them (<see cref="Choice"/>, e.g. gelu's <c>approximate</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Struct, AllowMultiple = false, Inherited = false)]
public sealed class ActivationAttribute(string name) : Attribute
{
    /// <summary>The op name, e.g. <c>leaky_relu</c>.</summary>
    public string Name { get; } = name;

    /// <summary>The forward formula for the docs, e.g. <c>x &gt; 0 ? x : αx</c>.</summary>
    public string Forward { get; init; } = string.Empty;

    /// <summary>The backward formula (dx) for the docs.</summary>
    public string Backward { get; init; } = string.Empty;

    /// <summary>When several operators share <see cref="Name"/>: "param=value" selecting this one, e.g. <c>approximate=tanh</c>.</summary>
    public string Choice { get; init; } = string.Empty;

    /// <summary>Whether this operator is chosen when the <see cref="Choice"/> parameter is absent.</summary>
    public bool DefaultChoice { get; init; }
}

/// <summary>A named float parameter of an activation, stored in one <see cref="ActivationParams"/> field.</summary>
[AttributeUsage(AttributeTargets.Struct, AllowMultiple = true, Inherited = false)]
public sealed class ActivationParameterAttribute(string name, ActivationSlot slot, double defaultValue) : Attribute
{
    /// <summary>The parameter name, e.g. <c>alpha</c>.</summary>
    public string Name { get; } = name;

    /// <summary>The field it travels in.</summary>
    public ActivationSlot Slot { get; } = slot;

    /// <summary>PyTorch's default.</summary>
    public double Default { get; } = defaultValue;

    /// <summary>Whether zero is rejected (softplus's beta divides).</summary>
    public bool NonZero { get; init; }
}
