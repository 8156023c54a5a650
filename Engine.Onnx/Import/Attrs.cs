// Node attributes by name with ONNX's defaults, and a check that a node carries no attribute the importer would ignore.
using System;
using System.Linq;
using Onnx;

namespace Engine.Onnx.Import;

/// <summary>Reads node attributes.</summary>
internal static class Attrs
{
    public static long Int(NodeProto n, string name, long fallback) => Find(n, name) is { } a ? a.I : fallback;

    public static float Float(NodeProto n, string name, float fallback) => Find(n, name) is { } a ? a.F : fallback;

    public static long[]? Ints(NodeProto n, string name) => Find(n, name)?.Ints.ToArray();

    public static string Str(NodeProto n, string name, string fallback) => Find(n, name) is { } a ? a.S.ToStringUtf8() : fallback;

    /// <summary>Fails on any attribute other than <paramref name="known"/> (its meaning would be ignored).</summary>
    public static void Only(ImportState s, NodeProto n, params string[] known)
    {
        var other = n.Attribute.Select(a => a.Name).Where(a => !known.Contains(a, StringComparer.Ordinal)).ToList();
        if (other.Count > 0)
        {
            throw s.Error(n, $"has attribute(s) {string.Join(", ", other)} that the importer does not read{(known.Length > 0 ? $" (it reads {string.Join(", ", known)})" : string.Empty)}.");
        }
    }

    private static AttributeProto? Find(NodeProto n, string name) => n.Attribute.FirstOrDefault(a => a.Name == name);
}
