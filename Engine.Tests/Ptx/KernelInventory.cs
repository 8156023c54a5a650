// Derives "every kernel the engine launches" instead of keeping a list: the kernel methods whose delegates the
// Engine assembly creates (an ldftn in its IL, which is how every `acc.Load...Kernel(Kernels.X)` starts), checked
// against every kernel-shaped method the Kernels assembly declares. Generic kernels are instantiated with every
// struct of the Kernels assembly that satisfies their constraints, so operator-struct kernels are covered too.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Reflection.Emit;
using ILGPU;

namespace Engine.Tests.Ptx;

/// <summary>A kernel to compile: a closed method and whether it is implicitly grouped (leading index).</summary>
public sealed record KernelEntry(MethodInfo Method, bool ImplicitlyGrouped)
{
    /// <summary>A stable file-friendly name, e.g. Gemm.GemmTiledKernel.Run or Activations.ActivationKernels.Forward[Relu].</summary>
    public string Name
    {
        get
        {
            string type = Method.DeclaringType!.FullName!.Replace("Engine.Kernels.", "", StringComparison.Ordinal).Replace('+', '.');
            string args = Method.IsGenericMethod ? "[" + string.Join(",", Method.GetGenericArguments().Select(a => a.Name)) + "]" : "";
            return $"{type}.{Method.Name}{args}";
        }
    }

    public override string ToString() => Name;
}

public static class KernelInventory
{
    private static readonly Assembly KernelsAssembly = typeof(Engine.Kernels.Gemm.GemmTiledKernel).Assembly;
    private static readonly Assembly EngineAssembly = typeof(Device).Assembly;
    private static readonly Type[] IndexTypes = [typeof(Index1D), typeof(Index2D), typeof(Index3D)];

    /// <summary>Kernel method definitions (generic ones open) whose delegates the Engine assembly creates.</summary>
    public static IReadOnlySet<MethodInfo> LoadedByEngine() => ReferencedBy(EngineAssembly, OpCodes.Ldftn, OpCodes.Ldvirtftn)
        .Where(m => m.DeclaringType?.Assembly == KernelsAssembly && IsKernelShaped(m))
        .ToHashSet();

    /// <summary>
    /// Public static kernel-shaped methods of the Kernels assembly that no other Kernels method calls (device
    /// helpers such as tree reductions are called; entry points are not).
    /// </summary>
    public static IReadOnlySet<MethodInfo> DeclaredByKernels()
    {
        var called = ReferencedBy(KernelsAssembly, OpCodes.Call, OpCodes.Callvirt).ToHashSet();
        return KernelsAssembly.GetExportedTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => IsKernelShaped(m) && !called.Contains(m))
            .ToHashSet();
    }

    /// <summary>Every kernel the engine launches, generic ones once per satisfying operator struct, ordered by name.</summary>
    public static IReadOnlyList<KernelEntry> All() => LoadedByEngine()
        .SelectMany(m => Instantiate(m))
        .Select(m => new KernelEntry(m, IndexTypes.Contains(m.GetParameters()[0].ParameterType)))
        .OrderBy(e => e.Name, StringComparer.Ordinal)
        .ToList();

    /// <summary>A kernel entry: static, void, an optional leading index, then views and value types, at least one view.</summary>
    public static bool IsKernelShaped(MethodInfo m)
    {
        if (!m.IsStatic || m.ReturnType != typeof(void))
        {
            return false;
        }

        var ps = m.GetParameters();
        int start = ps.Length > 0 && IndexTypes.Contains(ps[0].ParameterType) ? 1 : 0;
        bool anyView = false;
        for (int i = start; i < ps.Length; i++)
        {
            var t = ps[i].ParameterType;
            if (t.IsByRef || !(t.IsValueType || t.IsGenericParameter))
            {
                return false;
            }

            anyView |= t.IsGenericType && t.GetGenericTypeDefinition() == typeof(ArrayView<>);
        }

        return anyView;
    }

    /// <summary>
    /// A method definition as it is compiled: itself, or, when generic, once for every combination of public structs
    /// of the Kernels assembly that satisfies its constraints. A type parameter without an interface constraint
    /// cannot be enumerated and throws.
    /// </summary>
    public static IEnumerable<MethodInfo> Instantiate(MethodInfo definition) => Instantiate(definition, KernelsAssembly);

    /// <summary>Like <see cref="Instantiate(MethodInfo)"/>, with the structs taken from <paramref name="structSource"/>.</summary>
    public static IEnumerable<MethodInfo> Instantiate(MethodInfo definition, Assembly structSource)
    {
        if (!definition.IsGenericMethodDefinition)
        {
            return [definition];
        }

        var structs = structSource.GetExportedTypes().Where(t => t.IsValueType && !t.IsEnum && !t.IsGenericTypeDefinition).ToArray();
        var perParameter = definition.GetGenericArguments().Select(p =>
        {
            var interfaces = p.GetGenericParameterConstraints().Where(c => c.IsInterface).ToArray();
            if (interfaces.Length == 0)
            {
                throw new InvalidOperationException(
                    $"Generic kernel {definition.DeclaringType}.{definition.Name}: type parameter {p.Name} has no interface constraint, so the structs it runs with cannot be enumerated.");
            }

            return structs.Where(s => interfaces.All(i => !i.ContainsGenericParameters ? i.IsAssignableFrom(s) : s.GetInterfaces().Any(si => si.IsGenericType && si.GetGenericTypeDefinition() == i.GetGenericTypeDefinition()))).ToArray();
        }).ToArray();

        var result = new List<MethodInfo>();
        foreach (var combination in Cartesian(perParameter))
        {
            try
            {
                result.Add(definition.MakeGenericMethod(combination));
            }
            catch (ArgumentException)
            {
                // The combination violates a constraint the filter above could not see (e.g. a self-referencing one).
            }
        }

        if (result.Count == 0)
        {
            throw new InvalidOperationException($"Generic kernel {definition.DeclaringType}.{definition.Name}: no struct of {structSource.GetName().Name} satisfies its constraints.");
        }

        return result;
    }

    private static IEnumerable<Type[]> Cartesian(Type[][] sets)
    {
        IEnumerable<Type[]> acc = [[]];
        foreach (var set in sets)
        {
            acc = acc.SelectMany(prefix => set.Select(t => prefix.Append(t).ToArray()));
        }

        return acc;
    }

    /// <summary>Methods referenced by the given opcodes anywhere in an assembly's IL (generic ones as definitions).</summary>
    private static IEnumerable<MethodInfo> ReferencedBy(Assembly assembly, params OpCode[] opcodes)
    {
        var wanted = opcodes.Select(o => o.Value).ToHashSet();
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        foreach (var type in assembly.GetTypes())
        {
            foreach (var method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
            {
                byte[]? il = method.GetMethodBody()?.GetILAsByteArray();
                if (il is null)
                {
                    continue;
                }

                foreach (var (opcode, token) in IlReader.MethodTokens(il))
                {
                    if (!wanted.Contains(opcode))
                    {
                        continue;
                    }

                    MethodBase? target;
                    try
                    {
                        target = method.Module.ResolveMethod(
                            token,
                            type.IsGenericType ? type.GetGenericArguments() : null,
                            method.IsGenericMethod ? method.GetGenericArguments() : null);
                    }
                    catch (ArgumentException)
                    {
                        continue;
                    }

                    if (target is MethodInfo mi)
                    {
                        yield return mi.IsGenericMethod ? mi.GetGenericMethodDefinition() : mi;
                    }
                }
            }
        }
    }
}

/// <summary>Walks IL byte code and yields the method-token operands (opcode value, token).</summary>
internal static class IlReader
{
    private static readonly OpCode[] OneByte = new OpCode[256];
    private static readonly OpCode[] TwoByte = new OpCode[256];

    static IlReader()
    {
        foreach (var f in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var op = (OpCode)f.GetValue(null)!;
            ushort v = unchecked((ushort)op.Value);
            if (op.Size == 1)
            {
                OneByte[v] = op;
            }
            else
            {
                TwoByte[v & 0xff] = op;
            }
        }
    }

    public static IEnumerable<(short Opcode, int Token)> MethodTokens(byte[] il)
    {
        int pos = 0;
        while (pos < il.Length)
        {
            OpCode op = il[pos] == 0xFE ? TwoByte[il[++pos]] : OneByte[il[pos]];
            pos++;
            int operand = OperandSize(op, il, pos);
            if (op.OperandType == OperandType.InlineMethod)
            {
                yield return (op.Value, BitConverter.ToInt32(il, pos));
            }

            pos += operand;
        }
    }

    private static int OperandSize(OpCode op, byte[] il, int pos) => op.OperandType switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        OperandType.InlineSwitch => 4 + (4 * BitConverter.ToInt32(il, pos)),
        OperandType.InlineBrTarget or OperandType.InlineField or OperandType.InlineI or OperandType.InlineMethod
            or OperandType.InlineSig or OperandType.InlineString or OperandType.InlineTok or OperandType.InlineType
            or OperandType.ShortInlineR => 4,
        _ => throw new InvalidOperationException($"IL opcode {op.Name} has an unknown operand type {op.OperandType}"),
    };
}
