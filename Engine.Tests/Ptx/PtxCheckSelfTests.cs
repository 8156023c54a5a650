// The PTX check is not vacuous: kernels built to break each rule are caught, stated opt-ins are honored, and a
// generic kernel is enumerated once per struct that satisfies its constraint (and no other).
using System.Linq;
using Engine.Kernels;
using ILGPU;
using NUnit.Framework;

namespace Engine.Tests.Ptx;

/// <summary>An operator interface for the enumeration self-test.</summary>
public interface ITestPtxOp
{
    float Apply(float x);
}

/// <summary>Satisfies <see cref="ITestPtxOp"/>.</summary>
public readonly struct TestPtxDouble : ITestPtxOp
{
    public float Apply(float x) => 2f * x;
}

/// <summary>Satisfies <see cref="ITestPtxOp"/>.</summary>
public readonly struct TestPtxNegate : ITestPtxOp
{
    public float Apply(float x) => -x;
}

/// <summary>A struct that does not satisfy <see cref="ITestPtxOp"/>.</summary>
public readonly struct TestPtxUnrelated
{
    public float Value => 1f;
}

/// <summary>Kernels that break (or state) the PTX rules on purpose.</summary>
public static class PtxCheckKernels
{
    public static void LocalArray(Index1D i, ArrayView<float> y, int k)
    {
        var local = LocalMemory.Allocate<float>(8);
        for (int j = 0; j < 8; j++)
        {
            local[j] = y[j];
        }

        y[i] = local[k & 7];
    }

    [KernelResources(LocalMemoryReason = "a per-thread table indexed at run time")]
    public static void LocalArrayStated(Index1D i, ArrayView<float> y, int k) => LocalArray(i, y, k);

    public static void BigShared(ArrayView<float> y)
    {
        var s = SharedMemory.Allocate<float>(16 * 1024); // 64 KB
        s[Group.IdxX] = y[Grid.GlobalIndex.X];
        Group.Barrier();
        y[Grid.GlobalIndex.X] = s[Group.DimX - 1 - Group.IdxX];
    }

    [KernelResources(SharedMemoryBytes = 64 * 1024)]
    public static void BigSharedStated(ArrayView<float> y) => BigShared(y);

    public static void AllocatesAnObject(Index1D i, ArrayView<float> y) => y[i] = new object().GetHashCode();

    public static void NanDroppingMax(Index1D i, ArrayView<float> y) => y[i] = ILGPU.Algorithms.XMath.Max(y[i], 0f);

    public static void NanPropagatingMax(Index1D i, ArrayView<float> y) => y[i] = KernelMath.Max(KernelMath.ClampMin(y[i], 0f), y[i + 1]);

    public static void Map<TOp>(Index1D i, ArrayView<float> y, TOp op)
        where TOp : struct, ITestPtxOp => y[i] = op.Apply(y[i]);
}

[NonParallelizable]
public sealed class PtxCheckSelfTests
{
    private static PtxCompiler compiler = null!;

    [OneTimeSetUp]
    public void CreateCompiler() => compiler = new PtxCompiler();

    [OneTimeTearDown]
    public void DisposeCompiler() => compiler.Dispose();

    private static PtxResult Compile(string name, bool implicitlyGrouped) =>
        compiler.Compile(new KernelEntry(typeof(PtxCheckKernels).GetMethod(name)!, implicitlyGrouped), "sm_90");

    [Test]
    public void Local_memory_is_caught_unless_the_kernel_states_why()
    {
        var bare = Compile(nameof(PtxCheckKernels.LocalArray), true);
        var stated = Compile(nameof(PtxCheckKernels.LocalArrayStated), true);
        Assert.Multiple(() =>
        {
            Assert.That(bare.Error, Is.Null);
            Assert.That(bare.LocalBytes, Is.GreaterThanOrEqualTo(32));
            Assert.That(bare.Problems(), Has.Count.EqualTo(1).And.Some.Contains("local memory"));
            Assert.That(stated.LocalBytes, Is.GreaterThanOrEqualTo(32));
            Assert.That(stated.Problems(), Is.Empty);
        });
    }

    [Test]
    public void Shared_memory_over_48_KB_is_caught_unless_the_kernel_states_the_opt_in()
    {
        var bare = Compile(nameof(PtxCheckKernels.BigShared), false);
        var stated = Compile(nameof(PtxCheckKernels.BigSharedStated), false);
        Assert.Multiple(() =>
        {
            Assert.That(bare.Error, Is.Null);
            Assert.That(bare.SharedBytes, Is.EqualTo(64 * 1024));
            Assert.That(bare.Problems(), Has.Count.EqualTo(1).And.Some.Contains("shared memory"));
            Assert.That(stated.SharedBytes, Is.EqualTo(64 * 1024));
            Assert.That(stated.Problems(), Is.Empty);
        });
    }

    [Test]
    public void A_generic_kernel_is_compiled_once_per_struct_that_satisfies_its_constraint()
    {
        var definition = typeof(PtxCheckKernels).GetMethod(nameof(PtxCheckKernels.Map))!;
        var instances = KernelInventory.Instantiate(definition, typeof(PtxCheckSelfTests).Assembly).ToList();
        Assert.That(instances.Select(m => m.GetGenericArguments()[0].Name).Order(),
            Is.EqualTo(new[] { nameof(TestPtxDouble), nameof(TestPtxNegate) }));
        foreach (var m in instances)
        {
            var r = compiler.Compile(new KernelEntry(m, true), "sm_80");
            Assert.That(r.Problems(), Is.Empty);
            Assert.That(r.Ptx, Does.Contain(".target sm_80"));
        }
    }

    [Test]
    public void A_float_max_that_drops_NaN_is_caught_and_the_engine_helpers_pass()
    {
        var dropping = Compile(nameof(PtxCheckKernels.NanDroppingMax), true);
        var propagating = Compile(nameof(PtxCheckKernels.NanPropagatingMax), true);
        Assert.Multiple(() =>
        {
            Assert.That(dropping.Error, Is.Null);
            Assert.That(dropping.Problems(), Has.Count.EqualTo(1).And.Some.Contains("KernelMath.Max"));
            Assert.That(propagating.Error, Is.Null);
            Assert.That(propagating.Problems(), Is.Empty);
        });
    }

    [Test]
    public void A_kernel_that_does_not_compile_is_reported_with_the_reason()
    {
        var r = Compile(nameof(PtxCheckKernels.AllocatesAnObject), true);
        Assert.Multiple(() =>
        {
            Assert.That(r.Ptx, Is.Null);
            Assert.That(r.Error, Is.Not.Null.And.Not.Empty);
            Assert.That(r.Problems(), Has.Count.EqualTo(1).And.Some.Contains("does not compile"));
        });
    }
}
