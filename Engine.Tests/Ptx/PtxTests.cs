// Every kernel the engine launches compiles to PTX for sm_80 and sm_90 without a GPU, within 48 KB of shared memory
// and without local memory unless it states why; the PTX text is kept under artifacts/ptx (./build.sh ptx).
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using Engine.Tests.Docs;
using NUnit.Framework;

namespace Engine.Tests.Ptx;

[NonParallelizable]
public sealed class PtxTests
{
    /// <summary>Where the PTX text and the summary line go.</summary>
    public static string ArtifactsDir => Path.Combine(ReadmeTests.RepoRoot(), "artifacts", "ptx");

    [Test]
    public void The_engine_loads_exactly_the_kernels_the_kernels_assembly_declares()
    {
        var loaded = KernelInventory.LoadedByEngine();
        var declared = KernelInventory.DeclaredByKernels();
        string Names(IEnumerable<System.Reflection.MethodInfo> ms) => string.Join(", ", ms.Select(m => $"{m.DeclaringType!.Name}.{m.Name}").Order(StringComparer.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(loaded, Has.Count.GreaterThan(50), "the IL scan found too few kernel loads to be right");
            Assert.That(Names(declared.Except(loaded)), Is.Empty, "kernel-shaped methods of the Kernels assembly that Engine never loads (dead, or loaded in a way the scan cannot see)");
            Assert.That(Names(loaded.Except(declared)), Is.Empty, "kernels Engine loads that do not look like kernel entry points");
        });
    }

    [Test]
    public void Every_kernel_compiles_to_ptx_within_its_memory_limits()
    {
        var kernels = KernelInventory.All();
        Directory.CreateDirectory(ArtifactsDir);
        foreach (var stale in Directory.EnumerateFiles(ArtifactsDir, "*.ptx", SearchOption.AllDirectories))
        {
            File.Delete(stale);
        }

        var problems = new List<string>();
        var failedKernels = new HashSet<string>(StringComparer.Ordinal);
        var table = new StringBuilder("kernel\ttarget\tptx_lines\tshared_bytes\tlocal_bytes\tfma_f32\tld_global_nc\tapprox\n");
        var compiler = new PtxCompiler();
        foreach (var (target, _) in PtxCompiler.Targets)
        {
            string dir = Path.Combine(ArtifactsDir, target);
            Directory.CreateDirectory(dir);
            foreach (var kernel in kernels)
            {
                var result = compiler.Compile(kernel, target);
                var p = result.Problems();
                if (p.Count > 0)
                {
                    problems.AddRange(p);
                    failedKernels.Add(kernel.Name);
                }

                if (result.Error is not null)
                {
                    // A failed compilation can leave ILGPU's context unusable: go on with a fresh one.
                    compiler.Dispose();
                    compiler = new PtxCompiler();
                }

                if (result.Ptx is { } ptx)
                {
                    File.WriteAllText(Path.Combine(dir, kernel.Name + ".ptx"), ptx);
                    table.Append(CultureInfo.InvariantCulture,
                        $"{kernel.Name}\t{target}\t{ptx.Count(c => c == '\n')}\t{result.SharedBytes}\t{result.LocalBytes}\t{Count(ptx, @"\bfma\.rn\.f32\b")}\t{Count(ptx, @"\bld\.global\.nc\.")}\t{Count(ptx, @"\.approx\.")}\n");
                }
            }
        }

        compiler.Dispose();
        File.WriteAllText(Path.Combine(ArtifactsDir, "kernels.tsv"), table.ToString());
        string summary = $"ptx: {kernels.Count} kernels, {PtxCompiler.Targets.Count} targets, {failedKernels.Count} failed";
        File.WriteAllText(Path.Combine(ArtifactsDir, "summary.txt"), summary + "\n");
        TestContext.Out.WriteLine(summary);
        Assert.That(problems, Is.Empty, string.Join("\n", problems));
    }

    private static int Count(string text, string pattern) => Regex.Matches(text, pattern).Count;

    [Test]
    public void The_tiled_gemm_inner_loop_is_unrolled_with_32_bit_shared_addresses_and_fma()
    {
        // Per staged K slice of 16: 8 shared loads and 16 FMAs per k, addressed as [%r + constant] from 32-bit registers.
        var gemm = KernelInventory.All().Single(k => k.Name == "Gemm.GemmTiledKernel.Run");
        using var compiler = new PtxCompiler();
        foreach (var (target, _) in PtxCompiler.Targets)
        {
            string ptx = compiler.Compile(gemm, target).Ptx!;
            Assert.Multiple(() =>
            {
                Assert.That(Count(ptx, @"\bfma\.rn\.f32\b"), Is.EqualTo((16 * 16) + 16), $"{target}: FMAs in the unrolled slice and the 16 beta stores");
                Assert.That(Count(ptx, @"ld\.shared\.f32\s+%f\d+, \[%r\d+(\+\d+)?\]"), Is.EqualTo(16 * 8), $"{target}: 32-bit shared loads");
                Assert.That(Count(ptx, @"ld\.shared\.f32\s+%f\d+, \[%rd"), Is.Zero, $"{target}: 64-bit shared loads");
                Assert.That(Count(ptx, @"\bld\.global\.nc\.f32\b"), Is.EqualTo(2), $"{target}: read-only loads of A and B");
                Assert.That(Count(ptx, @"\bmul\.f32\b"), Is.EqualTo(32), $"{target}: multiplies outside the FMAs: alpha * acc and beta * c per store");
            });
        }
    }
}
