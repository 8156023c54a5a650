// Shape-only ops (flatten, reshape with an inferred dimension): views that share the input's memory, no copy.
using System;

namespace Engine.Ops;

/// <summary>
/// Flatten and reshape as views (<see cref="Tensor.Reshape"/>). Creating a view allocates a small managed object,
/// so a graph creates its views once when it is planned; the backward of a view is the same view of the gradient.
/// </summary>
public static class Views
{
    /// <summary>
    /// <c>torch.flatten(x, startDim, endDim)</c>: dimensions startDim..endDim (inclusive, negative from the end)
    /// merged into one. The default turns (N, C, H, W) into (N, C * H * W).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The dimensions are outside x or out of order.</exception>
    public static Tensor Flatten(Tensor x, int startDim = 1, int endDim = -1)
    {
        ArgumentNullException.ThrowIfNull(x);
        int s = startDim < 0 ? startDim + x.Rank : startDim;
        int e = endDim < 0 ? endDim + x.Rank : endDim;
        if (x.Rank == 0 || s < 0 || e >= x.Rank || s > e)
        {
            throw new ArgumentOutOfRangeException(nameof(startDim), $"flatten: dimensions {startDim}..{endDim} do not name an ordered range of x {x.Shape} (rank {x.Rank}).");
        }

        var dims = new int[x.Rank - (e - s)];
        for (int i = 0; i < s; i++)
        {
            dims[i] = x.Shape[i];
        }

        dims[s] = checked((int)x.Shape.Product(s, e + 1));
        for (int i = e + 1; i < x.Rank; i++)
        {
            dims[i - (e - s)] = x.Shape[i];
        }

        return x.Reshape(new Shape(dims));
    }

    /// <summary>A view of x with <paramref name="dims"/>; one entry may be -1 (inferred from the element count).</summary>
    /// <exception cref="ArgumentException">The dimensions do not describe x's element count.</exception>
    public static Tensor Reshape(Tensor x, params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(dims);
        var d = (int[])dims.Clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < d.Length; i++)
        {
            if (d[i] == -1 && infer < 0)
            {
                infer = i;
            }
            else if (d[i] <= 0)
            {
                throw new ArgumentException($"reshape: dimensions {Shape.Format(dims)} for x {x.Shape}: dimension {i} is {d[i]}; use positive sizes and at most one -1.", nameof(dims));
            }
            else
            {
                known *= d[i];
            }
        }

        if (infer >= 0)
        {
            if (x.Length % known != 0)
            {
                throw new ArgumentException($"reshape: x {x.Shape} has {x.Length} elements, not a multiple of {known} for {Shape.Format(dims)}.", nameof(dims));
            }

            d[infer] = checked((int)(x.Length / known));
        }

        return x.Reshape(new Shape(d));
    }
}
