// The rank host's options: --name value pairs and bare --flags, read by name with defaults.
using System;
using System.Collections.Generic;
using System.Globalization;

namespace Engine.Tests.RankHost;

internal sealed class HostOptions
{
    private readonly Dictionary<string, string> values = new(StringComparer.Ordinal);

    public static HostOptions Parse(IReadOnlyList<string> args)
    {
        var o = new HostOptions();
        for (int i = 0; i < args.Count; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected argument '{args[i]}'");
            }

            string name = args[i][2..];
            bool hasValue = i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
            o.values[name] = hasValue ? args[++i] : "true";
        }

        return o;
    }

    public bool Flag(string name) => values.ContainsKey(name);

    public string String(string name, string fallback) => values.TryGetValue(name, out var v) ? v : fallback;

    public string? Maybe(string name) => values.TryGetValue(name, out var v) ? v : null;

    public int Int(string name, int fallback) => values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public double Double(string name, double fallback) => values.TryGetValue(name, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
}
