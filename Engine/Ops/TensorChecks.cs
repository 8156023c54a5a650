// Argument validation shared by the op families: every message names the argument, its shape and what was expected.
using System;

namespace Engine.Ops;

/// <summary>Host-side argument checks run before any launch.</summary>
internal static class TensorChecks
{
    /// <summary>Throws unless <paramref name="t"/> lives on <paramref name="device"/>.</summary>
    public static void OnDevice(Tensor? t, Device device, string op, string name)
    {
        if (t is not null && t.Device != device)
        {
            throw new ArgumentException($"{op}: {name} {t.Shape} lives on {t.Device.Kind} '{t.Device.Name}' but the op runs on {device.Kind} '{device.Name}'; all tensors must share one device.", name);
        }
    }

    /// <summary>Throws unless <paramref name="t"/> has exactly <paramref name="shape"/>.</summary>
    public static void SameShape(Tensor t, Shape shape, string op, string name, string what)
    {
        if (t.Shape != shape)
        {
            throw new ArgumentException($"{op}: {name} is {t.Shape} but must be {shape} ({what}).", name);
        }
    }

    /// <summary>Throws unless <paramref name="t"/> (when given) has <paramref name="length"/> elements.</summary>
    public static void Length(Tensor? t, long length, string op, string name, string what)
    {
        if (t is not null && t.Length != length)
        {
            throw new ArgumentException($"{op}: {name} is {t.Shape} ({t.Length} elements) but must have {length} elements ({what}).", name);
        }
    }

    /// <summary>Throws when the tensor is too large for the 32-bit indexing of the kernels.</summary>
    public static void Indexable(Tensor t, string op, string name)
    {
        if (t.Length > int.MaxValue)
        {
            throw new ArgumentException($"{op}: {name} {t.Shape} has {t.Length} elements; at most {int.MaxValue} are supported.", name);
        }
    }

    /// <summary>Throws unless <paramref name="value"/> is finite.</summary>
    public static void Finite(float value, string op, string name)
    {
        if (!float.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{op}: {name} must be finite.");
        }
    }
}
