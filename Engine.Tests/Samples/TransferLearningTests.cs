// Transfer learning on the real digits: the main job (TrainerApp, as `./build.sh train`) trains a small digits MLP on a
// subset and saves model.safetensors; a copy of its architecture with a new odd/even head loads everything but the old
// head (a partial load), freezes the body (or not) and fine-tunes, and after the same few steps is more accurate than
// the same model trained from scratch.
using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Engine.Checkpoints;
using Engine.Data;
using Engine.Data.Mnist;
using Engine.Nn;
using Engine.Optim;
using Engine.Tests.Data;
using Engine.Training;
using Microsoft.Extensions.Logging.Abstractions;
using MnistTrainer;
using NUnit.Framework;

namespace Engine.Tests.Samples;

public sealed class TransferLearningTests
{
    private const int BaseDigits = 12000;
    private const int FineTuneDigits = 320;   // 10 steps of 32 per epoch, digits the base model never saw
    private const int FineTuneEpochs = 3;
    private const int TestDigits = 2000;

    /// <summary>Digits [start, start + count) of a split with the label's parity (0 even, 1 odd) as a two-class target.</summary>
    private static InMemoryDataset OddEven(MnistDataset source, int start, int count)
    {
        var features = new float[count * 784];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = source.Read(start + i, features.AsSpan(i * 784, 784)) % 2;
        }

        return new InMemoryDataset(features, labels, source.SampleShape, 2);
    }

    /// <summary>
    /// The main job's MLP with a 2-way head (pretrained body or not), trained on the odd/even digits with Adam (lr 0.003);
    /// returns the test accuracy after each epoch.
    /// </summary>
    private static double[] FineTune(Device device, string? pretrained, InMemoryDataset train, InMemoryDataset test, Normalization norm, bool freezeBody)
    {
        var model = (Sequential)MnistTraining.Build(ModelKind.Mlp);
        var oldHead = (Linear)model.Replace(-1, new Linear(128, 2));
        Assert.That((oldHead.InFeatures, oldHead.OutFeatures), Is.EqualTo((128, 10)), "the main job's head");
        if (freezeBody)
        {
            model.Freeze();
            model[^1].Unfreeze();
        }

        using var _ = model;
        using var net = model.Compile(device, [32, 1, 28, 28], Loss.CrossEntropy(), new CompileOptions { Seed = 5 });
        float[] body = [];
        if (pretrained is not null)
        {
            var report = net.LoadWeights(pretrained, new WeightLoadOptions { Strict = false, SkipMismatchedShapes = true });
            Assert.That(report.Loaded, Is.EqualTo(new[] { "1.weight", "1.bias", "3.weight", "3.bias" }));
            Assert.That(report.Skipped, Is.EquivalentTo(new[] { "5.weight ([10, 128] in the file, [2, 128] in the model)", "5.bias ([10] in the file, [2] in the model)" }));
            Assert.That(report.Missing, Is.EqualTo(new[] { "5.weight", "5.bias" }), "the new head keeps its fresh initialization");
            body = net.Parameters["3.weight"].Value.ToArray();
        }

        Assert.That(net.Parameters.Count(p => p.RequiresGrad), Is.EqualTo(freezeBody ? 2 : 6));
        using var adam = new Adam(net.Parameters, new AdamOptions { LR = 0.003 });
        using var trainer = new Trainer(net, adam, options: new TrainingOptions
        {
            Epochs = FineTuneEpochs, BatchSize = 32, Seed = 3, Transforms = [new Normalize(norm)], ValidationTransforms = [new Normalize(norm)],
        });
        var curve = trainer.Fit(train, test).History.Select(h => h.ValidationAccuracy).ToArray();
        if (freezeBody)
        {
            Assert.That(net.Parameters["3.weight"].Value.ToArray(), Is.EqualTo(body), "the frozen body did not move");
        }

        return curve;
    }

    private static string Curve(double[] accuracy) => string.Join(", ", accuracy.Select(a => (a * 100).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) + "%"));

    [Test]
    public async Task A_digits_model_saved_by_the_main_job_fine_tunes_to_odd_even_faster_than_from_scratch()
    {
        using var tmp = new TempDir();
        string digits = RealDigits.Subset(tmp, BaseDigits, 500);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await TrainerApp.RunAsync(
            ["--data", digits, "--out", tmp["base"], "--device", "cpu", "--model", "mlp", "--epochs", "2", "--batch-size", "32", "--lr", "0.002", "--shift", "0", "--seed", "1"],
            stdout, stderr, NullLoggerFactory.Instance, interactive: false);
        Assert.That((code, stderr.ToString()), Is.EqualTo((0, string.Empty)));
        string saved = Path.Combine(tmp["base"], "model.safetensors");
        Assert.That(File.Exists(saved), Is.True);

        var trainDigits = Mnist.Load(RealDigits.Cached(), MnistSplit.Train);
        var testDigits = Mnist.Load(RealDigits.Cached(), MnistSplit.Test);
        var norm = Normalization.Compute(Mnist.Load(digits, MnistSplit.Train));   // the main job's statistics
        var fineTune = OddEven(trainDigits, BaseDigits, FineTuneDigits);
        var test = OddEven(testDigits, 0, TestDigits);

        using var device = Device.Create(DeviceKind.Cpu);
        var frozen = FineTune(device, saved, fineTune, test, norm, freezeBody: true);
        var all = FineTune(device, saved, fineTune, test, norm, freezeBody: false);
        var scratch = FineTune(device, null, fineTune, test, norm, freezeBody: false);
        TestContext.Out.WriteLine($"odd/even accuracy on {TestDigits} test digits after each epoch of {FineTuneDigits / 32} steps: transfer, body frozen: " +
            $"{Curve(frozen)}; transfer, all trained: {Curve(all)}; from scratch: {Curve(scratch)}");
        for (int e = 0; e < FineTuneEpochs; e++)
        {
            Assert.That(frozen[e], Is.GreaterThan(scratch[e] + 0.05), $"epoch {e + 1}: the pretrained, frozen body learns the new task faster");
        }

        Assert.That(all.Average(), Is.GreaterThan(scratch.Average() + 0.03), "the pretrained body, fine-tuned whole, is ahead on average");
    }
}
