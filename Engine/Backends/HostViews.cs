// Bridges ILGPU views to host spans on the CPU accelerator, whose buffers live in host memory.
using System;
using System.Runtime.InteropServices;
using ILGPU;

namespace Engine.Backends;

/// <summary>Host access to views of CPU-accelerator buffers, for the CPU device's managed code paths.</summary>
internal static class HostViews
{
    /// <summary>The elements of <paramref name="view"/> as a span. The view must belong to the CPU accelerator.</summary>
    public static Span<float> Span(ArrayView<float> view)
    {
        if (view.Length == 0)
        {
            return Span<float>.Empty;
        }

        return MemoryMarshal.CreateSpan(ref view[0L], checked((int)view.Length));
    }

    /// <summary>A read-only span over <paramref name="view"/>.</summary>
    public static ReadOnlySpan<float> ReadOnly(ArrayView<float> view) => Span(view);
}
