// Fine-tuning a PyTorch model in the engine: import the ONNX file up to the features its head reads, put a new
// 10-class head on them, train the head alone and then everything, export the result as ONNX and check it in ONNX
// Runtime on the same test digits.
using System;
using System.Globalization;
using System.IO;
using Engine;
using Engine.Data;
using Engine.Data.Mnist;
using Engine.Nn;
using Engine.Onnx;
using Engine.Optim;
using Engine.Training;
using Microsoft.Extensions.Logging;
using MnistTrainer;

namespace OnnxFineTune;

/// <summary>What a run reached.</summary>
internal sealed record FineTuneResult(double HeadAccuracy, double EngineAccuracy, double OnnxRuntimeAccuracy, int TestSamples, string ModelPath)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"head only: test accuracy {HeadAccuracy * 100:F2}%\nfine-tuned: test accuracy {EngineAccuracy * 100:F2}% ({TestSamples} samples); ONNX Runtime on {ModelPath}: {OnnxRuntimeAccuracy * 100:F2}%");
}

internal static class FineTune
{
    private const int Classes = 10, BatchSize = 64;

    /// <summary>The normalization the PyTorch model was trained with (scripts/onnx_pretrained.py).</summary>
    public static Normalization Norm { get; } = new(0.1307f, 0.3081f);

    public static FineTuneResult Run(FineTuneOptions o, ILogger log)
    {
        var train = Take(Mnist.Load(o.Data, MnistSplit.Train), o.Train);
        var test = Take(Mnist.Load(o.Data, MnistSplit.Test), o.Test);
        using var device = Device.Create();
        using var trainLoader = new DeviceDataLoader(device, train, new DataLoaderOptions { BatchSize = BatchSize, Seed = 1, Transforms = [new Normalize(Norm)] });
        using var testLoader = new DeviceDataLoader(device, test, new DataLoaderOptions { BatchSize = BatchSize, Shuffle = false, Transforms = [new Normalize(Norm)] });

        // The imported layers up to the features, and a new head on them.
        var body = OnnxImporter.Load(o.Model, new OnnxImportOptions { Outputs = [o.Features] });
        int features = FeatureCount(body, device);
        using var model = new Sequential(body, new Linear(features, Classes));
        log.LogInformation("Imported {Model} up to {Features} ({Count} features); new head Linear({Count}, {Classes})", o.Model, o.Features, features, features, Classes);

        body.Freeze();
        double head = Fit(model, device, trainLoader, testLoader, o.HeadEpochs, o.LearningRate, log);
        model.Unfreeze();
        using var net = model.Compile(device, [BatchSize, 1, MnistDataset.Side, MnistDataset.Side], Loss.CrossEntropy(), new CompileOptions { Seed = 1 });
        double tuned = Fit(net, trainLoader, testLoader, o.Epochs, o.LearningRate / 3, log);

        Directory.CreateDirectory(o.Output);
        string path = Path.Combine(o.Output, "model.onnx");
        OnnxExporter.Export(net, path, new OnnxExportOptions { Metadata = new System.Collections.Generic.Dictionary<string, string> { ["normalization"] = Norm.ToString() } });
        return new FineTuneResult(head, tuned, OnnxAccuracy.Of(path, test, Norm), test.Count, path);
    }

    private static double Fit(Module model, Device device, DeviceDataLoader train, DeviceDataLoader test, int epochs, double lr, ILogger log)
    {
        using var net = model.Compile(device, [BatchSize, 1, MnistDataset.Side, MnistDataset.Side], Loss.CrossEntropy(), new CompileOptions { Seed = 1 });
        return Fit(net, train, test, epochs, lr, log);
    }

    private static double Fit(CompiledModel net, DeviceDataLoader train, DeviceDataLoader test, int epochs, double lr, ILogger log)
    {
        if (epochs == 0)
        {
            return double.NaN;
        }

        using var opt = new Adam(net.Parameters, new AdamOptions { LR = lr });
        using var trainer = new Trainer(net, opt, null, new TrainingOptions { Epochs = epochs, BatchSize = BatchSize, Seed = 1 }, log);
        trainer.Fit(train, test);
        return trainer.History[^1].ValidationAccuracy;
    }

    // The feature count the imported part gives for one digit.
    private static int FeatureCount(Module body, Device device)
    {
        using var probe = new Sequential(body);
        using var net = probe.Compile(device, [1, 1, MnistDataset.Side, MnistDataset.Side], options: new CompileOptions { Training = false });
        var shape = net.Output.Shape;
        return shape.Rank == 2 ? shape[1] : throw new ArgumentException($"--features {shape} is not (batch, features); name the input of the model's head.");
    }

    private static MnistDataset Take(MnistDataset d, int n)
    {
        n = Math.Min(n, d.Count);
        return n == d.Count ? d : new MnistDataset(d.Images[..(n * MnistDataset.Side * MnistDataset.Side)].ToArray(), d.Labels[..n].ToArray());
    }
}
