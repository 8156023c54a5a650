// The main job's ONNX step on a small slice of the real digits: the trained CNN is written as model.onnx and ONNX
// Runtime classifies the test digits exactly as the engine does (the line printed beside the final one).
using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Engine.Data;
using Engine.Data.Mnist;
using Engine.Tests.Data;
using Microsoft.Extensions.Logging.Abstractions;
using MnistTrainer;
using NUnit.Framework;

namespace Engine.Tests.Samples;

public sealed class OnnxMainJobTests
{
    [Test]
    public void The_exported_cnn_gets_the_engines_test_accuracy_in_onnx_runtime()
    {
        string dir = RealDigits.Cached();

        var train = Slice(Mnist.Load(dir, MnistSplit.Train), 1024);
        var test = Slice(Mnist.Load(dir, MnistSplit.Test), 500);
        var norm = Normalization.Compute(train);
        var (options, error) = TrainerOptions.Parse(["--model", "cnn", "--epochs", "1", "--batch-size", "64", "--device", "cpu", "--shift", "0"]);
        Assert.That(error, Is.Null);
        using var device = Device.Create(DeviceKind.Cpu);
        using var trainLoader = new DeviceDataLoader(device, train, new DataLoaderOptions { BatchSize = 64, Seed = 1, Transforms = [new Normalize(norm)] });
        using var testLoader = new DeviceDataLoader(device, test, new DataLoaderOptions { BatchSize = 64, Shuffle = false, Transforms = [new Normalize(norm)] });
        using var training = new MnistTraining(device, options!, NullLogger.Instance);
        training.Fit(trainLoader, testLoader, new Progress<Engine.Training.TrainingProgress>(), default);

        using var tmp = new TempDir();
        string line = OnnxCheck.Report(training, tmp.Path, test, norm, NullLogger.Instance);
        TestContext.Out.WriteLine(line);
        var m = Regex.Match(line, @"test accuracy (\d+\.\d\d)% \(500 samples\); the engine: (\d+\.\d\d)%");
        Assert.That(m.Success, Is.True, line);
        Assert.That(m.Groups[1].Value, Is.EqualTo(m.Groups[2].Value), "ONNX Runtime and the engine classify the same digits right");
        Assert.That(double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), Is.GreaterThan(50), "the CNN learned something");
        Assert.That(File.Exists(Path.Combine(tmp.Path, "model.onnx")), Is.True);
    }

    private static MnistDataset Slice(MnistDataset d, int n) =>
        new(d.Images[..(n * MnistDataset.Side * MnistDataset.Side)].ToArray(), d.Labels[..n].ToArray());
}
