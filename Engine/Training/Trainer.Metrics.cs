// The trainer's task metrics: which metrics run (the options', or those of the loss's task), their training state over
// the epoch in progress (kept across cancellations and in checkpoints), and the host copies of each batch's output and
// targets they read.
using System;
using System.Collections.Generic;
using Engine.Data;
using Engine.Nn;

namespace Engine.Training;

public sealed partial class Trainer
{
    private float[] outputHost = [];
    private float[] labelHost = [];
    private MetricSet? trainMetrics;
    private double[]? savedMetricState;

    /// <summary>The metric state of the step in progress (added to the epoch's once the step succeeded; summed over the ranks first).</summary>
    private double[] stepMetrics = [];

    /// <summary>The metrics of a pass over <paramref name="data"/>: the options' list, or the defaults of the loss's task.</summary>
    private IReadOnlyList<Metric> MetricsFor(IDataset data) => Options.Metrics ?? MetricSet.Defaults(Model.LossSpec, Model.Output.Shape, data);

    /// <summary>Binds the training metrics for a Fit over <paramref name="train"/>, keeping the state of an epoch in progress.</summary>
    private MetricSet BindTrainMetrics(IDataset train)
    {
        var set = new MetricSet(MetricsFor(train), Model.Output.Shape, Model.Target!.Shape, train.Count, evaluation: false);
        var carried = trainMetrics?.State ?? savedMetricState;
        if (batchInEpoch > 0 && carried is not null && carried.Length == set.State.Length)
        {
            carried.CopyTo(set.State, 0);
        }

        trainMetrics = set;
        savedMetricState = null;
        if (stepMetrics.Length < set.State.Length)
        {
            // Pinned: in data-parallel training the ranks sum it in place.
            stepMetrics = GC.AllocateArray<double>(set.State.Length, pinned: true);
        }

        return set;
    }

    /// <summary>Adds the last forward's output and <paramref name="labels"/> (its first <paramref name="rows"/> rows) to <paramref name="set"/>'s state.</summary>
    private void UpdateMetrics(MetricSet set, Tensor labels, int rows, CompiledModel plan) => UpdateMetrics(set, labels, rows, plan, set.State);

    /// <summary>Adds the last forward's output and <paramref name="labels"/> to <paramref name="state"/>, laid out as <paramref name="set"/>'s.</summary>
    private void UpdateMetrics(MetricSet set, Tensor labels, int rows, CompiledModel plan, Span<double> state)
    {
        if (set.IsEmpty)
        {
            return;
        }

        var output = plan.Output;
        int no = (int)output.Length, nl = (int)labels.Length;
        if (outputHost.Length < no)
        {
            outputHost = new float[no];
        }

        if (labelHost.Length < nl)
        {
            labelHost = new float[nl];
        }

        output.CopyTo(outputHost.AsSpan(0, no));
        labels.CopyTo(labelHost.AsSpan(0, nl));
        set.Update(state, outputHost.AsSpan(0, no), labelHost.AsSpan(0, nl), rows);
    }
}
