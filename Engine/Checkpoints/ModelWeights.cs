// Saving and loading a compiled model's weights as safetensors under the state-dict names. These are extension methods
// here, above the graph, so that Engine.Nn knows nothing of files and checkpoints depend on the graph, not back.
using System;
using System.Collections.Generic;
using Engine.Nn;

namespace Engine.Checkpoints;

/// <summary>Weights of a <see cref="CompiledModel"/> in safetensors files (PyTorch's state-dict names).</summary>
public static class ModelWeights
{
    /// <summary>Writes the parameters and buffers to a safetensors file under their state-dict names (PyTorch can load it).</summary>
    public static void SaveWeights(this CompiledModel model, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Checkpoint.SaveWeights(path, model.Parameters, model.Buffers.StateDict(), metadata);
    }

    /// <summary>Reads parameters and buffers from a safetensors file; with <paramref name="strict"/>, every name must match both ways.</summary>
    /// <returns>The file's metadata.</returns>
    /// <exception cref="CheckpointMismatchException">Names or shapes differ; the message lists every difference.</exception>
    public static IReadOnlyDictionary<string, string> LoadWeights(this CompiledModel model, string path, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Checkpoint.LoadWeights(path, model.Parameters, model.Buffers.StateDict(), strict);
    }

    /// <summary>
    /// Reads parameters and buffers from a safetensors file saved by another model (transfer learning): names mapped,
    /// tensors left out, shape mismatches skipped and (not strict) missing or unexpected names allowed, as
    /// <paramref name="options"/> say. Nothing is written unless everything fits.
    /// </summary>
    /// <returns>What was loaded, missing, unexpected and skipped, and the file's metadata.</returns>
    /// <exception cref="CheckpointMismatchException">Something does not fit; the message lists every difference.</exception>
    public static WeightLoadReport LoadWeights(this CompiledModel model, string path, WeightLoadOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Checkpoint.LoadWeights(path, model.Parameters, model.Buffers.StateDict(), options);
    }
}
