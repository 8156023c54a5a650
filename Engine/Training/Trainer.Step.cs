// One training step of the trainer: forward, backward, the batch's metric state, in data-parallel training the ranks'
// averaged gradients and summed loss and metric states, the NaN and infinity checks, clipping, the optimizer update
// and the per-step schedule.
using System;
using System.Threading;
using Engine.Nn;
using Engine.Ops;
using Engine.Optim;
using Engine.Optim.Schedules;
using Microsoft.Extensions.Logging;

namespace Engine.Training;

public sealed partial class Trainer
{
    /// <summary>What one step measured: the batch's mean loss and its samples (over all ranks in data-parallel training).</summary>
    private readonly record struct StepResult(double Loss, int Samples);

    /// <summary>
    /// One step on a batch of <paramref name="rows"/> feature rows holding <paramref name="samples"/> samples (3 rows per
    /// triplet). The batch's metric state is measured into <see cref="stepMetrics"/> and added to <paramref name="metrics"/>
    /// only once the step succeeded; in data-parallel training it is summed over the ranks first, with the loss.
    /// </summary>
    private StepResult RunStep(Tensor features, Tensor labels, int rows, int samples, int batch, int batches, MetricSet? metrics, CancellationToken cancellationToken)
    {
        Model.CheckFinite = debugNonFinite;
        var plan = Model.ForBatchSize(rows);
        plan.Seed = StepSeed;

        // Dropout draws from (seed, step, node): set the counter from the trainer's step so that every plan, and a
        // trainer resumed from a checkpoint, draws the same masks for the same step.
        plan.StepCount = step;
        reducer?.BeginStep(plan);
        NonFiniteNodeException? nodeError = null;
        try
        {
            plan.Forward(features, labels);
            plan.Backward();
        }
        catch (NonFiniteNodeException e)
        {
            nodeError = e;
        }

        double loss = nodeError is null ? plan.ReadLoss() : double.NaN;
        var delta = metrics is null || metrics.IsEmpty ? Span<double>.Empty : stepMetrics.AsSpan(0, metrics.State.Length);
        delta.Clear();
        if (nodeError is null && !delta.IsEmpty)
        {
            UpdateMetrics(metrics!, labels, rows, plan, delta);
        }

        double count = samples;
        if (reducer is not null)
        {
            // Gradients are now averaged over the ranks; the loss, the metric states and the flags are summed, so that
            // every rank sees the same numbers and takes the same decisions below.
            var sums = reducer.FinishStep(cancellationToken.IsCancellationRequested, loss * samples, samples, nodeError is not null, delta);
            agreedStop |= sums.Stop;
            if (sums.FailedRanks > 0 && nodeError is null)
            {
                throw Diverged("another rank's forward or backward", batch, batches, double.NaN, null);
            }

            loss = sums.LossSum / sums.Samples;
            count = sums.Samples;
        }

        if (nodeError is not null)
        {
            throw Diverged(nodeError.Phase == NodePhase.Forward ? "forward" : "backward", batch, batches, double.NaN, nodeError);
        }

        if (!double.IsFinite(loss))
        {
            throw Diverged("loss", batch, batches, loss, null);
        }

        if (Options.ClipGradNorm is { } n && Options.ClipGradValue is null)
        {
            // The total norm clipping measures anyway is non-finite exactly when a gradient is (a NaN or infinite norm
            // makes the clipped gradients NaN, but the step is refused before they are used).
            if (!double.IsFinite(clipper!.ClipByNorm(n, Options.ClipNormType)))
            {
                throw Diverged("gradients", batch, batches, loss, null);
            }
        }
        else
        {
            if (NonFinite.Any(Model.Parameters.Grads))
            {
                throw Diverged("gradients", batch, batches, loss, null);
            }

            if (Options.ClipGradValue is { } v)
            {
                clipper!.ClipByValue(v);
            }

            if (Options.ClipGradNorm is { } n2)
            {
                clipper!.ClipByNorm(n2, Options.ClipNormType);
            }
        }

        Optimizer.Step();
        step++;
        version++;
        restoredBest = false;
        if (Schedule is LRScheduler s && Options.ScheduleStepping == ScheduleStepping.PerStep)
        {
            s.Step();
        }

        metrics?.Add(delta);
        return new StepResult(loss, (int)count);
    }

    private TrainingDivergedException Diverged(string what, int batch, int batches, double loss, NonFiniteNodeException? node)
    {
        var e = new TrainingDivergedException(what, step + 1, epoch + 1, batch, batches, loss, node, lastCheckpoint);
        logger.LogError("{Message}", e.Message);
        return e;
    }
}
