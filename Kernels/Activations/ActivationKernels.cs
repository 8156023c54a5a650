// Elementwise activation kernels, generic over the operator struct (one compiled kernel per activation, as
// ILGPU.Algorithms does with its operation interfaces), and the maxout kernels; forward and backward side by side.
using ILGPU;
using ILGPU.Algorithms;

namespace Engine.Kernels.Activations;

/// <summary>
/// One thread per element (auto-grouped launches over the element count). <c>TOp</c> is any
/// <see cref="IActivationOperator"/> struct of this assembly; each instantiation is its own kernel.
/// </summary>
public static class ActivationKernels
{
    /// <summary>y[i] = f(x[i]). x, y: (n) any shape flattened; y may be x.</summary>
    public static void Forward<TOp>(Index1D i, ArrayView<float> x, ArrayView<float> y, ActivationParams p)
        where TOp : struct, IActivationOperator =>
        y[i] = default(TOp).Forward(x[i], p);

    /// <summary>
    /// dx[i] = dy[i] * f'(x[i]) given y = f(x); only the tensor the operator's derivative reads is loaded (the other
    /// may hold anything). x, y, dy, dx: (n); dx may be dy.
    /// </summary>
    public static void Backward<TOp>(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, ActivationParams p)
        where TOp : struct, IActivationOperator
    {
        var op = default(TOp);
        float d = op.DerivativeReads == ActivationInput.Output ? op.Derivative(0f, y[i], p) : op.Derivative(x[i], 0f, p);
        dx[i] = dy[i] * d;
    }

    /// <summary>
    /// Maxout forward, one thread per output: x (rows, F * k) seen as (rows, F, k), y (rows, F) = max over k.
    /// Launch over rows * F outputs.
    /// </summary>
    public static void MaxoutForward(Index1D o, ArrayView<float> x, ArrayView<float> y, int pieces)
    {
        long b = (long)o.X * pieces;
        y[o] = x[b + FirstArgMax(x, b, pieces)];
    }

    /// <summary>
    /// Maxout backward, one thread per output: dx (rows, F * k) gets dy (rows, F) at the first maximum (the first NaN, as torch.max) of each
    /// group of k, zeros elsewhere. Launch over rows * F outputs.
    /// </summary>
    public static void MaxoutBackward(Index1D o, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dx, int pieces)
    {
        long b = (long)o.X * pieces;
        int arg = FirstArgMax(x, b, pieces);

        float g = dy[o];
        for (int j = 0; j < pieces; j++)
        {
            dx[b + j] = j == arg ? g : 0f;
        }
    }

    /// <summary>
    /// Maxout tangent (forward mode), one thread per output: dy (rows, F) is the input tangent dx (rows, F * k) at the
    /// first maximum of x in each group of k. Launch over rows * F outputs.
    /// </summary>
    public static void MaxoutTangent(Index1D o, ArrayView<float> x, ArrayView<float> dx, ArrayView<float> dy, int pieces)
    {
        long b = (long)o.X * pieces;
        int arg = FirstArgMax(x, b, pieces);

        dy[o] = dx[b + arg];
    }

    /// <summary>The offset in [0, pieces) of the first maximum of x[b .. b + pieces) (maxout's selected piece).</summary>
    private static int FirstArgMax(ArrayView<float> x, long b, int pieces)
    {
        float m = x[b];
        int arg = 0;
        for (int j = 1; j < pieces; j++)
        {
            float v = x[b + j];
            if (v > m || (XMath.IsNaN(v) && !XMath.IsNaN(m)))
            {
                m = v;
                arg = j;
            }
        }

        return arg;
    }
}
