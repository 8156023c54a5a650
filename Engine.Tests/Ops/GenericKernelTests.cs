// Every generic kernel of Engine.Kernels is instantiated per operator struct; this keeps them enumerable by
// reflection (as a PTX compile check does): each type parameter is constrained to a public interface of the
// kernels assembly, and the public structs implementing it are the instantiations.
using System;
using System.Linq;
using System.Reflection;
using Engine.Kernels.Activations;
using NUnit.Framework;

namespace Engine.Tests.Ops;

public sealed class GenericKernelTests
{
    [Test]
    public void Every_generic_kernel_is_enumerable_with_its_operator_structs()
    {
        var asm = typeof(IActivationOperator).Assembly;
        var kernels = asm.GetExportedTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => m.IsGenericMethodDefinition)
            .ToList();
        var names = kernels.Select(m => $"{m.DeclaringType!.Name}.{m.Name}").ToList();
        Assert.That(names, Is.EquivalentTo(new[]
        {
            "ActivationKernels.Forward", "ActivationKernels.Backward", "PointwiseLossKernels.Reduce", "PointwiseLossKernels.Backward",
            "RegionLossKernels.Finish", "RegionLossKernels.Backward", "OptimizerKernels.Step", "BinaryKernels.Forward", "BinaryKernels.Backward",
        }));
        foreach (var m in kernels)
        {
            var arg = m.GetGenericArguments().Single();
            var contract = arg.GetGenericParameterConstraints().Single(c => c.IsInterface);
            Assert.That(contract.Assembly, Is.SameAs(asm), $"{m.Name}: {contract.Name}");
            Assert.That(contract.IsPublic, Is.True, contract.Name);
            var ops = asm.GetExportedTypes().Where(t => t.IsValueType && contract.IsAssignableFrom(t)).ToList();
            Assert.That(ops, Is.Not.Empty, contract.Name);
            foreach (var op in ops)
            {
                Assert.That(() => m.MakeGenericMethod(op), Throws.Nothing, $"{m.Name}<{op.Name}>");
            }
        }

        // Every activation operator struct is a row of the activation table (and so has fixtures, docs and dispatch rows).
        Assert.That(asm.GetExportedTypes().Count(t => t.IsValueType && typeof(IActivationOperator).IsAssignableFrom(t)),
            Is.EqualTo(Engine.Ops.ActivationTable.All.Count(r => r.IsElementwise)));

        // Likewise every binary operator struct is a row of the binary table, and the rows follow the BinaryOp order.
        Assert.That(asm.GetExportedTypes().Count(t => t.IsValueType && typeof(Engine.Kernels.Elementwise.IBinaryOperator).IsAssignableFrom(t)),
            Is.EqualTo(Engine.Ops.BinaryTable.All.Count));
        Assert.That(Engine.Ops.BinaryTable.All.Select(r => r.Op), Is.EqualTo(Enum.GetValues<Engine.Ops.BinaryOp>()));
    }
}
