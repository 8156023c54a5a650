// The fine-tuning example of docs/interop.md on a small subset of the real digits: the PyTorch model (trained on the
// digits 0-4) is imported, gets a 10-class head, is fine-tuned, exported and run in ONNX Runtime with the same accuracy.
using System.IO;
using Engine.Tests.Data;
using Microsoft.Extensions.Logging.Abstractions;
using MnistTrainer;
using NUnit.Framework;
using OnnxFineTune;

namespace Engine.Tests.Samples;

public sealed class FineTuneTests
{
    [Test]
    public void A_pytorch_model_fine_tuned_in_the_engine_runs_in_onnx_runtime()
    {
        string digits = RealDigits.Cached();

        using var tmp = new TempDir();
        var (options, error) = FineTuneOptions.Parse(["--data", digits, "--out", tmp.Path, "--train", "3000", "--test", "500", "--head-epochs", "1", "--epochs", "2"]);
        Assert.That(error, Is.Null);
        var r = FineTune.Run(options!, NullLogger.Instance);
        TestContext.Out.WriteLine(r);
        Assert.That(File.Exists(Path.Combine(tmp.Path, "model.onnx")), Is.True);
        Assert.That(r.TestSamples, Is.EqualTo(500));
        Assert.That(r.OnnxRuntimeAccuracy, Is.EqualTo(r.EngineAccuracy), "ONNX Runtime classifies the test digits as the engine does");
        Assert.That(r.HeadAccuracy, Is.GreaterThan(0.3), "the imported features (trained on 0-4 only) already separate the ten digits somewhat");
        Assert.That(r.EngineAccuracy, Is.GreaterThan(0.8).And.GreaterThan(r.HeadAccuracy), "fine-tuning everything improves on the head alone");
    }
}
