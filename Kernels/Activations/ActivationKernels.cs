// Elementwise activation kernels and the maxout kernels, forward and backward side by side.
using ILGPU;

namespace Engine.Kernels.Activations;

/// <summary>One thread per element (auto-grouped launches over the element count).</summary>
public static class ActivationKernels
{
    /// <summary>y[i] = f(x[i]). x, y: (n) any shape flattened; y may be x.</summary>
    public static void Forward(Index1D i, ArrayView<float> x, ArrayView<float> y, ActivationParams p) =>
        y[i] = ActivationMath.Forward(x[i], p);

    /// <summary>dx[i] = dy[i] * f'(x[i]) (sigmoid and tanh use y[i]). x, y, dy, dx: (n); dx may be dy.</summary>
    public static void Backward(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, ActivationParams p) =>
        dx[i] = dy[i] * ActivationMath.Derivative(x[i], y[i], p);

    /// <summary>
    /// Maxout forward, one thread per output: x (rows, F * k) seen as (rows, F, k), y (rows, F) = max over k.
    /// Launch over rows * F outputs.
    /// </summary>
    public static void MaxoutForward(Index1D o, ArrayView<float> x, ArrayView<float> y, int pieces)
    {
        long b = (long)o.X * pieces;
        float m = x[b];
        for (int j = 1; j < pieces; j++)
        {
            float v = x[b + j];
            if (v > m)
            {
                m = v;
            }
        }

        y[o] = m;
    }

    /// <summary>
    /// Maxout backward, one thread per output: dx (rows, F * k) gets dy (rows, F) at the first maximum of each
    /// group of k, zeros elsewhere. Launch over rows * F outputs.
    /// </summary>
    public static void MaxoutBackward(Index1D o, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dx, int pieces)
    {
        long b = (long)o.X * pieces;
        float m = x[b];
        int arg = 0;
        for (int j = 1; j < pieces; j++)
        {
            float v = x[b + j];
            if (v > m)
            {
                m = v;
                arg = j;
            }
        }

        float g = dy[o];
        for (int j = 0; j < pieces; j++)
        {
            dx[b + j] = j == arg ? g : 0f;
        }
    }
}
