// One row of the activation table: an op name with its parameters and formulas, and for elementwise activations the
// operator struct with the dispatch rows (kernel and host) generated for it.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Engine.Backends.Cpu;
using Engine.Backends.Kernel;
using Engine.Dispatch;
using Engine.Kernels.Activations;

namespace Engine.Ops;

/// <summary>A named parameter of an activation as the docs show it.</summary>
/// <param name="Name">The parameter name, e.g. <c>alpha</c>.</param>
/// <param name="DefaultText">Its default (or "required").</param>
public sealed record ActivationParameterInfo(string Name, string DefaultText);

/// <summary>
/// One row of <see cref="ActivationTable"/>. An elementwise row wraps an <see cref="IActivationOperator"/> struct
/// and owns its dispatch rows <c>KEY</c> and <c>KEY_backward</c> (variants <c>kernel.elementwise</c> and
/// <c>host.simd</c>); softmax, log_softmax and maxout rows build their own layer types.
/// </summary>
public sealed class ActivationDefinition
{
    private readonly ActivationParameterAttribute[] floats;
    private readonly Func<IOpParams, IActivationOp>? special;

    private ActivationDefinition(string name, string? choice, bool defaultChoice, string forward, string backward, string tests,
        ActivationInput reads, IReadOnlyList<ActivationParameterInfo> parameters, ActivationParameterAttribute[] floats, Func<IOpParams, IActivationOp>? special)
    {
        Name = name;
        if (choice is not null)
        {
            int eq = choice.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new InvalidOperationException($"activation '{name}': Choice must read \"param=value\", got \"{choice}\".");
            }

            ChoiceParameter = choice[..eq];
            ChoiceValue = choice[(eq + 1)..];
        }

        IsDefaultChoice = defaultChoice;
        Key = ChoiceValue is null || defaultChoice ? name : $"{name}_{ChoiceValue}";
        Forward = forward;
        Backward = backward;
        Tests = tests;
        BackwardReads = reads;
        Parameters = parameters;
        this.floats = floats;
        this.special = special;
    }

    /// <summary>The op name, e.g. <c>gelu</c>.</summary>
    public string Name { get; }

    /// <summary>The row's unique key and the name of its dispatch rows, e.g. <c>gelu_tanh</c>.</summary>
    public string Key { get; }

    /// <summary>The string parameter choosing between rows of one name (gelu's <c>approximate</c>), or null.</summary>
    public string? ChoiceParameter { get; }

    /// <summary>This row's value of <see cref="ChoiceParameter"/>.</summary>
    public string? ChoiceValue { get; }

    /// <summary>Whether this row is chosen when <see cref="ChoiceParameter"/> is absent.</summary>
    public bool IsDefaultChoice { get; }

    /// <summary>The forward formula (docs).</summary>
    public string Forward { get; }

    /// <summary>The backward formula (docs).</summary>
    public string Backward { get; }

    /// <summary>Where the row is proven (docs).</summary>
    public string Tests { get; }

    /// <summary>The tensor the backward reads (a layer keeps only that one for backward).</summary>
    public ActivationInput BackwardReads { get; }

    /// <summary>The named parameters with their defaults.</summary>
    public IReadOnlyList<ActivationParameterInfo> Parameters { get; }

    /// <summary>Whether the op is elementwise (an operator struct with the generic kernels and host loop).</summary>
    public bool IsElementwise => special is null;

    /// <summary>The operator struct of an elementwise row, or null.</summary>
    public Type? OperatorType { get; private init; }

    /// <summary>Forward implementations of an elementwise row (dispatch row <see cref="Key"/>), or null.</summary>
    internal OpRegistry<ActivationForwardImpl>? ForwardRegistry { get; private set; }

    /// <summary>Backward implementations of an elementwise row (dispatch row <c>Key_backward</c>), or null.</summary>
    internal OpRegistry<ActivationBackwardImpl>? BackwardRegistry { get; private set; }

    /// <inheritdoc />
    public override string ToString() => Key;

    /// <summary>The row of an operator struct described by its attributes.</summary>
    internal static ActivationDefinition Elementwise(Type op, ActivationAttribute a, ActivationParameterAttribute[] parameters)
    {
        var registries = (IRegistries)Activator.CreateInstance(typeof(Registries<>).MakeGenericType(op))!;
        var info = parameters.Select(q => new ActivationParameterInfo(q.Name, q.Default.ToString(CultureInfo.InvariantCulture) + (q.NonZero ? ", ≠ 0" : string.Empty))).ToArray();
        var row = new ActivationDefinition(a.Name, a.Choice.Length == 0 ? null : a.Choice, a.DefaultChoice, a.Forward, a.Backward,
            "activations.json; Ops/ActivationTests", registries.Reads, info, parameters, null)
        {
            OperatorType = op,
        };
        registries.Create(row.Key);
        row.ForwardRegistry = registries.Forward;
        row.BackwardRegistry = registries.Backward;
        return row;
    }

    /// <summary>A row that builds its own layer type (softmax, log_softmax, maxout).</summary>
    internal static ActivationDefinition Special(string name, string forward, string backward, ActivationInput reads,
        ActivationParameterInfo[] parameters, Func<IOpParams, IActivationOp> build) =>
        new(name, null, false, forward, backward, "activations.json; Ops/SoftmaxTests", reads, parameters, [], build);

    /// <summary>The layer of this row with the settings read from <paramref name="p"/>.</summary>
    internal IActivationOp Create(IOpParams p)
    {
        if (special is not null)
        {
            return special(p);
        }

        var values = new ActivationParams();
        foreach (var q in floats)
        {
            double v = p.Number(q.Name, q.Default);
            if (!double.IsFinite(v) || (q.NonZero && v == 0))
            {
                throw new ArgumentException($"{Name}: {q.Name} must be {(q.NonZero ? "finite and non-zero" : "finite")}, got {v.ToString(CultureInfo.InvariantCulture)}.", q.Name);
            }

            switch (q.Slot)
            {
                case ActivationSlot.Alpha:
                    values.Alpha = (float)v;
                    break;
                case ActivationSlot.Beta:
                    values.Beta = (float)v;
                    break;
                case ActivationSlot.Threshold:
                    values.Threshold = (float)v;
                    break;
                default:
                    throw new InvalidOperationException($"{Name}: parameter {q.Name} names no field of ActivationParams ({q.Slot}).");
            }
        }

        return new ActivationSpec(this, values);
    }

    /// <summary>The value of the named parameter in <paramref name="p"/>.</summary>
    /// <exception cref="ArgumentException">This row has no such parameter.</exception>
    internal float Read(ActivationParams p, string name)
    {
        var q = floats.FirstOrDefault(f => f.Name == name) ?? throw new ArgumentException($"{Name} has no parameter '{name}'; it has: {string.Join(", ", floats.Select(f => f.Name))}.", nameof(name));
        return q.Slot switch
        {
            ActivationSlot.Alpha => p.Alpha,
            ActivationSlot.Beta => p.Beta,
            ActivationSlot.Threshold => p.Threshold,
            _ => throw new InvalidOperationException($"{Name}: parameter {q.Name} names no field of ActivationParams ({q.Slot})."),
        };
    }

    /// <summary>The "name(p=v, ...)" text of a spec of this row.</summary>
    internal string Describe(ActivationParams p)
    {
        var parts = floats.Select(q => string.Create(CultureInfo.InvariantCulture, $"{q.Name}={Read(p, q.Name)}")).ToList();
        if (ChoiceParameter is not null)
        {
            parts.Insert(0, $"{ChoiceParameter}={ChoiceValue}");
        }

        return parts.Count == 0 ? Name : $"{Name}({string.Join(", ", parts)})";
    }

    private interface IRegistries
    {
        ActivationInput Reads { get; }

        OpRegistry<ActivationForwardImpl>? Forward { get; }

        OpRegistry<ActivationBackwardImpl>? Backward { get; }

        void Create(string key);
    }

    // The dispatch rows of one operator struct: the generic kernel launchers and host loops, instantiated for TOp.
    private sealed class Registries<TOp> : IRegistries
        where TOp : struct, IActivationOperator
    {
        public ActivationInput Reads => default(TOp).DerivativeReads;

        public OpRegistry<ActivationForwardImpl>? Forward { get; private set; }

        public OpRegistry<ActivationBackwardImpl>? Backward { get; private set; }

        public void Create(string key)
        {
            string op = typeof(TOp).Name;
            Forward = new OpRegistry<ActivationForwardImpl>(key)
                .Register("kernel.elementwise", ComputePath.Kernels, ActivationLaunchers.Forward<TOp>, $"ILGPU kernel ActivationKernels.Forward<{op}>: one thread per element")
                .Register("host.simd", ComputePath.Host, CpuActivations.Forward<TOp>, $"Vector<float> loop over {op}'s vector form, all cores for large tensors");
            Backward = new OpRegistry<ActivationBackwardImpl>(key + "_backward")
                .Register("kernel.elementwise", ComputePath.Kernels, ActivationLaunchers.Backward<TOp>, $"ILGPU kernel ActivationKernels.Backward<{op}>: one thread per element")
                .Register("host.simd", ComputePath.Host, CpuActivations.Backward<TOp>, $"Vector<float> loop over {op}'s vector derivative, all cores for large tensors");
        }
    }
}
