// Reads a compiled assembly's type references between namespaces with System.Reflection.Metadata: every type a type
// names in its base type, interfaces, constraints, fields, signatures, attributes, locals and IL operands, so the
// layer test sees what the compiler bound (parent-namespace lookups, fully-qualified names, aliases), not only usings.
using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace Engine.Tests.Architecture;

/// <summary>One reference from a type of the scanned assembly to another type.</summary>
/// <param name="FromType">Full name of the referencing type (nested types as Outer+Inner).</param>
/// <param name="FromNamespace">Namespace of the referencing type (of its outermost declaring type).</param>
/// <param name="Member">Where the reference sits: a method name, "field NAME", "base type", ...</param>
/// <param name="ToType">Full name of the referenced type.</param>
/// <param name="ToNamespace">Namespace of the referenced type.</param>
/// <param name="File">Source file of the referencing member or type (from the portable PDB), or null.</param>
internal sealed record TypeReferenceEdge(string FromType, string FromNamespace, string Member, string ToType, string ToNamespace, string? File);

/// <summary>Lists the type references of every type in an assembly.</summary>
internal static class TypeReferenceScanner
{
    private static readonly Dictionary<short, OperandType> Operands = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value, o => o.OperandType);

    /// <summary>Every reference from a type whose namespace passes <paramref name="includeSource"/>.</summary>
    public static List<TypeReferenceEdge> Scan(string assemblyPath, Func<string, bool> includeSource)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        var md = pe.GetMetadataReader();
        using var pdb = OpenPdb(assemblyPath);
        var pdbReader = pdb?.GetMetadataReader();
        var names = new Names(md);
        var edges = new List<TypeReferenceEdge>();
        foreach (var th in md.TypeDefinitions)
        {
            var (fromType, fromNs) = names.Of(th);
            if (fromNs.Length == 0 || !includeSource(fromNs))
            {
                continue;
            }

            var td = md.GetTypeDefinition(th);
            string? typeFile = td.GetMethods().Select(m => FileOf(pdbReader, m)).FirstOrDefault(f => f is not null);
            void Add(string member, IEnumerable<string> targets, string? file)
            {
                foreach (var to in targets.Distinct())
                {
                    edges.Add(new TypeReferenceEdge(fromType, fromNs, member, to, Names.NamespaceOf(to), file ?? typeFile));
                }
            }

            if (!td.BaseType.IsNil)
            {
                Add("base type", names.Types(td.BaseType), null);
            }

            foreach (var ih in td.GetInterfaceImplementations())
            {
                Add("interface", names.Types(md.GetInterfaceImplementation(ih).Interface), null);
            }

            foreach (var gp in td.GetGenericParameters())
            {
                foreach (var ch in md.GetGenericParameter(gp).GetConstraints())
                {
                    Add("constraint", names.Types(md.GetGenericParameterConstraint(ch).Type), null);
                }
            }

            Add("attribute", td.GetCustomAttributes().SelectMany(names.OfAttribute), null);
            foreach (var fh in td.GetFields())
            {
                var f = md.GetFieldDefinition(fh);
                Add("field " + md.GetString(f.Name), f.DecodeSignature(names, null).Concat(f.GetCustomAttributes().SelectMany(names.OfAttribute)), null);
            }

            foreach (var ph in td.GetProperties())
            {
                var p = md.GetPropertyDefinition(ph);
                Add("property " + md.GetString(p.Name), p.DecodeSignature(names, null).ReturnType.Concat(p.GetCustomAttributes().SelectMany(names.OfAttribute)), null);
            }

            foreach (var mh in td.GetMethods())
            {
                var m = md.GetMethodDefinition(mh);
                var sig = m.DecodeSignature(names, null);
                var targets = sig.ReturnType.Concat(sig.ParameterTypes.SelectMany(t => t))
                    .Concat(m.GetCustomAttributes().SelectMany(names.OfAttribute))
                    .Concat(m.GetGenericParameters().SelectMany(gp => md.GetGenericParameter(gp).GetConstraints()
                        .SelectMany(c => names.Types(md.GetGenericParameterConstraint(c).Type))));
                if (m.RelativeVirtualAddress != 0)
                {
                    targets = targets.Concat(Body(md, names, pe.GetMethodBody(m.RelativeVirtualAddress)));
                }

                Add(md.GetString(m.Name), targets.ToList(), FileOf(pdbReader, mh));
            }
        }

        return edges;
    }

    /// <summary>The types a method body names: its locals and the tokens of its instructions.</summary>
    private static List<string> Body(MetadataReader md, Names names, MethodBodyBlock body)
    {
        var found = new List<string>();
        if (!body.LocalSignature.IsNil)
        {
            var locals = md.GetStandaloneSignature(body.LocalSignature).DecodeLocalSignature(names, null);
            found.AddRange(locals.SelectMany(t => t));
        }

        var il = body.GetILReader();
        while (il.RemainingBytes > 0)
        {
            short code = il.ReadByte();
            if (code == 0xFE)
            {
                code = unchecked((short)(0xFE00 | il.ReadByte()));
            }

            switch (Operands[code])
            {
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    il.Offset += 1;
                    break;
                case OperandType.InlineVar:
                    il.Offset += 2;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    il.Offset += 8;
                    break;
                case OperandType.InlineSwitch:
                    int targets = il.ReadInt32();
                    il.Offset += 4 * targets;
                    break;
                case OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineTok or OperandType.InlineType:
                    found.AddRange(names.Types(MetadataTokens.EntityHandle(il.ReadInt32())));
                    break;
                case OperandType.InlineBrTarget or OperandType.InlineI or OperandType.InlineSig or OperandType.InlineString or OperandType.ShortInlineR:
                    il.Offset += 4;
                    break;
                default:
                    throw new InvalidOperationException($"IL operand type {Operands[code]} of opcode 0x{code:X} is not handled.");
            }
        }

        return found;
    }

    private static MetadataReaderProvider? OpenPdb(string assemblyPath)
    {
        string pdb = Path.ChangeExtension(assemblyPath, ".pdb");
        return File.Exists(pdb) ? MetadataReaderProvider.FromPortablePdbStream(File.OpenRead(pdb)) : null;
    }

    private static string? FileOf(MetadataReader? pdb, MethodDefinitionHandle method)
    {
        if (pdb is null)
        {
            return null;
        }

        var info = pdb.GetMethodDebugInformation(method);
        var doc = !info.Document.IsNil ? info.Document : info.GetSequencePoints().Select(s => s.Document).FirstOrDefault(d => !d.IsNil);
        return doc.IsNil ? null : pdb.GetString(pdb.GetDocument(doc).Name);
    }

    /// <summary>Full names of the types behind handles and signatures (generic arguments, arrays and pointers unwrapped).</summary>
    private sealed class Names(MetadataReader md) : ISignatureTypeProvider<IEnumerable<string>, object?>
    {
        public static string NamespaceOf(string fullName)
        {
            string outer = fullName.Split('+')[0];
            int dot = outer.LastIndexOf('.');
            return dot < 0 ? string.Empty : outer[..dot];
        }

        public (string FullName, string Namespace) Of(TypeDefinitionHandle h)
        {
            var t = md.GetTypeDefinition(h);
            var declaring = t.GetDeclaringType();
            if (!declaring.IsNil)
            {
                var (outer, ns) = Of(declaring);
                return (outer + "+" + md.GetString(t.Name), ns);
            }

            string nsName = md.GetString(t.Namespace);
            return ((nsName.Length == 0 ? string.Empty : nsName + ".") + md.GetString(t.Name), nsName);
        }

        public IEnumerable<string> Types(EntityHandle h) => h.Kind switch
        {
            HandleKind.TypeDefinition => [Of((TypeDefinitionHandle)h).FullName],
            HandleKind.TypeReference => [OfReference((TypeReferenceHandle)h)],
            HandleKind.TypeSpecification => md.GetTypeSpecification((TypeSpecificationHandle)h).DecodeSignature(this, null),
            HandleKind.MethodDefinition => Types(md.GetMethodDefinition((MethodDefinitionHandle)h).GetDeclaringType()),
            HandleKind.FieldDefinition => Types(md.GetFieldDefinition((FieldDefinitionHandle)h).GetDeclaringType()),
            HandleKind.MemberReference => OfMember(md.GetMemberReference((MemberReferenceHandle)h)),
            HandleKind.MethodSpecification => OfMethodSpec(md.GetMethodSpecification((MethodSpecificationHandle)h)),
            _ => [],
        };

        public IEnumerable<string> OfAttribute(CustomAttributeHandle h) => Types(md.GetCustomAttribute(h).Constructor);

        private IEnumerable<string> OfMember(MemberReference m)
        {
            var parent = m.Parent.Kind is HandleKind.TypeDefinition or HandleKind.TypeReference or HandleKind.TypeSpecification
                or HandleKind.MethodDefinition ? Types(m.Parent) : [];
            var sig = m.GetKind() == MemberReferenceKind.Method
                ? Flatten(m.DecodeMethodSignature(this, null))
                : m.DecodeFieldSignature(this, null);
            return parent.Concat(sig);
        }

        private IEnumerable<string> OfMethodSpec(MethodSpecification s) =>
            Types(s.Method).Concat(s.DecodeSignature(this, null).SelectMany(t => t));

        private string OfReference(TypeReferenceHandle h)
        {
            var r = md.GetTypeReference(h);
            if (r.ResolutionScope.Kind == HandleKind.TypeReference)
            {
                return OfReference((TypeReferenceHandle)r.ResolutionScope) + "+" + md.GetString(r.Name);
            }

            string ns = md.GetString(r.Namespace);
            return (ns.Length == 0 ? string.Empty : ns + ".") + md.GetString(r.Name);
        }

        private static IEnumerable<string> Flatten(MethodSignature<IEnumerable<string>> s) => s.ReturnType.Concat(s.ParameterTypes.SelectMany(t => t));

        public IEnumerable<string> GetArrayType(IEnumerable<string> elementType, ArrayShape shape) => elementType;

        public IEnumerable<string> GetByReferenceType(IEnumerable<string> elementType) => elementType;

        public IEnumerable<string> GetFunctionPointerType(MethodSignature<IEnumerable<string>> signature) => Flatten(signature);

        public IEnumerable<string> GetGenericInstantiation(IEnumerable<string> genericType, ImmutableArray<IEnumerable<string>> typeArguments) =>
            genericType.Concat(typeArguments.SelectMany(t => t));

        public IEnumerable<string> GetGenericMethodParameter(object? genericContext, int index) => [];

        public IEnumerable<string> GetGenericTypeParameter(object? genericContext, int index) => [];

        public IEnumerable<string> GetModifiedType(IEnumerable<string> modifier, IEnumerable<string> unmodifiedType, bool isRequired) => unmodifiedType;

        public IEnumerable<string> GetPinnedType(IEnumerable<string> elementType) => elementType;

        public IEnumerable<string> GetPointerType(IEnumerable<string> elementType) => elementType;

        public IEnumerable<string> GetPrimitiveType(PrimitiveTypeCode typeCode) => [];

        public IEnumerable<string> GetSZArrayType(IEnumerable<string> elementType) => elementType;

        public IEnumerable<string> GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => [Of(handle).FullName];

        public IEnumerable<string> GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => [OfReference(handle)];

        public IEnumerable<string> GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind) =>
            Types(handle);
    }
}
