// The one public corner where ILGPU types meet the engine's API: a host that writes its own ILGPU kernels, or shares
// the device's accelerator and stream with other ILGPU code, reaches them here (using Engine.Interop) and nowhere else.
using System;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Interop;

/// <summary>
/// ILGPU objects behind the engine's devices and tensors, for hosts that run their own ILGPU code beside the engine.
/// The rest of the public API names no ILGPU type; work queued here must follow the engine's rules (the device's
/// <see cref="GetStream"/> orders it with the engine's launches; a tensor's view is valid while the tensor lives).
/// </summary>
public static class IlgpuInterop
{
    /// <summary>The ILGPU context shared by every device of the process.</summary>
    public static Context SharedContext => Device.Context;

    /// <summary>The ILGPU accelerator of <paramref name="device"/>.</summary>
    public static Accelerator GetAccelerator(this Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return device.Accelerator;
    }

    /// <summary>The stream the engine's ops launch on for <paramref name="device"/>.</summary>
    public static AcceleratorStream GetStream(this Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return device.Stream;
    }

    /// <summary>Creates an additional stream on <paramref name="device"/> (for overlapping copies with compute).</summary>
    public static AcceleratorStream CreateStream(this Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return device.CreateStream();
    }

    /// <summary>The device memory of <paramref name="tensor"/>'s elements (its offset and length within its buffer).</summary>
    internal static ArrayView<float> GetView(this Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return tensor.View;
    }

    /// <summary>
    /// The launcher cached on <paramref name="device"/> under <paramref name="name"/>, loaded with
    /// <paramref name="load"/> the first time (the engine's own kernels are cached the same way).
    /// </summary>
    public static TDelegate GetKernel<TDelegate>(this Device device, string name, Func<Accelerator, TDelegate> load) where TDelegate : Delegate
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(load);
        return device.Kernels.Get(name, load);
    }
}
