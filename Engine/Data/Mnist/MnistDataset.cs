// MNIST-format data (28x28 grey images with labels 0-9) loaded from the four standard IDX files of a folder.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace Engine.Data.Mnist;

/// <summary>Which half of MNIST: the training files (train-*) or the test files (t10k-*).</summary>
public enum MnistSplit
{
    /// <summary>train-images-idx3-ubyte and train-labels-idx1-ubyte.</summary>
    Train = 0,

    /// <summary>t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte.</summary>
    Test = 1,
}

/// <summary>
/// MNIST images and labels as bytes (a quarter of the memory of floats). As an <see cref="IDataset"/> each sample is
/// [1, 28, 28] floats in [0, 1] (pixel / 255 in float, exactly as torchvision's <c>ToTensor</c> computes it), with 10 classes.
/// </summary>
public sealed class MnistDataset : IDataset
{
    /// <summary>Image height and width.</summary>
    public const int Side = 28;

    /// <summary>Number of classes (digits 0-9).</summary>
    public const int Classes = 10;

    private const int Pixels = Side * Side;
    private readonly byte[] images;
    private readonly byte[] labels;

    /// <summary>Wraps images (count * 784 bytes) and labels (count bytes, each 0-9).</summary>
    /// <exception cref="ArgumentException">Lengths disagree or a label is above 9.</exception>
    public MnistDataset(byte[] images, byte[] labels)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Length == 0 || images.Length != (long)labels.Length * Pixels)
        {
            throw new ArgumentException($"images has {images.Length} bytes but {labels.Length} labels need {(long)labels.Length * Pixels} (28x28 each, at least one).", nameof(images));
        }

        int bad = Array.FindIndex(labels, l => l >= Classes);
        if (bad >= 0)
        {
            throw new ArgumentException($"labels[{bad}] is {labels[bad]}; MNIST labels are 0-9.", nameof(labels));
        }

        this.images = images;
        this.labels = labels;
    }

    /// <inheritdoc />
    public int Count => labels.Length;

    /// <inheritdoc />
    public Shape SampleShape { get; } = new(1, Side, Side);

    /// <inheritdoc />
    public int ClassCount => Classes;

    /// <summary>Every image's pixels, row-major, 784 bytes per image.</summary>
    public ReadOnlySpan<byte> Images => images;

    /// <summary>Every label.</summary>
    public ReadOnlySpan<byte> Labels => labels;

    /// <summary>The 784 pixels of image <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> Image(int index) => images.AsSpan(checked(index * Pixels), Pixels);

    /// <inheritdoc />
    public int Read(int index, Span<float> features)
    {
        if ((uint)index >= (uint)labels.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Sample index must lie in [0, {labels.Length}).");
        }

        if (features.Length != Pixels)
        {
            throw new ArgumentException($"features has {features.Length} elements; an MNIST sample has {Pixels}.", nameof(features));
        }

        var src = images.AsSpan(index * Pixels, Pixels);
        for (int i = 0; i < Pixels; i++)
        {
            features[i] = src[i] / 255f;
        }

        return labels[index];
    }
}

/// <summary>Finds, validates and loads the four MNIST IDX files of a folder.</summary>
public static class Mnist
{
    /// <summary>The standard base names (each may also end in .gz).</summary>
    public static IReadOnlyList<string> FileNames { get; } =
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    /// <summary>The base names of a split's images and labels files.</summary>
    public static (string Images, string Labels) FileNamesOf(MnistSplit split) => split == MnistSplit.Train
        ? (FileNames[0], FileNames[1])
        : (FileNames[2], FileNames[3]);

    /// <summary>
    /// The path of <paramref name="baseName"/> in <paramref name="directory"/>: the plain file, else the .gz, else the
    /// variant with a dot (train-images.idx3-ubyte) that some mirrors use; null when none exists.
    /// </summary>
    public static string? Find(string directory, string baseName)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(baseName);
        string dotted = baseName.Replace("-idx", ".idx", StringComparison.Ordinal);
        foreach (string name in new[] { baseName, baseName + ".gz", dotted, dotted + ".gz" })
        {
            string p = Path.Combine(directory, name);
            if (File.Exists(p))
            {
                return p;
            }
        }

        return null;
    }

    /// <summary>The standard files missing from <paramref name="directory"/> (empty when all four are there).</summary>
    public static IReadOnlyList<string> MissingFiles(string directory) =>
        [.. FileNames.Where(n => Find(directory, n) is null)];

    /// <summary>Loads one split from <paramref name="directory"/>, validating both files and that they agree.</summary>
    /// <exception cref="FileNotFoundException">A file is missing; the message names it and the folder.</exception>
    /// <exception cref="InvalidDataException">A file is malformed, truncated, not 28x28, the counts differ, or a label is above 9.</exception>
    public static MnistDataset Load(string directory, MnistSplit split)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var (imagesName, labelsName) = FileNamesOf(split);
        string imagesPath = Require(directory, imagesName);
        string labelsPath = Require(directory, labelsName);
        var images = IdxFile.Read(imagesPath, 3);
        if (images.Dimensions[1] != MnistDataset.Side || images.Dimensions[2] != MnistDataset.Side)
        {
            throw new InvalidDataException(
                $"'{imagesPath}' holds {images.Dimensions[1]}x{images.Dimensions[2]} images; MNIST images are 28x28. Is it an MNIST-format file?");
        }

        var labels = IdxFile.Read(labelsPath, 1);
        if (labels.Dimensions[0] != images.Dimensions[0])
        {
            throw new InvalidDataException(
                $"'{imagesPath}' holds {images.Dimensions[0]} images but '{labelsPath}' holds {labels.Dimensions[0]} labels; the files must come from the same set.");
        }

        int bad = Array.FindIndex(labels.Data, l => l >= MnistDataset.Classes);
        if (bad >= 0)
        {
            throw new InvalidDataException($"'{labelsPath}' has label {labels.Data[bad]} at index {bad}; MNIST labels are 0-9. The file is corrupt or not an MNIST labels file.");
        }

        return new MnistDataset(images.Data, labels.Data);
    }

    private static string Require(string directory, string baseName) =>
        Find(directory, baseName) ?? throw new FileNotFoundException(
            $"MNIST file '{baseName}' (or '{baseName}.gz') is missing from '{Path.GetFullPath(directory)}'. That folder must hold the four MNIST IDX files: {string.Join(", ", FileNames)} (plain or .gz).",
            Path.Combine(directory, baseName));
}
