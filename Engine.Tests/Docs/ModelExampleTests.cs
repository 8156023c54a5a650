// Keeps docs/graph.md honest: its example is the code in ModelExample.cs, and that code trains, saves and reloads.
using System;
using System.IO;
using System.Linq;
using Engine.Checkpoints;
using Engine.Nn;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Docs;

public sealed class ModelExampleTests
{
    [Test]
    public void The_model_example_trains_saves_and_reloads()
    {
        var rng = new Random(5);
        var batches = Enumerable.Range(0, 3).Select(b => (
            HostMath.Random(64 * 28 * 28, 100 + b, 0f, 1f),
            Enumerable.Range(0, 64).Select(_ => (float)rng.Next(10)).ToArray())).ToList();
        string path = Path.Combine(Path.GetTempPath(), $"engine-model-example-{Environment.ProcessId}.safetensors");
        try
        {
            float loss = ModelExample.Run(batches, path);
            Assert.That(float.IsFinite(loss), Is.True);
            Assert.That(loss, Is.LessThan(MathF.Log(10f) + 0.5f));

            // The same architecture loads the file: every state-dict name and shape matches.
            using var device = Device.Create(DeviceKind.Cpu, new DeviceOptions { HonorEnvironment = false });
            using var model = new Sequential(
                new Conv2d(1, 8, 3, padding: 1), new BatchNorm2d(8), new Relu(), new MaxPool2d(2),
                new Flatten(), new Linear(8 * 14 * 14, 10));
            using var net = model.Compile(device, [64, 1, 28, 28], options: new CompileOptions { Training = false });
            net.LoadWeights(path);
            Assert.That(net.Buffers["1.running_var"].Value.ToArray(), Has.Some.Not.EqualTo(1f), "running statistics were saved");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void Graph_doc_shows_the_compiled_example_verbatim()
    {
        string root = ReadmeTests.RepoRoot();
        var source = File.ReadAllLines(Path.Combine(root, "Engine.Tests", "Docs", "ModelExample.cs"));
        int start = Array.FindIndex(source, l => l.Contains("GRAPH-EXAMPLE-START", StringComparison.Ordinal));
        int end = Array.FindIndex(source, l => l.Contains("GRAPH-EXAMPLE-END", StringComparison.Ordinal));
        var lines = source[(start + 1)..end];
        int indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        string snippet = string.Join("\n", lines.Select(l => l.Length >= indent ? l[indent..] : l.Trim()));
        string doc = File.ReadAllText(Path.Combine(root, "docs", "graph.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.That(doc, Does.Contain(snippet), "docs/graph.md must contain the example from Engine.Tests/Docs/ModelExample.cs");
    }
}
