// The trainer's data-parallel side (TrainingOptions.Distributed): a gradient reducer per trainer, rank 0's model on
// every rank at the start of Fit, shard checks, the ranks' agreement on stopping, evaluation sums over the ranks, and
// errors that name the failing rank and the last checkpoint. With one rank none of this runs.
using System;
using System.Globalization;
using System.Threading;
using Engine.Data;
using Engine.Distributed;
using Engine.Nn;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engine.Training;

public sealed partial class Trainer
{
    private readonly ProcessGroup? group;
    private readonly GradientReducer? reducer;
    private bool agreedStop;

    /// <summary>The gradient reducer of data-parallel training (null with one rank), for benchmarks.</summary>
    internal GradientReducer? Reducer => reducer;

    /// <summary>Dropout's seed: each rank draws its own masks (rank 0 those of a single process).</summary>
    private ulong StepSeed => group is null ? Model.Seed : unchecked(Model.Seed + ((ulong)group.Rank * 0x9E3779B97F4A7C15UL));

    /// <summary>The group and the gradient reducer for <paramref name="options"/> (none for one rank); only rank 0 keeps its logger.</summary>
    private static (ProcessGroup? Group, GradientReducer? Reducer) StartDataParallel(CompiledModel model, TrainingOptions options, ref ILogger logger)
    {
        if (options.Distributed is not { Group: { Size: > 1 } g } d)
        {
            return (null, null);
        }

        if (!g.IsRoot)
        {
            logger = NullLogger.Instance;
        }

        model.StatisticsGroup = g;
        var reducer = new GradientReducer(model.Parameters, g.Duplicate(), d.BucketBytes, d.OverlapCommunication);
        logger.LogInformation("Data-parallel training on {Ranks} ranks ({Backend}): {Buckets} gradient buckets of up to {Bytes:N0} bytes, communication {Overlap}",
            g.Size, g.Backend, reducer.BucketCount, d.BucketBytes, d.OverlapCommunication && model.Device.IsHostMemory ? "overlapping backward" : "after backward");
        return (g, reducer);
    }

    private void StopDataParallel()
    {
        if (group is not null)
        {
            reducer!.Dispose();
            Model.StatisticsGroup = null;
        }
    }

    /// <summary>
    /// Before training: the loaders read this rank's shard, every rank runs the same steps with the same training
    /// metrics (their states are summed after each step), and every rank has rank 0's model.
    /// </summary>
    private void BeginDataParallelFit(DeviceDataLoader train, DeviceDataLoader? validation, MetricSet metrics)
    {
        if (group is null)
        {
            return;
        }

        CheckShard(train, nameof(train));
        if (validation is not null && validation.Options.ShardCount != 1)
        {
            CheckShard(validation, nameof(validation));
        }

        long[] mine = [train.BatchCount, train.Options.BatchSize, train.Dataset.Count, metrics.State.Length];
        int n = mine.Length;
        var all = new long[n * group.Size];
        group.AllGather(mine, all);
        for (int r = 1; r < group.Size; r++)
        {
            if (!all.AsSpan(r * n, n).SequenceEqual(all.AsSpan(0, n)))
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"Data-parallel training: rank {r} has {all[r * n]} batches of {all[(r * n) + 1]} from {all[(r * n) + 2]} samples per epoch and {all[(r * n) + 3]} values of training-metric state, rank 0 {all[0]} of {all[1]} from {all[2]} and {all[3]}; every rank must train the same number of steps on the same data with the same metrics."));
            }
        }

        reducer!.SetMetricLength(metrics.State.Length);

        ModelSync.BroadcastFromRoot(Model, group);
        agreedStop = false;
    }

    private void CheckShard(DeviceDataLoader loader, string name)
    {
        var o = loader.Options;
        bool train = name == "train";
        if (o.ShardCount != group!.Size || o.ShardIndex != group.Rank || (train && !o.EvenShards && !o.DropLast) || (!train && o.EvenShards))
        {
            // Training needs even shards (every rank the same steps); evaluation uneven ones (every sample counted once).
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"Data-parallel training on rank {group.Rank} of {group.Size}: the {name} loader must read this rank's shard (DataLoaderOptions.ShardCount = {group.Size}, ShardIndex = {group.Rank}, EvenShards = {(train ? "true" : "false")}); it reads shard {o.ShardIndex} of {o.ShardCount}{(o.EvenShards ? ", even" : ", uneven")}."), name);
        }
    }

    /// <summary>Whether to stop before the next step: this token alone, or (data-parallel) any rank's token at the last step.</summary>
    private bool StopRequested(CancellationToken token) => group is null ? token.IsCancellationRequested : agreedStop;

    /// <summary>
    /// Combines a sharded evaluation over the ranks (each rank evaluated its own shard): the loss sums and sample counts
    /// are added up, and so are the metrics' shard contributions (their states' sums and counts; kNN accuracy's
    /// embeddings, each at its position in the whole pass), so every rank holds the state of one pass over all the data.
    /// </summary>
    private void ReduceEvaluation(DeviceDataLoader loader, MetricSet metrics, ref double lossSum, ref int samples)
    {
        if (group is null || loader.Options.ShardCount == 1)
        {
            return;
        }

        var all = metrics.ShardContribution(loader.Options.ShardIndex, loader.Options.ShardCount, extra: 2);
        all[0] = lossSum;
        all[1] = samples;
        group.AllReduceSum(all.AsSpan());
        lossSum = all[0];
        samples = (int)all[1];
        all.AsSpan(2).CopyTo(metrics.State);
    }

    /// <summary>A collective failure, with where training stood and the checkpoint that remains.</summary>
    private ProcessGroupException Failed(ProcessGroupException e)
    {
        string saved = lastCheckpoint is null ? string.Empty : $" The last checkpoint, {lastCheckpoint}, is intact.";
        var inv = CultureInfo.InvariantCulture;
        var failed = new ProcessGroupException(
            string.Format(inv, "Data-parallel training stopped at step {0} (epoch {1}, batch {2}): {3}{4}", step + 1, epoch + 1, batchInEpoch + 1, e.Message, saved),
            e.Operation, e.SuspectRanks, e);
        logger.LogError("{Message}", failed.Message);
        return failed;
    }
}
