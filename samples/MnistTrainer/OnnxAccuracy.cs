// The accuracy ONNX Runtime gets from an exported classifier on a labelled dataset (normalized as in training), for
// the main job and the fine-tuning example (samples/OnnxFineTune links this file).
using System;
using System.Linq;
using Engine;
using Engine.Data;
using Microsoft.ML.OnnxRuntime;

namespace MnistTrainer;

internal static class OnnxAccuracy
{
    private const int Batch = 256;

    /// <summary>The fraction of <paramref name="test"/> that ONNX Runtime classifies right with the model at <paramref name="path"/>.</summary>
    public static double Of(string path, IDataset test, Normalization norm)
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
