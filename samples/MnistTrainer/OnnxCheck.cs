// The main job's model leaves the engine as ONNX: the trained network is exported to out/mnist/model.onnx and ONNX
// Runtime classifies every test digit with it (normalized as in training), so the run prints both accuracies.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Engine;
using Engine.Data;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace MnistTrainer;

internal static class OnnxCheck
{
    private const int Batch = 256;

    /// <summary>
    /// Exports the trained model to DIR/model.onnx, runs it in ONNX Runtime on the test digits and returns the line that
    /// prints its accuracy beside the engine's (empty when the training has no model to export).
    /// </summary>
    public static string Report(IMnistTraining training, string directory, IDataset test, Normalization norm, ILogger log)
    {
        string path = Path.Combine(directory, "model.onnx");
        if (!training.ExportOnnx(path, Metadata(norm)))
        {
            return string.Empty;
        }

        double ort = Accuracy(path, test, norm), engine = training.History[^1].ValidationAccuracy;
        log.LogInformation("Wrote {Path} (ONNX opset 17, dynamic batch)", path);
        return string.Create(CultureInfo.InvariantCulture, $"ONNX Runtime on {path}: test accuracy {ort * 100:F2}% ({test.Count} samples); the engine: {engine * 100:F2}%\n");
    }

    /// <summary>The input normalization, stored in the model's metadata for whoever serves it.</summary>
    public static Dictionary<string, string> Metadata(Normalization norm) => new()
    {
        ["input"] = "MNIST digits (N, 1, 28, 28), pixels / 255, then (x - mean) / std",
        ["normalization"] = norm.ToString(),
    };

    /// <summary>The fraction of <paramref name="test"/> that ONNX Runtime classifies right with the model at <paramref name="path"/>.</summary>
    public static double Accuracy(string path, IDataset test, Normalization norm)
    {
        using var session = new InferenceSession(path);
        string input = session.InputNames.Single(), output = session.OutputNames[0];
        int per = (int)test.SampleShape.Length, correct = 0;
        var labels = new int[Batch];
        for (int start = 0; start < test.Count; start += Batch)
        {
            int n = Math.Min(Batch, test.Count - start);
            var x = new float[n * per];
            for (int i = 0; i < n; i++)
            {
                var sample = x.AsSpan(i * per, per);
                labels[i] = test.Read(start + i, sample);
                norm.Apply(sample, test.SampleShape);
            }

            using var value = OrtValue.CreateTensorValueFromMemory(x, [n, .. test.SampleShape.Select(d => (long)d)]);
            using var options = new RunOptions();
            using var results = session.Run(options, [input], [value], [output]);
            var logits = results[0].GetTensorDataAsSpan<float>();
            int classes = logits.Length / n;
            for (int i = 0; i < n; i++)
            {
                var row = logits.Slice(i * classes, classes);
                int best = 0;
                for (int c = 1; c < classes; c++)
                {
                    best = row[c] > row[best] ? c : best;
                }

                correct += best == labels[i] ? 1 : 0;
            }
        }

        return (double)correct / test.Count;
    }
}
