// Keeps docs/training.md honest: its example is the code in TrainingExample.cs, and that code trains, is cancelled,
// resumes from its checkpoint and finishes.
using System;
using System.IO;
using System.Linq;
using System.Threading;
using Engine.Tests.Data;
using Engine.Training;
using NUnit.Framework;
using static Engine.Tests.Training.TrainingTestUtil;

namespace Engine.Tests.Docs;

public sealed class TrainingExampleTests
{
    [Test]
    public void The_training_example_trains_resumes_and_stops_early()
    {
        using var device = Device.Create(DeviceKind.Cpu, new DeviceOptions { HonorEnvironment = false });
        var train = Blobs(160, 4, 3, seed: 21, spread: 0.6f);
        var val = Blobs(60, 4, 3, seed: 22, spread: 0.6f);
        using var dir = new TempDir();
        using (var cts = new CancellationTokenSource())
        {
            cts.Cancel();
            var first = TrainingExample.Run(device, train, val, dir.Path, cts.Token);
            Assert.That(first.Reason, Is.EqualTo(StopReason.Cancelled));
            Assert.That(first.Steps, Is.EqualTo(0));
        }

        Assert.That(Trainer.FindLatestCheckpoint(dir.Path), Is.Not.Null, "the end checkpoint of the cancelled run");
        var r = TrainingExample.Run(device, train, val, dir.Path, CancellationToken.None);
        Assert.That(r.Reason, Is.EqualTo(StopReason.EarlyStopped).Or.EqualTo(StopReason.Completed));
        Assert.That(r.History.Max(h => h.ValidationAccuracy), Is.GreaterThan(0.9));
        Assert.That(r.BestMetric, Is.EqualTo(r.History.Min(h => h.ValidationLoss)).Within(1e-3));
    }

    [Test]
    public void Training_doc_shows_the_compiled_example_verbatim()
    {
        string root = ReadmeTests.RepoRoot();
        var source = File.ReadAllLines(Path.Combine(root, "Engine.Tests", "Docs", "TrainingExample.cs"));
        int start = Array.FindIndex(source, l => l.Contains("TRAINING-EXAMPLE-START", StringComparison.Ordinal));
        int end = Array.FindIndex(source, l => l.Contains("TRAINING-EXAMPLE-END", StringComparison.Ordinal));
        var lines = source[(start + 1)..end];
        int indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        string snippet = string.Join("\n", lines.Select(l => l.Length >= indent ? l[indent..] : l.Trim()));
        string doc = File.ReadAllText(Path.Combine(root, "docs", "training.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.That(doc, Does.Contain(snippet), "docs/training.md must contain the example from Engine.Tests/Docs/TrainingExample.cs");
    }
}
