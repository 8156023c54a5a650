// The neutral way the op tables read an op's named settings (an activation's alpha, a loss's reduction): an
// interface the conformance runner's case params implement, and a plain dictionary for code and JSON layer objects.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;

namespace Engine.Ops;

/// <summary>
/// Named settings of one op, read by name with a fallback. Implementations record which keys were read, so a
/// caller can reject settings no op asked for.
/// </summary>
public interface IOpParams
{
    /// <summary>Whether the key is present (marks it read).</summary>
    bool Has(string key);

    /// <summary>A number, or <paramref name="fallback"/> when absent.</summary>
    double Number(string key, double fallback);

    /// <summary>An integer, or <paramref name="fallback"/> when absent.</summary>
    int Int(string key, int fallback);

    /// <summary>A boolean, or <paramref name="fallback"/> when absent.</summary>
    bool Bool(string key, bool fallback);

    /// <summary>A string, or <paramref name="fallback"/> when absent.</summary>
    string Str(string key, string fallback);
}

/// <summary>
/// An <see cref="IOpParams"/> over a dictionary of numbers, strings and booleans, e.g. the settings of
/// <c>Activation.Named("leaky_relu", ("alpha", 0.1))</c> or a layer object <c>{"type": "elu", "alpha": 0.5}</c>.
/// </summary>
public sealed class OpParams : IOpParams
{
    private readonly Dictionary<string, object> values = new(StringComparer.Ordinal);
    private readonly HashSet<string> read = new(StringComparer.Ordinal);

    /// <summary>Creates the settings; each value must be a number, a string or a bool.</summary>
    /// <exception cref="ArgumentException">A value of another type; the message names its key.</exception>
    public OpParams(IEnumerable<KeyValuePair<string, object>> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        foreach (var (key, value) in settings)
        {
            values[key] = value switch
            {
                string or bool => value,
                IConvertible number when value is not char => number.ToDouble(CultureInfo.InvariantCulture),
                _ => throw new ArgumentException($"setting '{key}' must be a number, a string or a bool, got {value?.GetType().Name ?? "null"}.", nameof(settings)),
            };
        }
    }

    /// <summary>Keys present but never read.</summary>
    public IEnumerable<string> Unread => values.Keys.Where(k => !read.Contains(k));

    /// <summary>The settings of a JSON object's scalar members, except <paramref name="skip"/> (such as its type key).</summary>
    /// <exception cref="ArgumentException">A member is not a number, string or bool.</exception>
    public static OpParams FromJson(JsonObject json, string? skip = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        // Round-trip through text so that values built in code (a JsonValue of an int, say) read like parsed ones.
        var parsed = (JsonObject)JsonNode.Parse(json.ToJsonString())!;
        var list = new List<KeyValuePair<string, object>>();
        foreach (var (key, node) in parsed)
        {
            if (key == skip)
            {
                continue;
            }

            object value = node is JsonValue v && v.TryGetValue<bool>(out var b) ? b
                : node is JsonValue s && s.TryGetValue<string>(out var text) ? text
                : node is JsonValue n && n.TryGetValue<double>(out var d) ? d
                : throw new ArgumentException($"setting '{key}' must be a number, a string or a bool: {node?.ToJsonString() ?? "null"}.", nameof(json));
            list.Add(new(key, value));
        }

        return new OpParams(list);
    }

    /// <inheritdoc />
    public bool Has(string key)
    {
        read.Add(key);
        return values.ContainsKey(key);
    }

    /// <inheritdoc />
    public double Number(string key, double fallback) => Get(key, fallback, "a number");

    /// <inheritdoc />
    public int Int(string key, int fallback) => (int)Math.Round(Number(key, fallback));

    /// <inheritdoc />
    public bool Bool(string key, bool fallback) => Get(key, fallback, "true or false");

    /// <inheritdoc />
    public string Str(string key, string fallback) => Get(key, fallback, "a string");

    private T Get<T>(string key, T fallback, string what)
    {
        read.Add(key);
        if (!values.TryGetValue(key, out var v))
        {
            return fallback;
        }

        return v is T t ? t : throw new ArgumentException($"setting '{key}' must be {what}, got {v}.", key);
    }
}
