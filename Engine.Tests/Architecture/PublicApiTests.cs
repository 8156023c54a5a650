// The public API's rules (docs/architecture.md, "The public API"), checked on the built assemblies: layers and ops never
// share a name (this file itself imports both namespaces and compiles), ILGPU types only in Engine.Interop, one casing
// for acronyms, and a model's parameter memory cannot be disposed by its user.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using Engine.Interop;
using Engine.Nn;
using Engine.Ops;
using ILGPU;
using ILGPU.Runtime;
using NUnit.Framework;

namespace Engine.Tests.Architecture;

public sealed partial class PublicApiTests
{
    private static readonly Assembly[] Shipped = [typeof(Device).Assembly, typeof(Engine.Kernels.Rng.Philox).Assembly];

    private static IEnumerable<Type> PublicTypes(Assembly a) => a.GetExportedTypes();

    private static IEnumerable<MemberInfo> PublicMembers(Type t) =>
        t.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly);

    [Test]
    public void A_host_with_both_usings_names_layers_and_ops_without_qualification()
    {
        // Compiles only because no name is in both namespaces (CS0104 otherwise): Conv2d is the layer, Conv2dOp the op.
        using var dev = Device.Create(DeviceKind.Cpu, new DeviceOptions { HonorEnvironment = false });
        var layer = new Conv2d(1, 2, 3);
        var geometry = Conv2dOp.Describe(new Shape(1, 1, 5, 5), new Shape(2, 1, 3, 3), new Conv2dOptions());
        Assert.That(geometry.OutputShape, Is.EqualTo(new Shape(1, 2, 3, 3)));
        Assert.That(layer.InferShapes([new Shape(1, 1, 5, 5)])[0], Is.EqualTo(geometry.OutputShape));
        var x = Tensor.FromHost(dev, [1f, -2f, 3f, -4f], new Shape(1, 4));
        var y = Tensor.Zeros(dev, new Shape(1, 4));
        SoftmaxOp.Forward(x, y);
        Assert.That(y.ToArray().Sum(), Is.EqualTo(1f).Within(1e-6f));
        Assert.That(new Softmax().Describe(), Does.StartWith("Softmax"));
        x.Dispose();
        y.Dispose();
    }

    [Test]
    public void No_public_type_name_is_in_both_the_layer_and_the_op_namespace()
    {
        var types = PublicTypes(typeof(Device).Assembly).ToList();
        var layers = types.Where(t => t.Namespace == "Engine.Nn").Select(t => t.Name).ToHashSet();
        var ops = types.Where(t => t.Namespace == "Engine.Ops").Select(t => t.Name);
        Assert.That(ops.Where(layers.Contains).ToList(), Is.Empty);
    }

    [Test]
    public void Ilgpu_types_appear_in_the_public_api_only_in_Engine_Interop()
    {
        var found = new List<string>();
        var engine = typeof(Device).Assembly;
        foreach (var t in PublicTypes(engine).Where(t => t.Namespace != "Engine.Interop"))
        {
            foreach (var m in PublicMembers(t))
            {
                if (SignatureTypes(m).Any(IsIlgpu))
                {
                    found.Add($"{t.FullName}.{m.Name}");
                }
            }

            if (t.BaseType is { } b && IsIlgpu(b) || t.GetInterfaces().Any(IsIlgpu))
            {
                found.Add(t.FullName!);
            }
        }

        Assert.That(found, Is.Empty, "ILGPU types belong in Engine.Interop.IlgpuInterop");
        Assert.That(PublicMembers(typeof(IlgpuInterop)).SelectMany(SignatureTypes).Any(IsIlgpu), Is.True);
    }

    [Test]
    public void Public_names_write_acronyms_one_way()
    {
        // Two letters: upper case (LR, LP, OpenCL's CL). Three or more: one word (Relu, Gelu, Sgd, Rmsprop, Cuda).
        // A run of capitals is therefore at most two letters plus the first letter of the next word.
        var bad = new List<string>();
        foreach (var t in Shipped.SelectMany(PublicTypes))
        {
            var names = new[] { t.Name.Split('`')[0] }.Concat(PublicMembers(t).Select(m => m.Name)).Where(n => !n.Contains('.') && !n.StartsWith("get_") && !n.StartsWith("set_") && !n.StartsWith("init_") && !n.StartsWith("op_") && !n.StartsWith('<'));
            foreach (string n in names)
            {
                if (AcronymRun().IsMatch(n) || PyTorchSpelling().IsMatch(n))
                {
                    bad.Add($"{t.FullName}: {n}");
                }
            }
        }

        Assert.That(bad.Distinct().ToList(), Is.Empty);
    }

    [Test]
    public void A_models_parameters_cannot_be_disposed_by_their_user_and_a_callers_set_can()
    {
        using var dev = Device.Create(DeviceKind.Cpu, new DeviceOptions { HonorEnvironment = false });
        using var model = new Sequential(new Linear(3, 2)).Compile(dev, new Shape(4, 3));
        var owned = model.Parameters;
        Assert.That(owned.IsOwnedByModule, Is.True);
        Assert.That(() => owned.Dispose(), Throws.InvalidOperationException.With.Message.Contain("belongs to a module"));
        Assert.That(owned.Values.ToArray(), Has.Length.EqualTo(8), "the model's parameters are still there");
        Assert.That(typeof(IDisposable).IsAssignableFrom(typeof(BufferSet)), Is.False);

        var mine = ParameterSet.Create(dev, [("w", new Shape(5), ParameterRole.Weight)]);
        Assert.That(mine.IsOwnedByModule, Is.False);
        long before = dev.Allocator.Stats.BytesInUse;
        mine.Dispose();
        Assert.That(dev.Allocator.Stats.BytesInUse, Is.LessThan(before));
    }

    [Test]
    public void The_interop_corner_reaches_the_devices_accelerator_stream_and_a_tensors_memory()
    {
        using var dev = Device.Create(DeviceKind.Cpu, new DeviceOptions { HonorEnvironment = false });
        Assert.That(dev.GetAccelerator(), Is.SameAs(dev.Accelerator));
        Assert.That(dev.GetStream(), Is.SameAs(dev.Stream));
        Assert.That(IlgpuInterop.SharedContext, Is.SameAs(Device.Context));
        using var t = Tensor.Zeros(dev, new Shape(7));
        var fill = dev.GetKernel<Action<AcceleratorStream, Index1D, ArrayView<float>>>("test.interop.seven", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>>(Seven));
        Assert.That(dev.GetKernel<Action<AcceleratorStream, Index1D, ArrayView<float>>>("test.interop.seven", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>>(Seven)), Is.SameAs(fill));
        fill(dev.GetStream(), (int)t.GetView().Length, t.GetView());
        dev.Synchronize();
        Assert.That(t.ToArray(), Is.All.EqualTo(7f));
        using var stream = dev.CreateStream();
        Assert.That(stream, Is.Not.SameAs(dev.GetStream()));
    }

    private static void Seven(Index1D i, ArrayView<float> y) => y[i] = 7f;

    private static IEnumerable<Type> SignatureTypes(MemberInfo m) => (m switch
    {
        MethodInfo mi => mi.GetParameters().Select(p => p.ParameterType).Append(mi.ReturnType),
        ConstructorInfo c => c.GetParameters().Select(p => p.ParameterType),
        PropertyInfo p => [p.PropertyType],
        FieldInfo f => [f.FieldType],
        EventInfo e => [e.EventHandlerType!],
        _ => [],
    }).SelectMany(Expand);

    private static IEnumerable<Type> Expand(Type t)
    {
        if (t.IsByRef || t.IsArray || t.IsPointer)
        {
            return Expand(t.GetElementType()!);
        }

        return t.IsGenericType ? t.GetGenericArguments().SelectMany(Expand).Prepend(t) : [t];
    }

    private static bool IsIlgpu(Type t) => t.Assembly.GetName().Name is "ILGPU" or "ILGPU.Algorithms";

    [GeneratedRegex(@"[A-Z]{4,}[a-z]|[A-Z]{3,}[0-9]*$")]
    private static partial Regex AcronymRun();

    [GeneratedRegex(@"ReLU|RMSprop|SiLU|Lr(?![a-z])")]
    private static partial Regex PyTorchSpelling();
}
