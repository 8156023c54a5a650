// Channel layout kernels for per-position losses: (N, C, S) <-> (N*S, C) and class indices -> one-hot channels.
// A thread per output element; S is the product of the positions' dimensions (H*W for images).
using ILGPU;

namespace Engine.Kernels.Elementwise;

/// <summary>Sizes of a channel-layout call: N samples, C channels, S positions per sample.</summary>
public struct LayoutParams
{
    /// <summary>Samples.</summary>
    public int N;

    /// <summary>Channels (classes).</summary>
    public int C;

    /// <summary>Positions per sample and channel.</summary>
    public int S;
}

/// <summary>Permutes channels-first tensors to rows of channels and back, and expands class indices to one-hot channels.</summary>
public static class LayoutKernels
{
    /// <summary>y[(n S + s) C + c] = x[(n C + c) S + s]: x (N, C, S) to y (N S, C). Launch over N C S.</summary>
    public static void ToChannelsLast(Index1D i, ArrayView<float> x, ArrayView<float> y, LayoutParams p)
    {
        int c = i % p.C;
        int r = i / p.C;
        int n = r / p.S;
        int s = r - (n * p.S);
        y[i] = x[(((long)n * p.C) + c) * p.S + s];
    }

    /// <summary>x[(n C + c) S + s] = y[(n S + s) C + c]: y (N S, C) back to x (N, C, S). Launch over N C S.</summary>
    public static void ToChannelsFirst(Index1D i, ArrayView<float> y, ArrayView<float> x, LayoutParams p)
    {
        int s = i % p.S;
        int t = i / p.S;
        int c = t % p.C;
        int n = t / p.C;
        x[i] = y[(((long)n * p.S) + s) * p.C + c];
    }

    /// <summary>y[(n C + c) S + s] = 1 where indices[n S + s] == c, else 0: indices (N, S) to y (N, C, S). Launch over N C S.</summary>
    public static void OneHot(Index1D i, ArrayView<float> indices, ArrayView<float> y, LayoutParams p)
    {
        int s = i % p.S;
        int t = i / p.S;
        int c = t % p.C;
        int n = t / p.C;
        y[i] = indices[((long)n * p.S) + s] == c ? 1f : 0f;
    }
}
