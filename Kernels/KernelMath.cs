// Instructions ILGPU 1.5.3 does not emit from plain C#: a fused multiply-add, shared loads with 32-bit addresses and
// constant offsets, and read-only (non-coherent) global loads. The C# bodies are what the CPU accelerator runs; the
// engine's devices register PTX and OpenCL code for them (Engine/Devices/KernelIntrinsics.cs). [IntrinsicImplementation]
// keeps ILGPU from compiling a C# body it cannot translate (Unsafe.Add, MathF.FusedMultiplyAdd).
using System;
using System.Runtime.CompilerServices;
using ILGPU.Algorithms;
using ILGPU.IR.Intrinsics;

namespace Engine.Kernels;

/// <summary>
/// Kernel helpers with one meaning on every device. A context that runs kernels using them must register their GPU
/// code, as <c>Engine.Device</c> does; without it the PTX and OpenCL backends refuse the kernel.
/// </summary>
public static class KernelMath
{
    /// <summary>
    /// a * b + c rounded once (<c>fma.rn.f32</c> on CUDA, <c>fma</c> on OpenCL, <see cref="MathF.FusedMultiplyAdd"/> on
    /// the CPU), so kernels and the host's FMA micro-kernels round alike.
    /// </summary>
    [IntrinsicImplementation]
    public static float Fma(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);

    /// <summary>
    /// The element <paramref name="offset"/> places after <paramref name="first"/>, an element of a shared-memory view.
    /// On CUDA a constant offset becomes the immediate of an <c>ld.shared.f32 [%r+offset*4]</c> with a 32-bit address,
    /// so an unrolled loop does no address arithmetic.
    /// </summary>
    [IntrinsicImplementation]
    public static float LoadShared(ref float first, int offset) => Unsafe.Add(ref first, offset);

    /// <summary>
    /// Reads a global element that no thread writes while the kernel runs (<c>ld.global.nc</c> on CUDA: the read-only
    /// data cache). Only for views the kernel does not write.
    /// </summary>
    [IntrinsicImplementation]
    public static float LoadReadOnly(ref float element) => element;

    /// <summary>
    /// The larger of <paramref name="a"/> and <paramref name="b"/>, NaN when either is NaN, as <c>torch.maximum</c>.
    /// <c>XMath.Max</c> is not: CUDA's <c>max.f32</c> and OpenCL's <c>fmax</c> return the other operand.
    /// </summary>
    public static float Max(float a, float b) => a > b || XMath.IsNaN(a) ? a : b;

    /// <summary>
    /// <paramref name="x"/> raised to at least <paramref name="low"/>, NaN staying NaN, as <c>torch.clamp_min</c>
    /// (<c>XMath.Max(x, low)</c> returns <paramref name="low"/> for a NaN on CUDA and OpenCL).
    /// </summary>
    public static float ClampMin(float x, float low) => x < low ? low : x;
}
