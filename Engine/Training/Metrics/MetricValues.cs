// Metric values by name: what EpochMetrics, EvaluationResult and progress reports carry (e.g. rmse, mean_iou).
using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Engine.Training;

/// <summary>
/// Named metric values in a fixed order, compared by content. Those in results (<see cref="EpochMetrics"/>,
/// <see cref="EvaluationResult"/>) never change; the one in a <see cref="TrainingProgress"/> report is the trainer's
/// running copy, updated in place between reports (copy what you keep).
/// </summary>
public sealed class MetricValues : IReadOnlyDictionary<string, double>, IEquatable<MetricValues>
{
    private readonly string[] names;
    private readonly double[] values;

    /// <summary>Creates values; <paramref name="names"/> must be distinct and as many as <paramref name="values"/>.</summary>
    /// <exception cref="ArgumentException">The lengths differ or a name repeats.</exception>
    public MetricValues(IReadOnlyList<string> names, IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(values);
        if (names.Count != values.Count)
        {
            throw new ArgumentException($"{names.Count} names but {values.Count} values.", nameof(values));
        }

        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
        {
            throw new ArgumentException($"Metric names repeat: {string.Join(", ", names)}.", nameof(names));
        }

        this.names = [.. names];
        this.values = [.. values];
    }

    /// <summary>No values.</summary>
    public static MetricValues Empty { get; } = new([], []);

    /// <inheritdoc />
    public int Count => names.Length;

    /// <summary>The names, in order.</summary>
    public IEnumerable<string> Keys => names;

    /// <summary>The values, in the names' order.</summary>
    public IEnumerable<double> Values => values;

    /// <summary>The value named <paramref name="key"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such metric; the message lists those there are.</exception>
    public double this[string key] => TryGetValue(key, out double v)
        ? v
        : throw new KeyNotFoundException($"No metric '{key}'; there are: {(names.Length == 0 ? "none" : string.Join(", ", names))}.");

    /// <inheritdoc />
    public bool ContainsKey(string key) => Array.IndexOf(names, key) >= 0;

    /// <inheritdoc />
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out double value)
    {
        int i = Array.IndexOf(names, key);
        value = i >= 0 ? values[i] : double.NaN;
        return i >= 0;
    }

    /// <summary>The value named <paramref name="key"/>, or NaN when there is none.</summary>
    public double GetOrNaN(string key) => TryGetValue(key, out double v) ? v : double.NaN;

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, double>> GetEnumerator()
    {
        for (int i = 0; i < names.Length; i++)
        {
            yield return KeyValuePair.Create(names[i], values[i]);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public bool Equals(MetricValues? other) =>
        other is not null && names.AsSpan().SequenceEqual(other.names) && values.AsSpan().SequenceEqual(other.values);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as MetricValues);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (string n in names)
        {
            h.Add(n, StringComparer.Ordinal);
        }

        return h.ToHashCode();
    }

    /// <summary>Formats as <c>rmse 0.1234, r2 0.9512</c>, fractions of names ending in accuracy, iou or dice as percentages.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < names.Length; i++)
        {
            sb.Append(i == 0 ? string.Empty : ", ").Append(Format(names[i], values[i]));
        }

        return sb.ToString();
    }

    /// <summary><c>name value</c>, a percentage for accuracies, IoU and Dice.</summary>
    public static string Format(string name, double value)
    {
        ArgumentNullException.ThrowIfNull(name);
        bool percent = name.EndsWith("accuracy", StringComparison.Ordinal) || name.Contains("iou", StringComparison.Ordinal) || name.Contains("dice", StringComparison.Ordinal);
        return percent
            ? string.Create(CultureInfo.InvariantCulture, $"{name} {value * 100:F2}%")
            : string.Create(CultureInfo.InvariantCulture, $"{name} {value:G4}");
    }

    /// <summary>A copy that does not follow later changes.</summary>
    internal MetricValues Snapshot() => new(names, values);

    /// <summary>The values, writable (the trainer's running copy only).</summary>
    internal Span<double> Writable => values;
}
