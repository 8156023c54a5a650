// The metrics of one pass (a training epoch or an evaluation), bound to the model's batch shapes: one state vector,
// updates from host copies of each batch's output and targets, and the running values; plus the default metrics of
// each loss task.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics.Tensors;
using Engine.Data;
using Engine.Nn;

namespace Engine.Training;

/// <summary>Metrics bound for one kind of pass, with their state laid end to end in <see cref="State"/>.</summary>
internal sealed class MetricSet
{
    private readonly Metric[] metrics;
    private readonly int[] stateStart;
    private readonly int[] valueStart;

    /// <summary>Binds <paramref name="all"/> (those that run in this kind of pass) to the model's batch shapes.</summary>
    /// <exception cref="ArgumentException">A metric does not apply; the message names it.</exception>
    public MetricSet(IReadOnlyList<Metric> all, Shape output, Shape target, int samples, bool evaluation)
    {
        metrics = [.. all.Where(m => evaluation || !m.EvaluationOnly)];
        stateStart = new int[metrics.Length + 1];
        valueStart = new int[metrics.Length + 1];
        var names = new List<string>();
        for (int i = 0; i < metrics.Length; i++)
        {
            var m = metrics[i] ?? throw new ArgumentException($"Metrics[{i}] is null.", nameof(all));
            m.Bind(output, target);
            stateStart[i + 1] = checked(stateStart[i] + m.StateLength(samples));
            valueStart[i + 1] = valueStart[i] + m.Names.Count;
            names.AddRange(m.Names);
        }

        State = new double[stateStart[^1]];
        Live = new MetricValues(names, new double[names.Count]);
        HasAccuracy = names.Contains("accuracy");
    }

    /// <summary>Whether there is nothing to compute.</summary>
    public bool IsEmpty => metrics.Length == 0;

    /// <summary>Whether one of the metrics is (top-1) accuracy.</summary>
    public bool HasAccuracy { get; }

    /// <summary>The accumulated state (what a checkpoint keeps for a training epoch in progress).</summary>
    public double[] State { get; }

    /// <summary>The values as of the last <see cref="Refresh"/> (updated in place).</summary>
    public MetricValues Live { get; }

    /// <summary>
    /// The default metrics of a model trained with <paramref name="loss"/> on <paramref name="data"/>: accuracy whenever the
    /// output is one score per class of a class-labelled dataset (whatever the loss), else the metrics of the loss's task.
    /// </summary>
    public static IReadOnlyList<Metric> Defaults(ILossSpec? loss, Shape output, IDataset data)
    {
        if (data.TargetKind == TargetKind.ClassIndex && data.ClassCount >= 2 && output.Rank == 2 && output[1] == data.ClassCount)
        {
            return [new Accuracy()];
        }

        bool classLabels = data.TargetKind == TargetKind.ClassIndex;
        return loss?.Task switch
        {
            LossTask.Classification when output.Rank == 2 => classLabels ? [] : [new Accuracy()],
            LossTask.Classification or LossTask.Segmentation => [new SegmentationMetrics()],
            LossTask.Regression => [new RegressionMetrics()],
            LossTask.BinaryLogits => [new BinaryAccuracy(logits: true)],
            LossTask.BinaryProbabilities => [new BinaryAccuracy(logits: false)],
            LossTask.Triplet => [new TripletAccuracy(), new KnnAccuracy()],
            _ => [],
        };
    }

    public void Reset() => State.AsSpan().Clear();

    /// <summary>Adds a batch of <paramref name="rows"/> output and target rows.</summary>
    public void Update(ReadOnlySpan<float> output, ReadOnlySpan<float> target, int rows) => Update(State, output, target, rows);

    /// <summary>Adds a batch of <paramref name="rows"/> output and target rows to <paramref name="state"/>, laid out as <see cref="State"/>.</summary>
    public void Update(Span<double> state, ReadOnlySpan<float> output, ReadOnlySpan<float> target, int rows)
    {
        for (int i = 0; i < metrics.Length; i++)
        {
            metrics[i].Update(state.Slice(stateStart[i], stateStart[i + 1] - stateStart[i]), output, target, rows);
        }
    }

    /// <summary>
    /// Adds one step's state <paramref name="delta"/> (from <see cref="Update(Span{double}, ReadOnlySpan{float}, ReadOnlySpan{float}, int)"/>
    /// into a zeroed span, possibly summed over the ranks) to <see cref="State"/>: training metrics are additive.
    /// </summary>
    public void Add(ReadOnlySpan<double> delta)
    {
        var state = State.AsSpan(0, delta.Length);
        TensorPrimitives.Add(state, delta, state);
    }

    /// <summary>
    /// The state this set contributes to an element-wise sum over the shards of a pass: each metric's
    /// <see cref="Metric.ShardContribution"/>, end to end. Summing every shard's contribution gives the state of one pass
    /// over the whole data (see <see cref="Metric.ShardContribution"/>).
    /// </summary>
    public double[] ShardContribution(int shardIndex, int shardCount, int extra)
    {
        var all = GC.AllocateArray<double>(extra + State.Length, pinned: true);
        for (int i = 0; i < metrics.Length; i++)
        {
            int start = stateStart[i], length = stateStart[i + 1] - start;
            metrics[i].ShardContribution(State.AsSpan(start, length), all.AsSpan(extra + start, length), shardIndex, shardCount);
        }

        return all;
    }

    /// <summary>Computes <see cref="Live"/> from the state.</summary>
    public MetricValues Refresh()
    {
        var values = Live.Writable;
        for (int i = 0; i < metrics.Length; i++)
        {
            metrics[i].Compute(State.AsSpan(stateStart[i], stateStart[i + 1] - stateStart[i]), values.Slice(valueStart[i], valueStart[i + 1] - valueStart[i]));
        }

        return Live;
    }
}
