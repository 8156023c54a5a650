// Binding a compiled model's nodes to their tensors (arena views, parameters, buffers), and its copies for other
// batch sizes. (Saving and loading its weights lives in Engine.Checkpoints, above the graph: ModelWeights.)
using System;
using System.Collections.Generic;
using System.Linq;

namespace Engine.Nn;

public sealed partial class CompiledModel
{
    /// <summary>
    /// This model compiled for a batch of <paramref name="batchSize"/> (the first dimension of every input), with the
    /// same loss, options and parameters, in the same mode: for a last, smaller batch. Plans are compiled once per
    /// size and disposed with this one. Returns this model for its own batch size.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The size is not positive.</exception>
    public CompiledModel ForBatchSize(int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ObjectDisposedException.ThrowIf(disposed, this);
        if (batchSize == inputs[0].Shape[0])
        {
            return this;
        }

        if (!resized.TryGetValue(batchSize, out var other))
        {
            other = CompileForBatchSize(batchSize);
            resized[batchSize] = other;
        }

        other.Training = Training;
        other.CheckFinite = CheckFinite;
        other.StatisticsGroup = StatisticsGroup;
        return other;
    }

    // Apart from ForBatchSize: the lambda's closure over batchSize would otherwise be allocated on every call.
    private CompiledModel CompileForBatchSize(int batchSize)
    {
        var other = Model.Compile(Device, inputs.Select(t => t.Shape.With(0, batchSize)).ToList(), LossSpec, Options);
        other.Seed = Seed;
        return other;
    }

    private NodeContext Bind(GraphNode n, LayerPlan plan, MemoryLayout mem, Tensor?[] values, Tensor?[] grads, Func<Slot, Shape, Tensor> view,
        HashSet<Parameter> written, List<(Tensor, Tensor)> accumulate)
    {
        string? path = paths.TryGetValue(n.Layer, out var p) ? p : null;
        string prefix = string.IsNullOrEmpty(path) ? string.Empty : path + ".";
        var specs = n.Layer.ParameterSpecs;
        var ctx = new NodeContext(exec, n.Id, n.Name, n.Layer, n.Inputs.Length, n.Outputs.Length, specs.Count, n.Layer.BufferSpecs.Count) { FoldsRelu = plan.FoldsRelu };
        for (int i = 0; i < n.Inputs.Length; i++)
        {
            var v = n.Inputs[i];
            ctx.Inputs[i] = values[v.Id]!;
            if (!schedule.InputNeedsGrad[n.Id][i])
            {
                continue;
            }

            if (mem.PartialInputGrads[n.Id][i] is { } partial)
            {
                var t = view(partial, v.Shape);
                ctx.InputGrads[i] = t;
                accumulate.Add((t, grads[v.Id]!));
            }
            else
            {
                ctx.InputGrads[i] = grads[v.Id];
                ctx.InputGradAccumulate[i] = mem.AccumulateInput[n.Id][i];
            }
        }

        for (int i = 0; i < n.Outputs.Length; i++)
        {
            ctx.Outputs[i] = values[n.Outputs[i].Id]!;
            ctx.OutputGrads[i] = grads[n.Outputs[i].Id];
        }

        for (int i = 0; i < specs.Count; i++)
        {
            var param = state.Parameters![prefix + specs[i].Name];
            ctx.Params[i] = param;
            if (!schedule.ParamsNeedGrad[n.Id] || !param.RequiresGrad)
            {
                continue;
            }

            written.Add(param);
            if (mem.PartialParamGrads[n.Id][i] is { } partial)
            {
                var t = view(partial, param.Shape);
                ctx.ParamGrads[i] = t;
                accumulate.Add((t, param.Grad));
            }
            else
            {
                ctx.ParamGrads[i] = param.Grad;
                ctx.ParamGradAccumulate[i] = mem.AccumulateParam[n.Id][i];
            }
        }

        for (int i = 0; i < n.Layer.BufferSpecs.Count; i++)
        {
            ctx.Buffers[i] = state.Buffers[prefix + n.Layer.BufferSpecs[i].Name].Value;
        }

        ctx.Workspaces = plan.Workspaces.Select((w, i) => mem.Workspaces[n.Id][i] is { } sl ? view(sl, w.Shape) : null!).ToArray();
        ctx.SavedTensors = plan.SavedShapes.Select((sh, i) => view(mem.Saved[n.Id][i]!, sh)).ToArray();
        ctx.Constants = plan.Constants.Select(c =>
        {
            var t = Tensor.Empty(Device, c.Shape);
            t.Fill(c.Value);
            owned.Add(t);
            return t;
        }).ToArray();
        return ctx;
    }
}
