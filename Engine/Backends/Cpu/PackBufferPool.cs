// Aligned native scratch buffers for GEMM packing, rented per task and kept for reuse, so warm calls allocate nothing.
using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace Engine.Backends.Cpu;

/// <summary>
/// A fixed set of slots of 64-byte aligned native buffers of one size. A slot is allocated the first time it is
/// rented and kept for the life of the process; renting and returning is one interlocked operation. When every
/// slot is busy (more concurrent renters than slots), a temporary buffer is allocated and freed on return.
/// </summary>
internal sealed unsafe class PackBufferPool
{
    private const int Slots = 32;
    private readonly nint[] buffers = new nint[Slots];
    private readonly int[] busy = new int[Slots];
    private readonly nuint bytes;

    /// <summary>Creates a pool of buffers of <paramref name="floats"/> floats each.</summary>
    public PackBufferPool(long floats)
    {
        bytes = checked((nuint)(floats * sizeof(float)));
        Floats = floats;
    }

    /// <summary>Size of every buffer, in floats.</summary>
    public long Floats { get; }

    /// <summary>Rents a buffer; <paramref name="slot"/> must be passed back to <see cref="Return"/>.</summary>
    public float* Rent(out int slot)
    {
        for (int i = 0; i < Slots; i++)
        {
            if (Volatile.Read(ref busy[i]) == 0 && Interlocked.CompareExchange(ref busy[i], 1, 0) == 0)
            {
                if (buffers[i] == 0)
                {
                    buffers[i] = (nint)NativeMemory.AlignedAlloc(bytes, 64);
                }

                slot = i;
                return (float*)buffers[i];
            }
        }

        slot = -1;
        return (float*)NativeMemory.AlignedAlloc(bytes, 64);
    }

    /// <summary>Gives back a buffer rented as <paramref name="slot"/>.</summary>
    public void Return(float* buffer, int slot)
    {
        if (slot < 0)
        {
            NativeMemory.AlignedFree(buffer);
            return;
        }

        Volatile.Write(ref busy[slot], 0);
    }
}
