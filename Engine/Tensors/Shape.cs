// An immutable tensor shape (row-major dimensions) with validation and formatting for error messages.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text;

namespace Engine;

/// <summary>An immutable list of dimension sizes, outermost first (row-major / C order).</summary>
[CollectionBuilder(typeof(Shape), nameof(Create))]
public sealed class Shape : IEquatable<Shape>, IReadOnlyList<int>
{
    private readonly int[] dims;

    /// <summary>Creates a shape; every dimension must be positive.</summary>
    /// <exception cref="ArgumentException">A dimension is zero or negative.</exception>
    public Shape(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] <= 0)
            {
                throw new ArgumentException(
                    $"Shape {Format(dims)}: dimension {i} is {dims[i]}; every dimension must be positive.", nameof(dims));
            }
        }

        this.dims = (int[])dims.Clone();
        long n = 1;
        foreach (int d in this.dims)
        {
            n = checked(n * d);
        }

        Length = n;
    }

    /// <summary>The shape of a scalar: no dimensions, one element.</summary>
    public static Shape Scalar { get; } = new();

    /// <summary>Number of dimensions.</summary>
    public int Rank => dims.Length;

    /// <summary>Number of elements (product of the dimensions; 1 for a scalar).</summary>
    public long Length { get; }

    /// <inheritdoc />
    public int Count => dims.Length;

    /// <summary>Dimension <paramref name="index"/>; negative indices count from the end.</summary>
    public int this[int index] => dims[index < 0 ? dims.Length + index : index];

    /// <summary>A copy of the dimensions.</summary>
    public int[] ToArray() => (int[])dims.Clone();

    /// <summary>Row-major strides in elements.</summary>
    public long[] Strides()
    {
        var s = new long[dims.Length];
        long acc = 1;
        for (int i = dims.Length - 1; i >= 0; i--)
        {
            s[i] = acc;
            acc *= dims[i];
        }

        return s;
    }

    /// <summary>Formats dimensions as <c>[2, 3, 4]</c>.</summary>
    public static string Format(IReadOnlyList<int> dims)
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < dims.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            sb.Append(dims[i]);
        }

        return sb.Append(']').ToString();
    }

    /// <inheritdoc />
    public override string ToString() => Format(dims);

    /// <inheritdoc />
    public bool Equals(Shape? other) => other is not null && dims.AsSpan().SequenceEqual(other.dims);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (int d in dims)
        {
            h.Add(d);
        }

        return h.ToHashCode();
    }

    /// <inheritdoc />
    public IEnumerator<int> GetEnumerator() => ((IEnumerable<int>)dims).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => dims.GetEnumerator();

    /// <summary>Equality of shapes.</summary>
    public static bool operator ==(Shape? a, Shape? b) => a is null ? b is null : a.Equals(b);

    /// <summary>Inequality of shapes.</summary>
    public static bool operator !=(Shape? a, Shape? b) => !(a == b);

    /// <summary>Implicit conversion from a dimension array.</summary>
    public static implicit operator Shape(int[] dims) => new(dims);

    /// <summary>Creates a shape from dimensions.</summary>
    public static Shape FromArray(int[] dims) => new(dims);

    /// <summary>Creates a shape from a collection expression: <c>Shape s = [64, 1, 28, 28];</c>.</summary>
    public static Shape Create(ReadOnlySpan<int> dims) => new(dims.ToArray());

    /// <summary>The shape with dimension <paramref name="axis"/> replaced by <paramref name="size"/>.</summary>
    public Shape With(int axis, int size)
    {
        var d = ToArray();
        d[axis < 0 ? d.Length + axis : axis] = size;
        return new Shape(d);
    }

    /// <summary>Product of dimensions in [start, end).</summary>
    public long Product(int start, int end)
    {
        long p = 1;
        for (int i = start; i < end; i++)
        {
            p *= dims[i];
        }

        return p;
    }

    /// <summary>Whether all dimensions equal <paramref name="other"/>'s, ignoring the array identity.</summary>
    public bool SameAs(params int[] other) => dims.SequenceEqual(other);
}
