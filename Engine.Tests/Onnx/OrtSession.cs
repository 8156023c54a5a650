// Runs ONNX models in ONNX Runtime (CPU) for the tests: float inputs in, float outputs out, by position.
using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.OnnxRuntime;

namespace Engine.Tests.Onnx;

internal sealed class OrtSession : IDisposable
{
    private readonly InferenceSession session;

    public OrtSession(byte[] model) => session = new InferenceSession(model);

    public OrtSession(string path) => session = new InferenceSession(path);

    public IReadOnlyList<string> InputNames => session.InputNames.ToArray();

    public IReadOnlyList<string> OutputNames => session.OutputNames.ToArray();

    /// <summary>Runs the model on <paramref name="inputs"/> (data and shape per graph input) and returns every output.</summary>
    public (float[] Data, long[] Shape)[] Run(params (float[] Data, long[] Shape)[] inputs)
    {
        var values = inputs.Select(i => OrtValue.CreateTensorValueFromMemory(i.Data, i.Shape)).ToArray();
        try
        {
            using var options = new RunOptions();
            using var results = session.Run(options, session.InputNames, values, session.OutputNames);
            return results.Select(r => (r.GetTensorDataAsSpan<float>().ToArray(), r.GetTensorTypeAndShape().Shape)).ToArray();
        }
        finally
        {
            foreach (var v in values)
            {
                v.Dispose();
            }
        }
    }

    /// <summary>Runs a one-input model and returns its first output.</summary>
    public float[] Run(float[] x, Shape shape) => Run((x, shape.Select(d => (long)d).ToArray()))[0].Data;

    public void Dispose() => session.Dispose();
}
