// Compiles kernels to PTX with ILGPU's PTX backend and no GPU or driver, using the context options the engine's
// devices use (Device.ConfigureCompiler), and reads off what a GPU run depends on: shared and local memory, and float
// min/max instructions that would drop a NaN.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using Engine.Kernels;
using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Engine.Tests.Ptx;

/// <summary>The outcome of compiling one kernel for one target.</summary>
public sealed record PtxResult(KernelEntry Kernel, string Target, string? Ptx, int SharedBytes, int LocalBytes, string? Error)
{
    /// <summary>What is wrong with the result against the kernel's stated limits; empty when nothing is.</summary>
    public IReadOnlyList<string> Problems()
    {
        if (Error is not null)
        {
            return [$"{Kernel} ({Target}) does not compile: {Error}"];
        }

        var stated = Kernel.Method.GetCustomAttribute<KernelResourcesAttribute>();
        var problems = new List<string>();
        int sharedLimit = Math.Max(PtxCompiler.StaticSharedLimit, stated?.SharedMemoryBytes ?? 0);
        if (SharedBytes > sharedLimit)
        {
            problems.Add($"{Kernel} ({Target}) uses {SharedBytes} bytes of shared memory per group; the limit is {sharedLimit} " +
                "(48 KB static, or a larger opt-in stated by [KernelResources(SharedMemoryBytes = ...)])");
        }

        if (LocalBytes > 0 && string.IsNullOrWhiteSpace(stated?.LocalMemoryReason))
        {
            problems.Add($"{Kernel} ({Target}) uses {LocalBytes} bytes of local memory (spills or arrays) and does not state why " +
                "([KernelResources(LocalMemoryReason = ...)])");
        }

        if (Ptx is not null && NanDroppingMinMax.Match(Ptx) is { Success: true } m)
        {
            problems.Add($"{Kernel} ({Target}) has '{m.Value}', which returns the other operand for a NaN on CUDA (and fmax/fmin on " +
                "OpenCL); PyTorch propagates NaN: use KernelMath.Max or KernelMath.ClampMin");
        }

        return problems;
    }

    /// <summary>Float min/max instructions without the <c>.NaN</c> modifier: they drop a NaN operand.</summary>
    private static readonly Regex NanDroppingMinMax = new(@"\b(?:max|min)(?:\.ftz)?\.f(?:32|64)\b", RegexOptions.CultureInvariant);
}

/// <summary>PTX backends for the GPU generations the engine targets, over one context with the engine's options.</summary>
public sealed class PtxCompiler : IDisposable
{
    /// <summary>Static shared memory a group may use without an opt-in (48 KB on every CUDA GPU).</summary>
    public const int StaticSharedLimit = 48 * 1024;

    /// <summary>The targets every kernel is compiled for: A100-class and H100-class GPUs.</summary>
    public static readonly IReadOnlyList<(string Name, CudaArchitecture Architecture)> Targets =
        [("sm_80", CudaArchitecture.SM_80), ("sm_90", CudaArchitecture.SM_90)];

    private static readonly Regex SharedDecl = new(@"\.shared\s+(?:\.align\s+\d+\s+)?\.\w+\s+[\w$]+\[(\d+)\]", RegexOptions.Compiled);
    private static readonly Regex LocalDecl = new(@"\.local\s+(?:\.align\s+\d+\s+)?\.\w+\s+[\w$]+\[(\d+)\]", RegexOptions.Compiled);
    private readonly Context context;
    private readonly Dictionary<string, PTXBackend> backends = [];

    public PtxCompiler()
    {
        context = Context.Create(b =>
        {
            Device.ConfigureCompiler(b);
            // Kernel information (shared allocations, local memory per function) has no builder method in ILGPU 1.5.3.
            typeof(ContextProperties).GetProperty(nameof(ContextProperties.EnableKernelInformation))!.SetValue(b, true);
        });
        foreach (var (name, arch) in Targets)
        {
            backends[name] = new PTXBackend(context, new CudaCapabilityContext(arch), arch, CudaInstructionSet.ISA_80, null);
        }
    }

    /// <summary>Compiles <paramref name="kernel"/> for <paramref name="target"/> (one of <see cref="Targets"/>).</summary>
    public PtxResult Compile(KernelEntry kernel, string target)
    {
        var entry = kernel.ImplicitlyGrouped
            ? EntryPointDescription.FromImplicitlyGroupedKernel(kernel.Method)
            : EntryPointDescription.FromExplicitlyGroupedKernel(kernel.Method);
        try
        {
            var compiled = (PTXCompiledKernel)backends[target].Compile(entry, KernelSpecialization.Empty);
            string ptx = compiled.PTXAssembly;
            int sharedInfo = compiled.Info?.SharedAllocations.TotalSize ?? 0;
            int localInfo = compiled.Info?.Functions.Sum(f => f.LocalMemorySize) ?? 0;
            int sharedText = SharedDecl.Matches(ptx).Sum(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            int localText = LocalDecl.Matches(ptx).Sum(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            return new PtxResult(kernel, target, ptx, Math.Max(sharedInfo, sharedText), Math.Max(localInfo, localText), null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var inner = e;
            while (inner.InnerException is not null)
            {
                inner = inner.InnerException;
            }

            return new PtxResult(kernel, target, null, 0, 0, $"{e.GetType().Name}: {e.Message}" + (inner != e ? $" ({inner.GetType().Name}: {inner.Message})" : ""));
        }
    }

    public void Dispose()
    {
        foreach (var b in backends.Values)
        {
            b.Dispose();
        }

        context.Dispose();
    }
}
