// Non-trainable model state (batch norm running statistics): named views into one flat device tensor.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;

namespace Engine.Nn;

/// <summary>One named buffer (a view into its <see cref="BufferSet"/>'s flat tensor).</summary>
/// <param name="Name">State-dict name, e.g. <c>1.running_mean</c>.</param>
/// <param name="Value">The values.</param>
/// <param name="Offset">Element offset in the flat tensor.</param>
public sealed record NamedBuffer(string Name, Tensor Value, long Offset);

/// <summary>
/// The buffers of a model (running means and variances), back to back in one flat tensor like a
/// <see cref="ParameterSet"/> but without gradients. Empty when the model has none. The set belongs to its module,
/// which frees it.
/// </summary>
public sealed class BufferSet : IReadOnlyList<NamedBuffer>
{
    private readonly List<NamedBuffer> buffers = new();
    private readonly Dictionary<string, NamedBuffer> byName = new(StringComparer.Ordinal);

    private BufferSet(Tensor? values) => Values = values;

    /// <summary>All buffer values, flat (null when there are none).</summary>
    public Tensor? Values { get; }

    /// <inheritdoc />
    public int Count => buffers.Count;

    /// <inheritdoc />
    public NamedBuffer this[int index] => buffers[index];

    /// <summary>The buffer named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such buffer; the message lists the names.</exception>
    public NamedBuffer this[string name] => byName.TryGetValue(name, out var b)
        ? b
        : throw new KeyNotFoundException($"No buffer '{name}'; have: {(byName.Count == 0 ? "none" : string.Join(", ", byName.Keys))}.");

    /// <summary>Whether a buffer of that name exists.</summary>
    public bool Contains(string name) => byName.ContainsKey(name);

    /// <summary>Allocates the buffers and sets each to its initial value.</summary>
    internal static BufferSet Create(Device device, IEnumerable<(string Name, Shape Shape, float Initial)> specs)
    {
        ArgumentNullException.ThrowIfNull(device);
        var list = specs.ToList();
        if (list.Count == 0)
        {
            return new BufferSet(null);
        }

        long total = list.Sum(s => s.Shape.Length);
        var values = Tensor.Empty(device, new Shape(checked((int)total)));
        var set = new BufferSet(values);
        long offset = 0;
        foreach (var (name, shape, initial) in list)
        {
            var v = values.Slice((int)offset, (int)shape.Length).Reshape(shape);
            v.Fill(initial);
            var b = new NamedBuffer(name, v, offset);
            set.buffers.Add(b);
            set.byName.Add(name, b);
            offset += shape.Length;
        }

        return set;
    }

    /// <summary>The buffers as (state-dict name, tensor) pairs, as checkpoint writers take them.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> StateDict() => buffers.Select(b => new KeyValuePair<string, Tensor>(b.Name, b.Value));

    /// <inheritdoc />
    public IEnumerator<NamedBuffer> GetEnumerator() => buffers.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Frees the flat tensor (the owning module's call: the set belongs to the module).</summary>
    internal void Release() => Values?.Dispose();
}
