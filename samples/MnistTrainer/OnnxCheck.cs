// The main job's model leaves the engine as ONNX: the trained network is exported to out/mnist/model.onnx and ONNX
// Runtime classifies every test digit with it (normalized as in training), so the run prints both accuracies.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using Engine;
using Engine.Data;
using Microsoft.Extensions.Logging;

namespace MnistTrainer;

internal static class OnnxCheck
{
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

        double ort = OnnxAccuracy.Of(path, test, norm), engine = training.History[^1].ValidationAccuracy;
        log.LogInformation("Wrote {Path} (ONNX opset 17, dynamic batch)", path);
        return string.Create(CultureInfo.InvariantCulture, $"ONNX Runtime on {path}: test accuracy {ort * 100:F2}% ({test.Count} samples); the engine: {engine * 100:F2}%\n");
    }

    /// <summary>The input normalization, stored in the model's metadata for whoever serves it.</summary>
    public static Dictionary<string, string> Metadata(Normalization norm) => new()
    {
        ["input"] = "MNIST digits (N, 1, 28, 28), pixels / 255, then (x - mean) / std",
        ["normalization"] = norm.ToString(),
    };
}
