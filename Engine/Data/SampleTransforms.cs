// Per-sample transforms a loader applies while filling a batch: normalization and seeded shift/crop augmentation;
// a shift moves a spatial target (a mask, a reconstruction) with its image.
using System;

namespace Engine.Data;

/// <summary>
/// Transforms one sample's features in place (the shape does not change). The <c>random</c> argument is the
/// sample's own stream, fixed by (loader seed, epoch, sample index), so results never depend on threads or batch
/// size. Implementations must not allocate (they run for every sample of every batch).
/// </summary>
public interface ISampleTransform
{
    /// <summary>Transforms <paramref name="sample"/> (shape <paramref name="shape"/>) in place.</summary>
    void Apply(Span<float> sample, Shape shape, ref SampleRandom random);

    /// <summary>
    /// Transforms <paramref name="sample"/> and its <paramref name="target"/> (shape <paramref name="targetShape"/>;
    /// empty for class labels) in place, together: a geometric transform moves a spatial target (one whose last two
    /// dimensions are the image's height and width, such as a mask) exactly as it moves the image. The default
    /// transforms the sample alone.
    /// </summary>
    void Apply(Span<float> sample, Shape shape, Span<float> target, Shape targetShape, ref SampleRandom random) => Apply(sample, shape, ref random);
}

/// <summary>Normalizes each sample with fixed statistics: (x - mean) / std.</summary>
public sealed class Normalize : ISampleTransform
{
    /// <summary>Wraps <paramref name="normalization"/>.</summary>
    public Normalize(Normalization normalization)
    {
        Normalization = normalization ?? throw new ArgumentNullException(nameof(normalization));
    }

    /// <summary>The statistics.</summary>
    public Normalization Normalization { get; }

    /// <inheritdoc />
    public void Apply(Span<float> sample, Shape shape, ref SampleRandom random) => Normalization.Apply(sample, shape);
}

/// <summary>
/// Shifts every channel of an image (the last two dimensions are height and width) by a random whole number of
/// pixels, dy in [-MaxShiftY, MaxShiftY] and dx in [-MaxShiftX, MaxShiftX], filling uncovered pixels with zero.
/// This is torchvision's <c>RandomCrop(size, padding=p)</c> with zero padding, for p = max shift.
/// Put it before <see cref="Normalize"/> so that the padding is the raw zero, as torchvision does.
/// </summary>
public sealed class RandomShift : ISampleTransform
{
    /// <summary>Creates a shift of up to <paramref name="maxShift"/> pixels in each direction.</summary>
    public RandomShift(int maxShift)
        : this(maxShift, maxShift)
    {
    }

    /// <summary>Creates a shift of up to <paramref name="maxShiftY"/> rows and <paramref name="maxShiftX"/> columns.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A maximum is negative.</exception>
    public RandomShift(int maxShiftY, int maxShiftX)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxShiftY);
        ArgumentOutOfRangeException.ThrowIfNegative(maxShiftX);
        MaxShiftY = maxShiftY;
        MaxShiftX = maxShiftX;
    }

    /// <summary>Largest vertical shift in pixels.</summary>
    public int MaxShiftY { get; }

    /// <summary>Largest horizontal shift in pixels.</summary>
    public int MaxShiftX { get; }

    /// <inheritdoc />
    public void Apply(Span<float> sample, Shape shape, ref SampleRandom random) => Apply(sample, shape, default, Shape.Scalar, ref random);

    /// <summary>Shifts the sample, and a spatial target (its last two dimensions the image's) by the same pixels; uncovered target pixels become 0.</summary>
    public void Apply(Span<float> sample, Shape shape, Span<float> target, Shape targetShape, ref SampleRandom random)
    {
        int dy = random.NextInt(-MaxShiftY, MaxShiftY);
        int dx = random.NextInt(-MaxShiftX, MaxShiftX);
        Shift(sample, shape, dy, dx);
        ShiftTarget(target, targetShape, shape, dy, dx);
    }

    /// <summary>Shifts <paramref name="target"/> like its image when its last two dimensions are the image's height and width.</summary>
    internal static void ShiftTarget(Span<float> target, Shape targetShape, Shape imageShape, int dy, int dx)
    {
        ArgumentNullException.ThrowIfNull(targetShape);
        if (Spatial.Matches(target, targetShape, imageShape))
        {
            Shift(target, targetShape, dy, dx);
        }
    }

    /// <summary>
    /// Moves the image content by (<paramref name="dy"/>, <paramref name="dx"/>): out[y, x] = in[y - dy, x - dx], zero
    /// where that lies outside. Works on [H, W] or [..., H, W] samples, every leading index independently.
    /// </summary>
    /// <exception cref="ArgumentException">The shape has fewer than two dimensions.</exception>
    public static void Shift(Span<float> sample, Shape shape, int dy, int dx)
    {
        var (h, w) = Spatial.Plane(shape);
        int plane = h * w;
        if (dy == 0 && dx == 0)
        {
            return;
        }

        for (int p = 0; p + plane <= sample.Length; p += plane)
        {
            ShiftPlane(sample.Slice(p, plane), h, w, dy, dx);
        }
    }

    private static void ShiftPlane(Span<float> img, int h, int w, int dy, int dx)
    {
        if (Math.Abs(dy) >= h || Math.Abs(dx) >= w)
        {
            img.Clear();
            return;
        }

        int copyW = w - Math.Abs(dx);
        int dstX = Math.Max(dx, 0), srcX = Math.Max(-dx, 0);

        // Visit destination rows so that every source row is read before it is overwritten.
        for (int k = 0; k < h; k++)
        {
            int y = dy > 0 ? h - 1 - k : k;
            var row = img.Slice(y * w, w);
            int sy = y - dy;
            if (sy < 0 || sy >= h)
            {
                row.Clear();
                continue;
            }

            img.Slice((sy * w) + srcX, copyW).CopyTo(row.Slice(dstX, copyW));
            row.Slice(0, dstX).Clear();
            row.Slice(dstX + copyW).Clear();
        }
    }
}

/// <summary>
/// torchvision's <c>RandomCrop(size, padding)</c> for a crop of the input size: pads the image with
/// <see cref="Padding"/> zeros on every side and cuts the original size back out at a uniformly random offset.
/// The same as a <see cref="RandomShift"/> of up to <see cref="Padding"/> pixels.
/// </summary>
public sealed class RandomCrop : ISampleTransform
{
    /// <summary>Creates a crop with <paramref name="padding"/> zero pixels of padding on each side.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="padding"/> is negative.</exception>
    public RandomCrop(int padding)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        Padding = padding;
    }

    /// <summary>Zero padding added on each side before cropping.</summary>
    public int Padding { get; }

    /// <inheritdoc />
    public void Apply(Span<float> sample, Shape shape, ref SampleRandom random) => Apply(sample, shape, default, Shape.Scalar, ref random);

    /// <summary>Crops the sample, and a spatial target (its last two dimensions the image's) at the same offset.</summary>
    public void Apply(Span<float> sample, Shape shape, Span<float> target, Shape targetShape, ref SampleRandom random)
    {
        // A crop at offset (oy, ox) in [0, 2p] of the padded image is a shift by (p - oy, p - ox).
        int oy = random.NextInt(0, 2 * Padding);
        int ox = random.NextInt(0, 2 * Padding);
        RandomShift.Shift(sample, shape, Padding - oy, Padding - ox);
        RandomShift.ShiftTarget(target, targetShape, shape, Padding - oy, Padding - ox);
    }
}
