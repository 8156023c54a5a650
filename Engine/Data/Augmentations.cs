// Seeded augmentations beside shifts and crops (SampleTransforms.cs): random flips and small rotations, which move a
// spatial target (a mask) with the image, and additive Gaussian noise on the features.
using System;

namespace Engine.Data;

/// <summary>
/// Flips an image (the last two dimensions are height and width) left-right and/or upside down, each with probability
/// <see cref="P"/> (torchvision's <c>RandomHorizontalFlip(p)</c> and <c>RandomVerticalFlip(p)</c>); a spatial target is flipped with it.
/// </summary>
public sealed class RandomFlip : ISampleTransform
{
    /// <summary>Creates the flip.</summary>
    /// <exception cref="ArgumentException">Neither direction is enabled.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1].</exception>
    public RandomFlip(bool horizontal = true, bool vertical = false, float p = 0.5f)
    {
        if (!horizontal && !vertical)
        {
            throw new ArgumentException("a random flip needs horizontal, vertical or both.", nameof(horizontal));
        }

        P = p is >= 0f and <= 1f ? p : throw new ArgumentOutOfRangeException(nameof(p), p, "the flip probability must lie in [0, 1].");
        Horizontal = horizontal;
        Vertical = vertical;
    }

    /// <summary>Whether images may be mirrored left-right.</summary>
    public bool Horizontal { get; }

    /// <summary>Whether images may be turned upside down.</summary>
    public bool Vertical { get; }

    /// <summary>The probability of each enabled flip.</summary>
    public float P { get; }

    /// <inheritdoc />
    public void Apply(Span<float> sample, Shape shape, ref SampleRandom random) => Apply(sample, shape, default, Shape.Scalar, ref random);

    /// <summary>Flips the sample, and a spatial target (its last two dimensions the image's) the same way.</summary>
    public void Apply(Span<float> sample, Shape shape, Span<float> target, Shape targetShape, ref SampleRandom random)
    {
        // Both draws happen whatever is enabled, so a sample's stream does not depend on the settings' other half.
        bool h = random.NextSingle() < P && Horizontal;
        bool v = random.NextSingle() < P && Vertical;
        Flip(sample, shape, h, v);
        if (Spatial.Matches(target, targetShape, shape))
        {
            Flip(target, targetShape, h, v);
        }
    }

    /// <summary>Mirrors every [H, W] plane of <paramref name="sample"/> left-right (<paramref name="horizontal"/>) and/or upside down.</summary>
    /// <exception cref="ArgumentException">The shape has fewer than two dimensions.</exception>
    public static void Flip(Span<float> sample, Shape shape, bool horizontal, bool vertical)
    {
        var (h, w) = Spatial.Plane(shape);
        for (int p = 0; p + (h * w) <= sample.Length; p += h * w)
        {
            var img = sample.Slice(p, h * w);
            if (horizontal)
            {
                for (int y = 0; y < h; y++)
                {
                    img.Slice(y * w, w).Reverse();
                }
            }

            if (vertical)
            {
                for (int y = 0; y < h / 2; y++)
                {
                    var top = img.Slice(y * w, w);
                    var bottom = img.Slice((h - 1 - y) * w, w);
                    for (int x = 0; x < w; x++)
                    {
                        (top[x], bottom[x]) = (bottom[x], top[x]);
                    }
                }
            }
        }
    }
}

/// <summary>
/// Rotates an image about its centre by a uniform random angle in [-MaxDegrees, MaxDegrees] (counter-clockwise
/// positive, as torchvision's <c>RandomRotation(degrees)</c>), filling uncovered pixels with zero; bilinear or nearest
/// sampling for the image, nearest always for a spatial target (so mask labels stay labels), which turns with it.
/// </summary>
public sealed class RandomRotation : ISampleTransform
{
    [ThreadStatic]
    private static float[]? scratch;

    /// <summary>Creates the rotation.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxDegrees"/> is negative, above 180 or not finite.</exception>
    public RandomRotation(float maxDegrees, bool bilinear = true)
    {
        MaxDegrees = maxDegrees is >= 0f and <= 180f ? maxDegrees : throw new ArgumentOutOfRangeException(nameof(maxDegrees), maxDegrees, "the largest rotation must lie in [0, 180] degrees.");
        Bilinear = bilinear;
    }

    /// <summary>The largest rotation either way, in degrees.</summary>
    public float MaxDegrees { get; }

    /// <summary>Whether the image is sampled bilinearly (else the nearest pixel).</summary>
    public bool Bilinear { get; }

    /// <inheritdoc />
    public void Apply(Span<float> sample, Shape shape, ref SampleRandom random) => Apply(sample, shape, default, Shape.Scalar, ref random);

    /// <summary>Rotates the sample, and a spatial target (its last two dimensions the image's) by the same angle.</summary>
    public void Apply(Span<float> sample, Shape shape, Span<float> target, Shape targetShape, ref SampleRandom random)
    {
        float degrees = ((2f * random.NextSingle()) - 1f) * MaxDegrees;
        Rotate(sample, shape, degrees, Bilinear);
        if (Spatial.Matches(target, targetShape, shape))
        {
            Rotate(target, targetShape, degrees, bilinear: false);
        }
    }

    /// <summary>
    /// Rotates every [H, W] plane of <paramref name="sample"/> by <paramref name="degrees"/> counter-clockwise about the
    /// centre ((W - 1) / 2, (H - 1) / 2): out(p) = in(c + R(-degrees)(p - c)), zero outside the image.
    /// </summary>
    /// <exception cref="ArgumentException">The shape has fewer than two dimensions.</exception>
    public static void Rotate(Span<float> sample, Shape shape, float degrees, bool bilinear)
    {
        var (h, w) = Spatial.Plane(shape);
        if (degrees == 0f)
        {
            return;
        }

        int plane = h * w;
        if (scratch is null || scratch.Length < plane)
        {
            scratch = new float[plane];
        }

        var src = scratch.AsSpan(0, plane);
        double rad = degrees * Math.PI / 180.0;
        double cos = Math.Cos(rad), sin = Math.Sin(rad);
        double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
        for (int p = 0; p + plane <= sample.Length; p += plane)
        {
            var img = sample.Slice(p, plane);
            img.CopyTo(src);
            for (int y = 0; y < h; y++)
            {
                for (int x = 0; x < w; x++)
                {
                    // Image rows grow downwards, so a counter-clockwise turn on screen reads the source here.
                    double dx = x - cx, dy = y - cy;
                    double sx = cx + (dx * cos) - (dy * sin);
                    double sy = cy + (dx * sin) + (dy * cos);
                    img[(y * w) + x] = bilinear ? SampleBilinear(src, h, w, sx, sy) : SampleNearest(src, h, w, sx, sy);
                }
            }
        }
    }

    private static float SampleNearest(ReadOnlySpan<float> src, int h, int w, double sx, double sy)
    {
        return (float)At(src, h, w, (int)Math.Round(sx, MidpointRounding.AwayFromZero), (int)Math.Round(sy, MidpointRounding.AwayFromZero));
    }

    private static float SampleBilinear(ReadOnlySpan<float> src, int h, int w, double sx, double sy)
    {
        int x0 = (int)Math.Floor(sx), y0 = (int)Math.Floor(sy);
        double fx = sx - x0, fy = sy - y0;
        return (float)((At(src, h, w, x0, y0) * (1 - fx) * (1 - fy)) + (At(src, h, w, x0 + 1, y0) * fx * (1 - fy))
            + (At(src, h, w, x0, y0 + 1) * (1 - fx) * fy) + (At(src, h, w, x0 + 1, y0 + 1) * fx * fy));
    }

    private static double At(ReadOnlySpan<float> src, int h, int w, int x, int y) => x >= 0 && x < w && y >= 0 && y < h ? src[(y * w) + x] : 0.0;
}

/// <summary>Adds Gaussian noise N(mean, std^2) to every feature (not to the target), drawn from the sample's stream.</summary>
public sealed class GaussianNoise : ISampleTransform
{
    /// <summary>Creates the noise.</summary>
    /// <exception cref="ArgumentOutOfRangeException">std is negative or a value is not finite.</exception>
    public GaussianNoise(float std, float mean = 0f)
    {
        Std = std >= 0f && float.IsFinite(std) ? std : throw new ArgumentOutOfRangeException(nameof(std), std, "the noise std must be finite and non-negative.");
        Mean = float.IsFinite(mean) ? mean : throw new ArgumentOutOfRangeException(nameof(mean), mean, "the noise mean must be finite.");
    }

    /// <summary>Standard deviation of the noise.</summary>
    public float Std { get; }

    /// <summary>Mean of the noise.</summary>
    public float Mean { get; }

    /// <inheritdoc />
    public void Apply(Span<float> sample, Shape shape, ref SampleRandom random)
    {
        for (int i = 0; i < sample.Length; i++)
        {
            sample[i] += Mean + (Std * (float)random.NextNormal());
        }
    }
}

/// <summary>The image-plane helpers the spatial transforms share.</summary>
internal static class Spatial
{
    /// <summary>(H, W): the last two dimensions.</summary>
    /// <exception cref="ArgumentException">The shape has fewer than two dimensions.</exception>
    public static (int H, int W) Plane(Shape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return shape.Rank >= 2 ? (shape[-2], shape[-1])
            : throw new ArgumentException($"A spatial transform needs samples with height and width as the last two dimensions; got {shape}.", nameof(shape));
    }

    /// <summary>Whether a target is spatial for this image: present, and its last two dimensions are the image's height and width.</summary>
    public static bool Matches(ReadOnlySpan<float> target, Shape targetShape, Shape imageShape) =>
        !target.IsEmpty && targetShape.Rank >= 2 && imageShape.Rank >= 2 && targetShape[-1] == imageShape[-1] && targetShape[-2] == imageShape[-2];
}
