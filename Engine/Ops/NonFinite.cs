// Non-finite detection: a device reduction that counts NaN and infinite elements, for the trainer's step checks
// and the executor's debug mode (an op, so that the graph and the trainer can both use it).
using System;
using System.Globalization;
using Engine.Kernels.Optim;

namespace Engine.Ops;

/// <summary>Counts NaN and infinite values of a tensor with a device reduction (one small read back to the host).</summary>
public static class NonFinite
{
    /// <summary>The number of NaN or infinite elements of <paramref name="tensor"/>.</summary>
    public static long Count(Tensor tensor, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return (long)Reductions.Registry.Select(tensor.Device, variant)(tensor.Device, tensor.View, null, default, ReduceMode.CountNonFinite, 0);
    }

    /// <summary>Whether <paramref name="tensor"/> holds any NaN or infinity.</summary>
    public static bool Any(Tensor tensor, string? variant = null) => Count(tensor, variant) > 0;

    /// <summary>
    /// Throws when <paramref name="tensor"/> holds NaN or infinity, naming <paramref name="what"/> and
    /// <paramref name="step"/>: "Non-finite values in gradients at step 12: 3 of 1,000 elements are NaN or infinite."
    /// </summary>
    /// <exception cref="NonFiniteException">The tensor has non-finite values.</exception>
    public static void ThrowIfAny(Tensor tensor, string what, long step)
    {
        long n = Count(tensor);
        if (n > 0)
        {
            throw new NonFiniteException(what, step, n, tensor.Length);
        }
    }
}

/// <summary>Training produced NaN or infinity.</summary>
public sealed class NonFiniteException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NonFiniteException(string what, long step, long count, long length)
        : base(string.Create(CultureInfo.InvariantCulture, $"Non-finite values in {what} at step {step}: {count:N0} of {length:N0} elements are NaN or infinite."))
    {
        What = what;
        Step = step;
        Count = count;
    }

    /// <summary>Creates the exception with a message.</summary>
    public NonFiniteException()
        : this("a tensor", 0, 0, 0)
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public NonFiniteException(string message)
        : base(message)
    {
        What = string.Empty;
    }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public NonFiniteException(string message, Exception innerException)
        : base(message, innerException)
    {
        What = string.Empty;
    }

    /// <summary>What was checked.</summary>
    public string What { get; } = string.Empty;

    /// <summary>The step at which the values were found.</summary>
    public long Step { get; }

    /// <summary>How many elements were non-finite.</summary>
    public long Count { get; }
}
