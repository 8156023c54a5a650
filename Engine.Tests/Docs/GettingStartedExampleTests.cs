// Keeps docs/getting-started.md honest: its embedding example is the code in GettingStartedExample.cs, and it trains.
using System;
using System.IO;
using System.Linq;
using Engine.Checkpoints;
using Engine.Data.Mnist;
using Engine.Tests.Data;
using Engine.Training;
using NUnit.Framework;

namespace Engine.Tests.Docs;

public sealed class GettingStartedExampleTests
{
    [Test]
    public void The_embedding_example_trains_on_idx_files_and_saves_the_model()
    {
        using var tmp = new TempDir();
        var rng = new Random(9);
        foreach (var (split, count) in new[] { (MnistSplit.Train, 70), (MnistSplit.Test, 30) })
        {
            var (images, labels) = Mnist.FileNamesOf(split);
            var px = new byte[count * 784];
            rng.NextBytes(px);
            IdxFile.Write(Path.Combine(tmp.Path, images + ".gz"), px, [count, 28, 28]);
            IdxFile.Write(Path.Combine(tmp.Path, labels), [.. Enumerable.Range(0, count).Select(i => (byte)(i % 10))], [count]);
        }

        var result = GettingStartedExample.Run(tmp.Path, tmp.Path, epochs: 2);
        Assert.That(result.Reason, Is.EqualTo(StopReason.Completed));
        Assert.That(result.History, Has.Count.EqualTo(2));
        Assert.That(result.Steps, Is.EqualTo(4), "2 epochs of 70 samples in batches of 64");
        Assert.That(result.History.Select(e => e.TrainLoss), Is.All.Matches<double>(double.IsFinite));
        Assert.That(result.History[^1].ValidationAccuracy, Is.InRange(0.0, 1.0));
        Assert.That(result.History[^1].LearningRate, Is.LessThan(1e-3), "the cosine decay stepped per step");
        var saved = SafeTensorsFile.Read(Path.Combine(tmp.Path, "model.safetensors"));
        Assert.That(saved.Tensors.Select(t => t.Name), Does.Contain("9.weight"));
    }

    [Test]
    public void The_regression_example_learns_a_function_of_three_features()
    {
        var rng = new Random(4);
        var x = new float[400 * 3];
        var y = new float[400];
        for (int i = 0; i < 400; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                x[(i * 3) + j] = (float)((rng.NextDouble() * 2) - 1);
            }

            y[i] = x[i * 3] + (2 * x[(i * 3) + 1]) - (x[(i * 3) + 2] * x[(i * 3) + 2]);
        }

        var result = GettingStartedExample.RunRegression(x, y);
        Assert.That(result.History, Has.Count.EqualTo(30));
        Assert.That(result.History[^1].ValidationMetrics["r2"], Is.GreaterThan(0.95), result.History[^1].ValidationMetrics.ToString());
    }

    [TestCase("GETTING-STARTED-EXAMPLE")]
    [TestCase("REGRESSION-EXAMPLE")]
    public void Getting_started_shows_the_compiled_example_verbatim(string marker)
    {
        string root = ReadmeTests.RepoRoot();
        var source = File.ReadAllLines(Path.Combine(root, "Engine.Tests", "Docs", "GettingStartedExample.cs"));
        int start = Array.FindIndex(source, l => l.Contains(marker + "-START", StringComparison.Ordinal));
        int end = Array.FindIndex(source, l => l.Contains(marker + "-END", StringComparison.Ordinal));
        var lines = source[(start + 1)..end];
        int indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        string snippet = string.Join("\n", lines.Select(l => l.Length >= indent ? l[indent..] : l.Trim()));
        string doc = File.ReadAllText(Path.Combine(root, "docs", "getting-started.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.That(doc, Does.Contain(snippet), "docs/getting-started.md must contain the example from Engine.Tests/Docs/GettingStartedExample.cs");
    }
}
