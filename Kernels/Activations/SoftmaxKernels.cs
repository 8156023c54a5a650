// Softmax and log-softmax along one axis: a thread per line for short axes, a group per line for long ones.
using ILGPU;
using ILGPU.Algorithms;
using Engine.Kernels.Reduction;

namespace Engine.Kernels.Activations;

/// <summary>
/// The tensor is seen as (Outer, Axis, Inner); a line is the Axis elements at fixed (outer, inner), Inner apart.
/// </summary>
public struct SoftmaxParams
{
    /// <summary>Product of the dimensions before the axis.</summary>
    public int Outer;

    /// <summary>Length of the axis.</summary>
    public int Axis;

    /// <summary>Product of the dimensions after the axis (the stride of the axis).</summary>
    public int Inner;

    /// <summary>1 for log-softmax.</summary>
    public int Log;
}

/// <summary>
/// Numerically stable softmax: y = exp(x - max) / sum exp(x - max); log-softmax: y = (x - max) - log(sum exp(x - max)).
/// Backward: softmax dx = y * (dy - sum(dy * y)); log-softmax dx = dy - exp(y) * sum(dy).
/// All buffers: (Outer * Axis * Inner).
/// </summary>
public static class SoftmaxKernels
{
    /// <summary>Forward, one thread per line; launch over Outer * Inner lines.</summary>
    public static void ForwardLine(Index1D line, ArrayView<float> x, ArrayView<float> y, SoftmaxParams p)
    {
        int inner = p.Inner;
        int n = p.Axis;
        long b = ((long)(line.X / inner) * n * inner) + (line.X % inner);
        float m = float.NegativeInfinity;
        for (int k = 0; k < n; k++)
        {
            m = KernelMath.Max(m, x[b + ((long)k * inner)]);
        }

        float s = 0f;
        for (int k = 0; k < n; k++)
        {
            s += XMath.Exp(x[b + ((long)k * inner)] - m);
        }

        if (p.Log != 0)
        {
            // (x - max) - log(sum) keeps the precision of the small terms when |x| is huge.
            float ls = XMath.Log(s);
            for (int k = 0; k < n; k++)
            {
                long i = b + ((long)k * inner);
                y[i] = (x[i] - m) - ls;
            }
        }
        else
        {
            float inv = 1f / s;
            for (int k = 0; k < n; k++)
            {
                long i = b + ((long)k * inner);
                y[i] = XMath.Exp(x[i] - m) * inv;
            }
        }
    }

    /// <summary>Backward from y and dy, one thread per line; launch over Outer * Inner lines.</summary>
    public static void BackwardLine(Index1D line, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, SoftmaxParams p)
    {
        int inner = p.Inner;
        int n = p.Axis;
        long b = ((long)(line.X / inner) * n * inner) + (line.X % inner);
        bool log = p.Log != 0;
        float s = 0f;
        for (int k = 0; k < n; k++)
        {
            long i = b + ((long)k * inner);
            s += log ? dy[i] : dy[i] * y[i];
        }

        for (int k = 0; k < n; k++)
        {
            long i = b + ((long)k * inner);
            dx[i] = log ? dy[i] - (XMath.Exp(y[i]) * s) : y[i] * (dy[i] - s);
        }
    }

    /// <summary>
    /// Tangent (forward mode) from y and the input tangent dx, one thread per line; launch over Outer * Inner lines. With
    /// s = y (softmax) or exp(y) (log-softmax) and dot = sum(s * dx): softmax dy = s (dx - dot), log-softmax dy = dx - dot.
    /// </summary>
    public static void TangentLine(Index1D line, ArrayView<float> y, ArrayView<float> dx, ArrayView<float> dy, SoftmaxParams p)
    {
        int inner = p.Inner;
        int n = p.Axis;
        long b = ((long)(line.X / inner) * n * inner) + (line.X % inner);
        bool log = p.Log != 0;
        float dot = 0f;
        for (int k = 0; k < n; k++)
        {
            long i = b + ((long)k * inner);
            dot += (log ? XMath.Exp(y[i]) : y[i]) * dx[i];
        }

        for (int k = 0; k < n; k++)
        {
            long i = b + ((long)k * inner);
            dy[i] = log ? dx[i] - dot : y[i] * (dx[i] - dot);
        }
    }

    /// <summary>Forward, one group per line (grid = Outer * Inner groups, power-of-two group size).</summary>
    public static void ForwardGroup(ArrayView<float> x, ArrayView<float> y, SoftmaxParams p)
    {
        var shared = SharedMemory.Allocate<float>(GroupReduce.MaxGroupSize);
        int line = Grid.IdxX;
        int tid = Group.IdxX;
        int size = Group.DimX;
        int inner = p.Inner;
        int n = p.Axis;
        long b = ((long)(line / inner) * n * inner) + (line % inner);
        float m = float.NegativeInfinity;
        for (int k = tid; k < n; k += size)
        {
            m = KernelMath.Max(m, x[b + ((long)k * inner)]);
        }

        m = GroupReduce.Max(m, shared);
        float s = 0f;
        for (int k = tid; k < n; k += size)
        {
            s += XMath.Exp(x[b + ((long)k * inner)] - m);
        }

        s = GroupReduce.Sum(s, shared);
        float ls = XMath.Log(s);
        float inv = 1f / s;
        bool log = p.Log != 0;
        for (int k = tid; k < n; k += size)
        {
            long i = b + ((long)k * inner);
            y[i] = log ? (x[i] - m) - ls : XMath.Exp(x[i] - m) * inv;
        }
    }

    /// <summary>Backward, one group per line (grid = Outer * Inner groups, power-of-two group size).</summary>
    public static void BackwardGroup(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, SoftmaxParams p)
    {
        var shared = SharedMemory.Allocate<float>(GroupReduce.MaxGroupSize);
        int line = Grid.IdxX;
        int tid = Group.IdxX;
        int size = Group.DimX;
        int inner = p.Inner;
        int n = p.Axis;
        long b = ((long)(line / inner) * n * inner) + (line % inner);
        bool log = p.Log != 0;
        float s = 0f;
        for (int k = tid; k < n; k += size)
        {
            long i = b + ((long)k * inner);
            s += log ? dy[i] : dy[i] * y[i];
        }

        s = GroupReduce.Sum(s, shared);
        for (int k = tid; k < n; k += size)
        {
            long i = b + ((long)k * inner);
            dx[i] = log ? dy[i] - (XMath.Exp(y[i]) * s) : y[i] * (dy[i] - s);
        }
    }
}
