// A case's params with read-tracking: the engine's activation and loss parsers (ActivationOps.FromJson, LossSpec)
// read JSON params through it, so it stays in Engine.dll while they do; the rest of the conformance runner lives in
// tools/Engine.Conformance. Once the parsers read params another way, this file moves there too.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;

namespace Engine.Conformance;

/// <summary>
/// A case's params. Every key a handler reads is recorded; keys left unread after the case ran make it fail as
/// "unknown param", so a file can never silently ask for a setting the engine ignores.
/// </summary>
public sealed class CaseParams
{
    private readonly JsonObject json;
    private readonly HashSet<string> read = new(StringComparer.Ordinal);

    /// <summary>Wraps a params object.</summary>
    public CaseParams(JsonObject? json) => this.json = json ?? new JsonObject();

    /// <summary>The raw JSON.</summary>
    public JsonObject Json => json;

    /// <summary>Keys present in the file but never read.</summary>
    public IEnumerable<string> Unread => json.Select(kv => kv.Key).Where(k => !read.Contains(k));

    /// <summary>Whether the key is present (marks it read).</summary>
    public bool Has(string key)
    {
        read.Add(key);
        return json.ContainsKey(key) && json[key] is not null;
    }

    /// <summary>A number, or <paramref name="fallback"/> when absent.</summary>
    public double Number(string key, double fallback)
    {
        read.Add(key);
        return json[key] is JsonValue v ? v.GetValue<double>() : fallback;
    }

    /// <summary>A required number.</summary>
    public double Number(string key) => Has(key) ? Number(key, 0) : throw new FormatException($"param '{key}' is required");

    /// <summary>An integer, or <paramref name="fallback"/> when absent.</summary>
    public int Int(string key, int fallback) => (int)Math.Round(Number(key, fallback));

    /// <summary>A boolean, or <paramref name="fallback"/> when absent.</summary>
    public bool Bool(string key, bool fallback)
    {
        read.Add(key);
        return json[key] is JsonValue v ? v.GetValue<bool>() : fallback;
    }

    /// <summary>A string, or <paramref name="fallback"/> when absent.</summary>
    public string Str(string key, string fallback)
    {
        read.Add(key);
        return json[key] is JsonValue v ? v.GetValue<string>() : fallback;
    }

    /// <summary>An integer pair such as stride [sH, sW]; a single number n means [n, n].</summary>
    public int[] Pair(string key, int fallback)
    {
        read.Add(key);
        return json[key] switch
        {
            JsonArray a => a.Select(x => (int)Math.Round(x!.GetValue<double>())).ToArray(),
            JsonValue v => [(int)Math.Round(v.GetValue<double>()), (int)Math.Round(v.GetValue<double>())],
            _ => [fallback, fallback],
        };
    }

    /// <summary>A nested object (marks it read; its handler validates it).</summary>
    public JsonNode? Node(string key)
    {
        read.Add(key);
        return json[key];
    }
}
