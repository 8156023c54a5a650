// A task metric (accuracy, RMSE, IoU, kNN accuracy...) as the trainer computes it: bound once to the model's output and
// target shapes, accumulated batch by batch into a vector of doubles (which checkpoints keep), then reduced to values.
using System;
using System.Collections.Generic;

namespace Engine.Training;

/// <summary>
/// A metric of a model's outputs against their targets. The trainer <see cref="Bind"/>s it to the model's batch
/// shapes once per Fit or Evaluate (errors say why it does not apply), gives it a state of
/// <see cref="StateLength"/> doubles, calls <see cref="Update"/> with every batch's output and target rows (host
/// copies), and <see cref="Compute"/> for the values named <see cref="Names"/>. A metric object holds no running state
/// of its own (only what Bind fixed), so the trainer uses one object for training and validation. Update must not
/// allocate (it runs after every training step).
/// </summary>
public abstract class Metric
{
    /// <summary>The names of the values it reports (fixed by <see cref="Bind"/>), e.g. <c>rmse</c> or <c>iou_3</c>.</summary>
    public abstract IReadOnlyList<string> Names { get; }

    /// <summary>Whether it is computed only over a whole evaluation pass (not during training), like kNN accuracy.</summary>
    public virtual bool EvaluationOnly => false;

    /// <summary>
    /// Checks that the metric applies to a model whose batch output is <paramref name="output"/> and whose loss target
    /// is <paramref name="target"/> (the same number of rows, dimension 0), and fixes its sizes.
    /// </summary>
    /// <exception cref="ArgumentException">The metric does not apply to such outputs or targets; the message says why.</exception>
    public abstract void Bind(Shape output, Shape target);

    /// <summary>Doubles of state needed for a pass over <paramref name="samples"/> samples (after <see cref="Bind"/>).</summary>
    public abstract int StateLength(int samples);

    /// <summary>
    /// Adds <paramref name="rows"/> rows of outputs and targets (row-major, the bound shapes' row sizes) to
    /// <paramref name="state"/>.
    /// </summary>
    public abstract void Update(Span<double> state, ReadOnlySpan<float> output, ReadOnlySpan<float> target, int rows);

    /// <summary>Writes the values (one per name) of the accumulated <paramref name="state"/>; NaN where there is nothing to measure.</summary>
    public abstract void Compute(ReadOnlySpan<double> state, Span<double> values);

    /// <summary>
    /// Data-parallel evaluation: writes into the zeroed <paramref name="contribution"/> (as long as
    /// <paramref name="state"/>) what this shard's state adds to an element-wise sum over all shards, such that the sum
    /// is the state of one pass over the whole data. Shard <paramref name="shardIndex"/> of <paramref name="shardCount"/>
    /// saw positions shardIndex, shardIndex + shardCount, ... of the pass, in that order (its state was sized for the
    /// whole pass). The default copies the state: right for states of counts and sums, as every metric here but
    /// <see cref="KnnAccuracy"/> keeps; a metric that keeps one row per sample places its rows at their positions in the
    /// whole pass. Training steps are always combined by summing their states, so a metric whose state is not a sum
    /// must be <see cref="EvaluationOnly"/>.
    /// </summary>
    public virtual void ShardContribution(ReadOnlySpan<double> state, Span<double> contribution, int shardIndex, int shardCount) =>
        state.CopyTo(contribution);

    /// <summary>Elements per row (dimension 0) of <paramref name="shape"/>.</summary>
    protected static int RowLength(Shape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Rank == 0)
        {
            throw new ArgumentException("A batch shape needs a rows dimension; got a scalar.", nameof(shape));
        }

        return checked((int)(shape.Length / shape[0]));
    }

    /// <summary>
    /// Index of the largest of <paramref name="count"/> values data[start + j stride] (the first on ties; NaN never
    /// wins over an earlier number), as torch.argmax picks.
    /// </summary>
    protected static int ArgMax(ReadOnlySpan<float> data, int start, int count, int stride)
    {
        int best = 0;
        float max = data[start];
        for (int j = 1; j < count; j++)
        {
            float v = data[start + (j * stride)];
            if (v > max)
            {
                max = v;
                best = j;
            }
        }

        return best;
    }
}
