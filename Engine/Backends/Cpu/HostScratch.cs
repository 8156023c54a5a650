// A cached native scratch block for host ops that need per-thread partial results (convolution weight gradients):
// rented once, grown when a larger one is asked for, and kept, so a warm training step allocates nothing.
using System.Runtime.InteropServices;
using System.Threading;

namespace Engine.Backends.Cpu;

/// <summary>
/// One 64-byte aligned native block shared by callers one at a time. A caller that finds it busy (a concurrent
/// call from another thread) gets a temporary block, freed on return.
/// </summary>
internal sealed unsafe class HostScratch
{
    private nint block;
    private long floats;
    private int busy;

    /// <summary>The shared instance for convolution partial sums.</summary>
    public static HostScratch Conv { get; } = new();

    /// <summary>Rents at least <paramref name="count"/> floats; pass <paramref name="token"/> back to <see cref="Return"/>.</summary>
    public float* Rent(long count, out nint token)
    {
        count = System.Math.Max(count, 16);
        if (Interlocked.CompareExchange(ref busy, 1, 0) == 0)
        {
            if (floats < count)
            {
                if (block != 0)
                {
                    NativeMemory.AlignedFree((void*)block);
                }

                block = (nint)NativeMemory.AlignedAlloc((nuint)(count * sizeof(float)), 64);
                floats = count;
            }

            token = 0;
            return (float*)block;
        }

        var temp = (float*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(float)), 64);
        token = (nint)temp;
        return temp;
    }

    /// <summary>Gives back a block rented with <see cref="Rent"/>.</summary>
    public void Return(nint token)
    {
        if (token != 0)
        {
            NativeMemory.AlignedFree((void*)token);
            return;
        }

        Volatile.Write(ref busy, 0);
    }
}
