// Trainable parameters: named views into one flat value buffer and one flat gradient buffer per model, so
// optimizers update every parameter in a few launches instead of one per tensor.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using Engine.Ops;

namespace Engine.Nn;

/// <summary>What a parameter is, for per-group rules such as "no weight decay for biases and norms".</summary>
public enum ParameterRole
{
    /// <summary>A weight matrix or convolution kernel.</summary>
    Weight = 0,

    /// <summary>A bias vector.</summary>
    Bias = 1,

    /// <summary>A normalization scale (gamma).</summary>
    NormScale = 2,

    /// <summary>A normalization shift (beta).</summary>
    NormShift = 3,
}

/// <summary>
/// One trainable tensor under its PyTorch state-dict name (e.g. <c>0.weight</c>), with its gradient. Both are views
/// into the owning <see cref="ParameterSet"/>'s flat buffers at <see cref="Offset"/>.
/// </summary>
public sealed class Parameter
{
    internal Parameter(string name, Shape shape, ParameterRole role, long offset, Tensor value, Tensor grad)
    {
        Name = name;
        Shape = shape;
        Role = role;
        Offset = offset;
        Value = value;
        Grad = grad;
    }

    /// <summary>State-dict name.</summary>
    public string Name { get; }

    /// <summary>Shape of the parameter.</summary>
    public Shape Shape { get; }

    /// <summary>Role of the parameter.</summary>
    public ParameterRole Role { get; }

    /// <summary>Element offset of this parameter in the flat buffers.</summary>
    public long Offset { get; }

    /// <summary>Number of elements.</summary>
    public long Length => Shape.Length;

    /// <summary>The values (a view into <see cref="ParameterSet.Values"/>).</summary>
    public Tensor Value { get; }

    /// <summary>The gradient (a view into <see cref="ParameterSet.Grads"/>).</summary>
    public Tensor Grad { get; }

    /// <summary>False when the parameter is frozen: it gets no gradient and optimizers leave it alone.</summary>
    public bool RequiresGrad { get; set; } = true;

    /// <summary>Optimizer parameter-group name (null: the default group).</summary>
    public string? Group { get; set; }

    /// <inheritdoc />
    public override string ToString() => $"{Name} {Shape} ({Role}{(RequiresGrad ? string.Empty : ", frozen")})";
}

/// <summary>
/// The parameters of a model, laid out back to back in one flat value tensor and one flat gradient tensor on a
/// device. A model's set belongs to the model (dispose the model, not its set: <see cref="Dispose"/> throws); a set
/// made with <see cref="Create"/> belongs to its caller, and disposing it frees both buffers.
/// </summary>
public sealed class ParameterSet : IReadOnlyList<Parameter>, IDisposable
{
    private readonly List<Parameter> parameters = new();
    private readonly Dictionary<string, Parameter> byName = new(StringComparer.Ordinal);
    private Tensor? tangents;

    private ParameterSet(Device device, Tensor values, Tensor grads)
    {
        Device = device;
        Values = values;
        Grads = grads;
    }

    /// <summary>The device holding the parameters.</summary>
    public Device Device { get; }

    /// <summary>All parameter values, flat, in declaration order.</summary>
    public Tensor Values { get; }

    /// <summary>All gradients, flat, in the same layout as <see cref="Values"/>.</summary>
    public Tensor Grads { get; }

    /// <summary>
    /// All parameter tangents for forward mode (<see cref="CompileOptions.ParameterTangents"/>), flat, in the layout of
    /// <see cref="Values"/>: allocated (zeros) on first use and shared by every plan of the model.
    /// </summary>
    public Tensor Tangents => tangents ??= Tensor.Zeros(Device, Values.Shape);

    /// <summary>The tangent of <paramref name="parameter"/>: a view into <see cref="Tangents"/> in the parameter's shape.</summary>
    /// <exception cref="ArgumentException">The parameter is not in this set.</exception>
    public Tensor TangentOf(Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (!byName.TryGetValue(parameter.Name, out var p) || !ReferenceEquals(p, parameter))
        {
            throw new ArgumentException($"Parameter '{parameter.Name}' is not in this set.", nameof(parameter));
        }

        return Tangents.Slice((int)parameter.Offset, (int)parameter.Length).Reshape(parameter.Shape);
    }

    /// <summary>Total number of elements.</summary>
    public long TotalLength => Values.Length;

    /// <inheritdoc />
    public int Count => parameters.Count;

    /// <inheritdoc />
    public Parameter this[int index] => parameters[index];

    /// <summary>The parameter with state-dict name <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such parameter; the message lists the names.</exception>
    public Parameter this[string name] => byName.TryGetValue(name, out var p)
        ? p
        : throw new KeyNotFoundException($"No parameter '{name}'; have: {string.Join(", ", byName.Keys)}.");

    /// <summary>Whether a parameter of that name exists.</summary>
    public bool Contains(string name) => byName.ContainsKey(name);

    /// <summary>
    /// Allocates flat value and gradient buffers for <paramref name="specs"/> (in order) and creates the parameters
    /// as views into them. Values are uninitialized (initializers fill them); gradients start at zero. The caller
    /// owns the set and disposes it.
    /// </summary>
    /// <exception cref="ArgumentException">A name repeats, or the list is empty.</exception>
    public static ParameterSet Create(Device device, IEnumerable<(string Name, Shape Shape, ParameterRole Role)> specs)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(specs);
        var list = specs.ToList();
        if (list.Count == 0)
        {
            throw new ArgumentException("A parameter set needs at least one parameter.", nameof(specs));
        }

        var dup = list.GroupBy(s => s.Name).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null)
        {
            throw new ArgumentException($"Parameter name '{dup.Key}' appears {dup.Count()} times.", nameof(specs));
        }

        long total = list.Sum(s => s.Shape.Length);
        var values = Tensor.Empty(device, new Shape(checked((int)total)));
        var grads = Tensor.Zeros(device, new Shape(checked((int)total)));
        var set = new ParameterSet(device, values, grads);
        long offset = 0;
        foreach (var (name, shape, role) in list)
        {
            var v = values.Slice((int)offset, (int)shape.Length).Reshape(shape);
            var g = grads.Slice((int)offset, (int)shape.Length).Reshape(shape);
            var p = new Parameter(name, shape, role, offset, v, g);
            set.parameters.Add(p);
            set.byName[name] = p;
            offset += shape.Length;
        }

        return set;
    }

    /// <summary>Sets every gradient to zero.</summary>
    public void ZeroGrads() => Grads.Fill(0f);

    /// <summary>
    /// Throws when the gradients or the values hold NaN or infinity, naming <paramref name="step"/>: "Non-finite values
    /// in gradients at step 12: 3 of 1,000 elements are NaN or infinite." (gradients are checked first).
    /// </summary>
    /// <exception cref="NonFiniteException">Gradients or values are non-finite.</exception>
    public void ThrowIfNonFinite(long step)
    {
        NonFinite.ThrowIfAny(Grads, "gradients", step);
        NonFinite.ThrowIfAny(Values, "parameters", step);
    }

    /// <inheritdoc />
    public IEnumerator<Parameter> GetEnumerator() => parameters.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Whether a module owns the set (its buffers are freed with the module's state, not by the set's user).</summary>
    public bool IsOwnedByModule { get; private set; }

    /// <summary>Frees the flat buffers of a set made with <see cref="Create"/>.</summary>
    /// <exception cref="InvalidOperationException">The set belongs to a module: dispose the module's compiled model or device instead.</exception>
    public void Dispose()
    {
        if (IsOwnedByModule)
        {
            throw new InvalidOperationException("This parameter set belongs to a module, which frees it; it cannot be disposed on its own.");
        }

        Release();
    }

    /// <summary>Creates a set owned by a module (its <see cref="Dispose"/> throws; the module calls <see cref="Release"/>).</summary>
    internal static ParameterSet CreateForModule(Device device, IEnumerable<(string Name, Shape Shape, ParameterRole Role)> specs)
    {
        var set = Create(device, specs);
        set.IsOwnedByModule = true;
        return set;
    }

    /// <summary>Frees the flat buffers (the owner's call).</summary>
    internal void Release()
    {
        Values.Dispose();
        Grads.Dispose();
        tangents?.Dispose();
    }
}
