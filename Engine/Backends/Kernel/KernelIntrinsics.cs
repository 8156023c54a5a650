// PTX and OpenCL code for Engine.Kernels.KernelMath, registered on the engine's ILGPU context: ILGPU 1.5.3 has no
// fused multiply-add for user code, addresses shared memory with 64-bit generic arithmetic, and never emits
// ld.global.nc. The CPU accelerator runs the C# bodies of KernelMath instead. It sits with the kernel launchers (the
// Backends layer) and hands itself to the device's compiler configuration when Engine.dll loads, so the device layer
// below needs no reference to the kernels.
using System;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Engine.Kernels;
using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.IR;
using ILGPU.IR.Intrinsics;
using ILGPU.IR.Types;
using ILGPU.IR.Values;

namespace Engine.Backends.Kernel;

/// <summary>Registers the GPU implementations of <see cref="KernelMath"/> on a context builder.</summary>
internal static class KernelIntrinsics
{
    /// <summary>Adds <see cref="Register"/> to every context the engine creates (runs once, when Engine.dll loads).</summary>
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255", Justification = "The engine's own compiler setup must be in place before any device exists; it only registers a callback.")]
    internal static void AddToDeviceCompiler() => Device.AddCompilerExtension(Register);

    /// <summary>Adds the PTX and OpenCL code generators of every <see cref="KernelMath"/> method.</summary>
    public static Context.Builder Register(Context.Builder builder)
    {
        var manager = builder.GetIntrinsicManager();
        var fma = typeof(KernelMath).GetMethod(nameof(KernelMath.Fma))!;
        var shared = typeof(KernelMath).GetMethod(nameof(KernelMath.LoadShared))!;
        var readOnly = typeof(KernelMath).GetMethod(nameof(KernelMath.LoadReadOnly))!;
        const IntrinsicImplementationMode Generate = IntrinsicImplementationMode.GenerateCode;
        manager.RegisterMethod(fma, new PTXIntrinsic(typeof(KernelIntrinsics), nameof(PtxFma), Generate));
        manager.RegisterMethod(fma, new CLIntrinsic(typeof(KernelIntrinsics), nameof(ClFma), Generate));
        manager.RegisterMethod(shared, new PTXIntrinsic(typeof(KernelIntrinsics), nameof(PtxLoadShared), Generate));
        manager.RegisterMethod(shared, new CLIntrinsic(typeof(KernelIntrinsics), nameof(ClLoadShared), Generate));
        manager.RegisterMethod(readOnly, new PTXIntrinsic(typeof(KernelIntrinsics), nameof(PtxLoadReadOnly), Generate));
        manager.RegisterMethod(readOnly, new CLIntrinsic(typeof(KernelIntrinsics), nameof(ClLoadReadOnly), Generate));
        return builder;
    }

    // fma.rn.f32 target, a, b, c
    private static void PtxFma(PTXBackend backend, PTXCodeGenerator codeGenerator, Value value)
    {
        var call = (MethodCall)value;
        var a = codeGenerator.LoadPrimitive(call[0]);
        var b = codeGenerator.LoadPrimitive(call[1]);
        var c = codeGenerator.LoadPrimitive(call[2]);
        var target = codeGenerator.AllocateHardware(value);
        using var command = codeGenerator.BeginCommand("fma.rn.f32");
        command.AppendArgument(target);
        command.AppendArgument(a);
        command.AppendArgument(b);
        command.AppendArgument(c);
    }

    // target = fma(a, b, c);
    private static void ClFma(CLBackend backend, CLCodeGenerator codeGenerator, Value value)
    {
        var call = (MethodCall)value;
        var a = codeGenerator.Load(call[0]);
        var b = codeGenerator.Load(call[1]);
        var c = codeGenerator.Load(call[2]);
        var target = codeGenerator.Allocate(value);
        using var statement = codeGenerator.BeginStatement(target);
        statement.AppendCommand("fma");
        statement.BeginArguments();
        statement.AppendArgument(a);
        statement.AppendArgument(b);
        statement.AppendArgument(c);
        statement.EndArguments();
    }

    // cvt.u32.u64 %r, <shared address>; ld.shared.f32 target, [%r+4*offset] (offset a constant) or via mad.lo.s32.
    private static void PtxLoadShared(PTXBackend backend, PTXCodeGenerator codeGenerator, Value value)
    {
        var call = (MethodCall)value;
        Value pointer = call[0].Resolve();
        if (pointer is AddressSpaceCast cast && cast.SourceType is AddressSpaceType { AddressSpace: MemoryAddressSpace.Shared })
        {
            pointer = cast.Value.Resolve(); // the kernel's reference is a shared address cast to generic for the call: use the shared one
        }

        bool isShared = pointer.Type is AddressSpaceType { AddressSpace: MemoryAddressSpace.Shared };
        var address = (RegisterAllocator<PTXRegisterKind>.HardwareRegister)codeGenerator.LoadPrimitive(pointer);
        var address32 = codeGenerator.AllocateInt32Register();
        if (isShared)
        {
            Emit(codeGenerator, "cvt.u32.u64", address32, address);
        }
        else
        {
            var sharedAddress = codeGenerator.AllocatePlatformRegister(out _);
            Emit(codeGenerator, "cvta.to.shared.u64", sharedAddress, address);
            Emit(codeGenerator, "cvt.u32.u64", address32, sharedAddress);
            codeGenerator.FreeRegister(sharedAddress);
        }

        int byteOffset = 0;
        if (call[1].Resolve() is PrimitiveValue constant)
        {
            byteOffset = checked(constant.Int32Value * sizeof(float));
        }
        else
        {
            var offset = codeGenerator.LoadPrimitive(call[1]);
            using var mad = codeGenerator.BeginCommand("mad.lo.s32");
            mad.AppendArgument(address32);
            mad.AppendArgument(offset);
            mad.AppendConstant(sizeof(float));
            mad.AppendArgument(address32);
        }

        var target = codeGenerator.AllocateHardware(value);
        using (var load = codeGenerator.BeginCommand("ld.shared.f32"))
        {
            load.AppendArgument(target);
            load.AppendArgumentValue(address32, byteOffset);
        }

        codeGenerator.FreeRegister(address32);
    }

    // target = pointer[offset];
    private static void ClLoadShared(CLBackend backend, CLCodeGenerator codeGenerator, Value value)
    {
        var call = (MethodCall)value;
        var pointer = codeGenerator.Load(call[0]);
        var offset = codeGenerator.Load(call[1]);
        var target = codeGenerator.Allocate(value);
        using var statement = codeGenerator.BeginStatement(target);
        statement.Append(pointer);
        statement.AppendIndexer(offset);
    }

    // ld.global.nc.f32 target, [global address]
    private static void PtxLoadReadOnly(PTXBackend backend, PTXCodeGenerator codeGenerator, Value value)
    {
        var call = (MethodCall)value;
        var address = (RegisterAllocator<PTXRegisterKind>.HardwareRegister)codeGenerator.LoadPrimitive(call[0]);
        bool isGlobal = call[0].Type is AddressSpaceType { AddressSpace: MemoryAddressSpace.Global };
        var global = address;
        if (!isGlobal)
        {
            global = codeGenerator.AllocatePlatformRegister(out _);
            Emit(codeGenerator, "cvta.to.global.u64", global, address);
        }

        var target = codeGenerator.AllocateHardware(value);
        using (var load = codeGenerator.BeginCommand("ld.global.nc.f32"))
        {
            load.AppendArgument(target);
            load.AppendArgumentValue(global);
        }

        if (!isGlobal)
        {
            codeGenerator.FreeRegister(global);
        }
    }

    // target = *pointer;
    private static void ClLoadReadOnly(CLBackend backend, CLCodeGenerator codeGenerator, Value value)
    {
        var call = (MethodCall)value;
        var pointer = codeGenerator.Load(call[0]);
        var target = codeGenerator.Allocate(value);
        using var statement = codeGenerator.BeginStatement(target);
        statement.AppendCommand('*');
        statement.AppendArgument(pointer);
    }

    private static void Emit(PTXCodeGenerator codeGenerator, string instruction, RegisterAllocator<PTXRegisterKind>.HardwareRegister target, RegisterAllocator<PTXRegisterKind>.HardwareRegister source)
    {
        using var command = codeGenerator.BeginCommand(instruction);
        command.AppendArgument(target);
        command.AppendArgument(source);
    }
}
