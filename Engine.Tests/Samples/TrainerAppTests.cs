// The trainer app end to end on a tiny IDX folder: exit codes, messages, and (through a stand-in for the training
// seam) the per-epoch metrics.json and metrics.csv, training.png, digits.png and the final line.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Engine.Data;
using Engine.Data.Mnist;
using Engine.Tests.Data;
using Engine.Training;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MnistTrainer;
using NUnit.Framework;
using SkiaSharp;

namespace Engine.Tests.Samples;

public sealed class TrainerAppTests
{
    /// <summary>Stands in for the real training: reads every batch and reports made-up but plausible numbers, as the Trainer does.</summary>
    private sealed class FakeTraining : IMnistTraining
    {
        private readonly List<EpochMetrics> history = [];

        public int BatchesSeen { get; private set; }

        public IReadOnlyList<EpochMetrics> History => history;

        public int Epochs { get; set; }

        public TrainingResult Fit(DeviceDataLoader train, DeviceDataLoader test, IProgress<TrainingProgress> progress, CancellationToken ct)
        {
            int epochs = Epochs;
            for (int epoch = 0; epoch < epochs; epoch++)
            {
                int batch = 0;
                foreach (var b in train.Epoch(epoch))
                {
                    Assert.That(b.Features.Shape.ToArray()[1..], Is.EqualTo(new[] { 1, 28, 28 }));
                    Assert.That(b.Labels.ToArray(), Is.All.InRange(0f, 9f));
                    BatchesSeen++;
                    progress.Report(new TrainingProgress
                    {
                        Phase = TrainingPhase.Training, Epoch = epoch + 1, Epochs = epochs, Batch = ++batch, Batches = train.BatchCount,
                        Loss = 1.0 / (epoch + 1), Accuracy = 0.5 + (0.1 * epoch),
                    });
                }

                int n = 0;
                foreach (var b in test.Epoch(0))
                {
                    n += b.Count;
                }

                history.Add(new EpochMetrics(epoch + 1, 1.0 / (epoch + 1), 0.5 + (0.1 * epoch), 0.9, 0.875, 0.002, batch, 0.05, 1000));
                progress.Report(new TrainingProgress
                {
                    Phase = TrainingPhase.EpochEnd, Epoch = epoch + 1, Epochs = epochs, Batch = batch, Batches = batch,
                    Loss = 1.0 / (epoch + 1), Accuracy = 0.5 + (0.1 * epoch), SamplesPerSecond = 1000, Elapsed = TimeSpan.FromSeconds(0.05),
                    Validation = new EvaluationResult(0.9, 0.875, n),
                });
            }

            return new TrainingResult(StopReason.Completed, history, BatchesSeen, 0, double.NaN, false);
        }

        public void SaveWeights(string path) => File.WriteAllText(path, "weights");

        public void Dispose()
        {
        }
    }

    private static void WriteTinyMnist(string dir)
    {
        var rng = new Random(3);
        foreach (var (split, count) in new[] { (MnistSplit.Train, 50), (MnistSplit.Test, 20) })
        {
            var (images, labels) = Mnist.FileNamesOf(split);
            var px = new byte[count * 784];
            rng.NextBytes(px);
            IdxFile.Write(Path.Combine(dir, images + ".gz"), px, [count, 28, 28]);
            IdxFile.Write(Path.Combine(dir, labels), [.. Enumerable.Range(0, count).Select(i => (byte)(i % 10))], [count]);
        }
    }

    private static async Task<(int Code, string Out, string Err)> Run(string[] args, TrainingFactory? training = null)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await TrainerApp.RunAsync(args, stdout, stderr, NullLoggerFactory.Instance, training, interactive: false);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Test]
    public async Task A_run_writes_metrics_plots_and_ends_with_the_test_accuracy()
    {
        using var tmp = new TempDir();
        WriteTinyMnist(tmp.Path);
        var fake = new FakeTraining();
        string outDir = tmp["out"];
        var (code, stdout, stderr) = await Run(["--data", tmp.Path, "--out", outDir, "--device", "cpu", "--epochs", "3", "--batch-size", "16"], (_, o, _) => { fake.Epochs = o.Epochs; return fake; });
        Assert.That(stderr, Is.Empty);
        Assert.That(code, Is.Zero);
        Assert.That(stdout.TrimEnd().Split('\n').Last(), Is.EqualTo("test accuracy: 87.50% (20 samples)"));
        Assert.That(fake.BatchesSeen, Is.EqualTo(3 * 4), "3 epochs of 50 samples in batches of 16, the last partial");

        var log = TrainingLog.ReadJson(Path.Combine(outDir, "metrics.json"));
        Assert.That(log.Epochs.Select(e => e.Epoch), Is.EqualTo(new[] { 1, 2, 3 }));
        Assert.That(log.Epochs[2].TrainAccuracy, Is.EqualTo(0.7).Within(1e-9));
        Assert.That(log.Epochs[0].ValidationAccuracy, Is.EqualTo(0.875));
        Assert.That(log.Epochs, Is.EqualTo(fake.History), "metrics.json holds the trainer's history");
        Assert.That(File.ReadAllLines(Path.Combine(outDir, "metrics.csv")), Has.Length.EqualTo(4));
        Assert.That(log.Run["model"], Is.EqualTo("cnn"));
        Assert.That(log.Run["train_samples"], Is.EqualTo("50"));
        Assert.That(File.ReadAllText(Path.Combine(outDir, "model.safetensors")), Is.EqualTo("weights"));
        using var plot = SKBitmap.Decode(Path.Combine(outDir, "training.png"));
        Assert.That((plot.Width, plot.Height), Is.EqualTo((1200, 520)));
        using var digits = SKBitmap.Decode(Path.Combine(outDir, "digits.png"));
        Assert.That(digits.Width, Is.GreaterThan(500));
        Assert.That(Directory.GetFiles(outDir, "*.tmp"), Is.Empty, "every file is written whole");
    }

    [Test]
    public async Task The_real_training_runs_end_to_end_and_saves_a_model_pytorch_can_load()
    {
        using var tmp = new TempDir();
        WriteTinyMnist(tmp.Path);
        string outDir = tmp["out"];
        var (code, stdout, stderr) = await Run(["--data", tmp.Path, "--out", outDir, "--device", "cpu", "--epochs", "2", "--batch-size", "16"]);
        Assert.That(stderr, Is.Empty);
        Assert.That(code, Is.Zero);
        Assert.That(stdout.TrimEnd().Split('\n').Last(), Does.Match(@"^test accuracy: \d+\.\d\d% \(20 samples\)$"));
        var log = TrainingLog.ReadJson(Path.Combine(outDir, "metrics.json"));
        Assert.That(log.Epochs, Has.Count.EqualTo(2));
        Assert.That(log.Epochs.Select(e => e.TrainLoss), Is.All.Matches<double>(double.IsFinite));
        Assert.That(log.Run["optimizer"], Is.EqualTo("adam"));

        var weights = Engine.Checkpoints.SafeTensorsFile.Read(Path.Combine(outDir, "model.safetensors"));
        Assert.That(weights.Tensors.Select(t => (t.Name, string.Join("x", t.Shape))), Is.EqualTo(new[]
        {
            ("0.bias", "32"), ("0.weight", "32x1x3x3"), ("3.bias", "64"), ("3.weight", "64x32x3x3"),
            ("7.bias", "128"), ("7.weight", "128x3136"), ("9.bias", "10"), ("9.weight", "10x128"),
        }), "PyTorch's state-dict names of the same nn.Sequential, sorted as safetensors stores them");
    }

    [Test]
    public async Task Data_and_option_problems_give_clear_errors_and_exit_codes()
    {
        using var tmp = new TempDir();
        var (code, _, err) = await Run(["--data", tmp.Path, "--out", tmp["out"]]);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(err, Does.Contain("lacks train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"));

        WriteTinyMnist(tmp.Path);
        File.WriteAllBytes(Path.Combine(tmp.Path, "t10k-labels-idx1-ubyte"), [0, 0, 8, 1, 0, 0, 0, 20, 1, 2]);
        (code, _, err) = await Run(["--data", tmp.Path, "--out", tmp["out"]]);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(err, Does.Contain("t10k-labels-idx1-ubyte' is truncated"));

        (code, _, err) = await Run(["--data", tmp["missing"]]);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(err, Does.Contain("does not exist"));

        File.WriteAllText(tmp["file"], "not a folder");
        string ok = Directory.CreateDirectory(tmp["ok"]).FullName;
        WriteTinyMnist(ok);
        (code, _, err) = await Run(["--data", ok, "--out", tmp["file"]]);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(err, Does.Contain("cannot write to the output folder").And.Contain("--out"));

        (code, _, err) = await Run(["--data", ok, "--out", tmp["out"], "--device", "cpu", "--model", "mlp", "--lr", "1e30"]);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(err, Does.StartWith("error: Training diverged at step ").And.EndWith("Try a smaller --lr (now 1E+30)." + Environment.NewLine));

        (code, _, err) = await Run(["--epochs", "-1"]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("--epochs must be").And.Contain("--help"));

        var (helpCode, help, _) = await Run(["--help"]);
        Assert.That(helpCode, Is.Zero);
        Assert.That(help, Does.Contain("--batch-size"));
    }

    [Test]
    public void Progress_is_a_redrawn_bar_on_a_terminal_and_quarterly_lines_otherwise()
    {
        string line = EpochProgress.Format(2, 5, 4160, 8000, 0.12345, 0.96512, 2.0);
        Assert.That(line, Is.EqualTo("epoch 2/5 [==============>             ]  52%  loss 0.1235  acc 96.51%  2,080 samples/s  ETA 0:02"));
        Assert.That(EpochProgress.Format(1, 1, 100, 100, 0.5, 0.5, 65), Does.EndWith("[============================] 100%  loss 0.5000  acc 50.00%  2 samples/s  took 1:05"));

        var term = new StringWriter();
        var clock = new ManualClock();
        var p = new EpochProgress(term, interactive: true, NullLogger.Instance, 1, 2, 100, clock);
        p.Report(50, 0.3, 0.9);
        clock.Advance(0.05);
        p.Report(60, 0.3, 0.9);
        clock.Advance(0.2);
        p.Report(70, 0.3, 0.9);
        p.Report(100, 0.2, 0.95);
        string shown = term.ToString();
        Assert.That(shown, Does.StartWith("\repoch 1/2 [=============="));
        Assert.That(shown.Count(c => c == '\r'), Is.EqualTo(3), "at most 10 redraws a second, and always the last");
        Assert.That(shown, Does.Contain(" 70%").And.Not.Contain(" 60%"));
        Assert.That(shown, Does.EndWith(Environment.NewLine));

        var logged = new ListLogger();
        var plain = new EpochProgress(new StringWriter(), interactive: false, logged, 1, 1, 100);
        for (int i = 10; i <= 100; i += 10)
        {
            plain.Report(i, 0.1, 0.9);
        }

        Assert.That(logged.Lines, Has.Count.EqualTo(4), "25%, 50%, 75%, 100%");
        Assert.That(logged.Lines[^1], Does.Contain("100%"));
    }

    private sealed class ManualClock : TimeProvider
    {
        private long ticks;

        public override long TimestampFrequency => 1_000_000;

        public override long GetTimestamp() => ticks;

        public void Advance(double seconds) => ticks += (long)(seconds * 1_000_000);
    }

    private sealed class ListLogger : ILogger
    {
        public System.Collections.Generic.List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add(formatter(state, exception));
    }
}
