// Out-of-memory at compile time, not inside a kernel: before the parameters and before the activation arena are
// allocated, the bytes a compiled model needs are compared with what the device has left, and a model too big for the
// device is refused with both numbers.
using System;
using System.Collections.Generic;
using System.Linq;

namespace Engine.Nn;

/// <summary>The compile-time memory check.</summary>
internal static class MemoryCheck
{
    /// <summary>Bytes of the parameters (and their gradients when training) and buffers of modules not yet on the device.</summary>
    public static long StateBytes(Module root, Device device, IEnumerable<(string Path, Module Module)> walk, bool training)
    {
        if (root.ParametersOn(device) is not null)
        {
            return 0;   // created by an earlier compile: already counted in the allocator's bytes in use
        }

        long parameters = 0, buffers = 0;
        foreach (var (_, m) in walk)
        {
            parameters += m.ParameterSpecs.Sum(p => p.Shape.Length);
            buffers += m.BufferSpecs.Sum(b => b.Shape.Length);
        }

        return ((parameters * (training ? 2 : 1)) + buffers) * sizeof(float);
    }

    /// <summary>Throws when <paramref name="needed"/> more bytes do not fit on <paramref name="device"/>.</summary>
    /// <exception cref="InsufficientMemoryException">The model needs more than the device has left; the message gives both.</exception>
    public static void Ensure(Module root, Device device, long needed, string what)
    {
        long total = device.Info.MemoryBytes, inUse = device.Allocator.Stats.BytesInUse;
        if (needed > total - inUse)
        {
            throw new InsufficientMemoryException(
                $"Compiling {root.GetType().Name} for {device.Info.Name} needs at least {needed:N0} bytes ({what}) but the device has {total:N0} bytes, " +
                $"{inUse:N0} of them in use, so {Math.Max(0, total - inUse):N0} available. Use a smaller batch or model, or a device with more memory.");
        }
    }
}
