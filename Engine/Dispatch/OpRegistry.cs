// ATen-style dispatch: for each op, a table of named implementations per compute path.
using System;
using System.Collections.Generic;
using System.Linq;

namespace Engine.Dispatch;

/// <summary>One registered implementation of an op.</summary>
/// <param name="Variant">Stable name, e.g. <c>kernel.tiled</c> or <c>host.simd</c>.</param>
/// <param name="Path">The compute path it runs on.</param>
/// <param name="IsDefault">Whether dispatch picks it for its path.</param>
/// <param name="Description">What it is, for the op table in the docs.</param>
public sealed record OpVariantInfo(string Variant, ComputePath Path, bool IsDefault, string Description);

/// <summary>Non-generic view of an op's registry, for listing.</summary>
public interface IOpRegistry
{
    /// <summary>The op's name.</summary>
    string Op { get; }

    /// <summary>Every registered implementation.</summary>
    IReadOnlyList<OpVariantInfo> Variants { get; }
}

/// <summary>
/// The implementations of one op, keyed by variant name and compute path. <see cref="Resolve"/> picks the
/// default for a device's <see cref="Device.Path"/>, falling back to the kernel path when the host path has none.
/// </summary>
/// <typeparam name="TImpl">The op's implementation delegate type.</typeparam>
internal sealed class OpRegistry<TImpl> : IOpRegistry where TImpl : Delegate
{
    private readonly Dictionary<string, (OpVariantInfo Info, TImpl Impl)> variants = new(StringComparer.Ordinal);
    private readonly TImpl?[] defaults = new TImpl?[2];

    /// <summary>Creates an empty registry for <paramref name="op"/>.</summary>
    public OpRegistry(string op)
    {
        Op = op;
        OpTable.Add(this);
    }

    /// <inheritdoc />
    public string Op { get; }

    /// <inheritdoc />
    public IReadOnlyList<OpVariantInfo> Variants => variants.Values.Select(v => v.Info).ToList();

    /// <summary>Registers an implementation; the first one registered for a path, or one marked default, is that path's default.</summary>
    public OpRegistry<TImpl> Register(string variant, ComputePath path, TImpl impl, string description, bool isDefault = false)
    {
        bool makeDefault = isDefault || defaults[(int)path] is null;
        if (makeDefault)
        {
            foreach (var key in variants.Keys.ToList())
            {
                var (info, i) = variants[key];
                if (info.Path == path && info.IsDefault)
                {
                    variants[key] = (info with { IsDefault = false }, i);
                }
            }

            defaults[(int)path] = impl;
        }

        variants[variant] = (new OpVariantInfo(variant, path, makeDefault, description), impl);
        return this;
    }

    /// <summary>The default implementation for <paramref name="device"/>'s compute path.</summary>
    public TImpl Resolve(Device device) =>
        defaults[(int)device.Path] ?? defaults[(int)ComputePath.Kernels]
        ?? throw new NotSupportedException($"Op '{Op}' has no implementation for {device.Kind} ({device.Path}).");

    /// <summary>The implementation registered as <paramref name="variant"/>.</summary>
    /// <exception cref="ArgumentException">No such variant; the message lists the registered ones.</exception>
    public TImpl Get(string variant) =>
        variants.TryGetValue(variant, out var v)
            ? v.Impl
            : throw new ArgumentException($"Op '{Op}' has no variant '{variant}'; registered: {string.Join(", ", variants.Keys)}.", nameof(variant));

    /// <summary>The implementation a call uses: <paramref name="variant"/> when given, else the device's default.</summary>
    public TImpl Select(Device device, string? variant) => variant is null ? Resolve(device) : Get(variant);
}

/// <summary>Every op registry of the engine, for docs and tests.</summary>
public static class OpTable
{
    private static readonly List<IOpRegistry> Registries = new();

    /// <summary>
    /// Every registry of the engine assembly, sorted by op. Their owners (types with a static field holding a registry
    /// or a list of them, such as the op tables) are initialized first.
    /// </summary>
    public static IReadOnlyList<IOpRegistry> All
    {
        get
        {
            EnsureLoaded();
            lock (Registries)
            {
                return Registries.OrderBy(r => r.Op, StringComparer.Ordinal).ToList();
            }
        }
    }

    /// <summary>
    /// The dispatch table as Markdown: one row per (op, variant) with its compute path, whether it is that path's
    /// default, and what it is. docs/ops.md embeds this table; a test keeps the two equal.
    /// </summary>
    public static string ToMarkdown()
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("| op | variant | path | default | implementation |\n| --- | --- | --- | --- | --- |\n");
        foreach (var r in All)
        {
            foreach (var v in r.Variants.OrderBy(v => v.Path).ThenBy(v => v.Variant, StringComparer.Ordinal))
            {
                sb.Append("| ").Append(r.Op).Append(" | ").Append(v.Variant).Append(" | ").Append(v.Path)
                  .Append(" | ").Append(v.IsDefault ? "yes" : string.Empty).Append(" | ").Append(v.Description).Append(" |\n");
            }
        }

        return sb.ToString();
    }

    private static void EnsureLoaded()
    {
        foreach (var t in typeof(OpTable).Assembly.GetTypes())
        {
            bool owns = t.GetFields(System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)
                .Any(f => typeof(IOpRegistry).IsAssignableFrom(f.FieldType) || typeof(IEnumerable<IOpRegistry>).IsAssignableFrom(f.FieldType));
            if (owns && !t.ContainsGenericParameters)
            {
                System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(t.TypeHandle);
            }
        }
    }

    internal static void Add(IOpRegistry registry)
    {
        lock (Registries)
        {
            Registries.Add(registry);
        }
    }
}
