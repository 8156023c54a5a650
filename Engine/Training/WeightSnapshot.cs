// A device copy of a model's flat parameter values and buffers (batch-norm running statistics): early stopping keeps
// the best epoch's weights in one and puts them back at the end.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Nn;

namespace Engine.Training;

/// <summary>A copy of a compiled model's parameters and buffers on its device.</summary>
internal sealed class WeightSnapshot : IDisposable
{
    private readonly CompiledModel model;
    private readonly Tensor values;
    private readonly Tensor? buffers;

    public WeightSnapshot(CompiledModel model)
    {
        this.model = model;
        values = Tensor.Empty(model.Device, model.Parameters.Values.Shape);
        buffers = model.Buffers.Values is { } b ? Tensor.Empty(model.Device, b.Shape) : null;
    }

    /// <summary>Copies the model's current weights in (device to device).</summary>
    public void Capture()
    {
        values.CopyFrom(model.Parameters.Values);
        buffers?.CopyFrom(model.Buffers.Values!);
    }

    /// <summary>Copies the kept weights back into the model.</summary>
    public void Restore()
    {
        model.Parameters.Values.CopyFrom(values);
        if (buffers is not null)
        {
            model.Buffers.Values!.CopyFrom(buffers);
        }
    }

    /// <summary>The kept weights under the model's state-dict names, for a safetensors file.</summary>
    public IEnumerable<(string Name, int[] Shape, float[] Data)> ToHost()
    {
        var v = values.ToArray();
        foreach (var p in model.Parameters)
        {
            yield return (p.Name, p.Shape.ToArray(), v.AsSpan((int)p.Offset, (int)p.Length).ToArray());
        }

        if (buffers is not null)
        {
            var b = buffers.ToArray();
            foreach (var nb in model.Buffers)
            {
                yield return (nb.Name, nb.Value.Shape.ToArray(), b.AsSpan((int)nb.Offset, (int)nb.Value.Length).ToArray());
            }
        }
    }

    /// <summary>Fills the copy from host data by state-dict name (every name must be given).</summary>
    public void FromHost(Func<string, float[]> read)
    {
        var v = new float[values.Length];
        foreach (var p in model.Parameters)
        {
            read(p.Name).CopyTo(v.AsSpan((int)p.Offset));
        }

        values.CopyFrom(v);
        if (buffers is not null)
        {
            var b = new float[buffers.Length];
            foreach (var nb in model.Buffers)
            {
                read(nb.Name).CopyTo(b.AsSpan((int)nb.Offset));
            }

            buffers.CopyFrom(b);
        }
    }

    /// <summary>What keeps <paramref name="file"/> from filling a copy of <paramref name="model"/>: missing names, other dtypes or shapes.</summary>
    public static List<string> Problems(CompiledModel model, Engine.Checkpoints.SafeTensorsFile file)
    {
        var problems = new List<string>();
        var shapes = model.Parameters.Select(p => (p.Name, p.Shape)).Concat(model.Buffers.Select(b => (b.Name, b.Value.Shape)));
        foreach (var (name, shape) in shapes)
        {
            if (!file.Contains(name))
            {
                problems.Add($"missing: '{name}' {shape} is not in the file");
            }
            else
            {
                Engine.Checkpoints.TrainingStateChecks.CheckEntry(file[name], name, shape, problems);
            }
        }

        return problems;
    }

    public void Dispose()
    {
        values.Dispose();
        buffers?.Dispose();
    }
}
