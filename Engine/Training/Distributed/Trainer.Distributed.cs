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
    private readonly double[] evaluationSums = GC.AllocateArray<double>(3, pinned: true);
    private bool agreedStop;

    /// <summary>The sums of one step over all ranks (this process's alone without data parallelism).</summary>
    private readonly record struct StepResult(double Loss, long Correct, int Samples)
    {
        public StepResult(double loss, long correct, double samples)
            : this(loss, correct, (int)samples)
        {
        }
    }

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

    /// <summary>Before training: the loaders read this rank's shard, every rank runs the same steps, and every rank has rank 0's model.</summary>
    private void BeginDataParallelFit(DeviceDataLoader train, DeviceDataLoader? validation)
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

        long[] mine = [train.BatchCount, train.Options.BatchSize, train.Dataset.Count];
        var all = new long[mine.Length * group.Size];
        group.AllGather(mine, all);
        for (int r = 1; r < group.Size; r++)
        {
            if (!all.AsSpan(r * mine.Length, mine.Length).SequenceEqual(all.AsSpan(0, mine.Length)))
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"Data-parallel training: rank {r} has {all[r * 3]} batches of {all[(r * 3) + 1]} from {all[(r * 3) + 2]} samples per epoch, rank 0 {all[0]} of {all[1]} from {all[2]}; every rank must train the same number of steps on the same data."));
            }
        }

        ModelSync.BroadcastFromRoot(Model, group);
        agreedStop = false;
    }

    private void CheckShard(DeviceDataLoader loader, string name)
    {
        var o = loader.Options;
        if (o.ShardCount != group!.Size || o.ShardIndex != group.Rank || (name == "train" && !o.EvenShards && !o.DropLast))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"Data-parallel training on rank {group.Rank} of {group.Size}: the {name} loader must read this rank's shard (DataLoaderOptions.ShardCount = {group.Size}, ShardIndex = {group.Rank}{(name == "train" ? ", EvenShards = true" : string.Empty)}); it reads shard {o.ShardIndex} of {o.ShardCount}{(o.EvenShards ? string.Empty : ", uneven")}."), name);
        }
    }

    /// <summary>Whether to stop before the next step: this token alone, or (data-parallel) any rank's token at the last step.</summary>
    private bool StopRequested(CancellationToken token) => group is null ? token.IsCancellationRequested : agreedStop;

    /// <summary>Adds up a sharded evaluation's sums over the ranks (each rank evaluated its own shard).</summary>
    private void ReduceEvaluation(DeviceDataLoader loader, ref double lossSum, ref long correct, ref int samples)
    {
        if (group is null || loader.Options.ShardCount == 1)
        {
            return;
        }

        evaluationSums[0] = lossSum;
        evaluationSums[1] = correct;
        evaluationSums[2] = samples;
        group.AllReduceSum(evaluationSums.AsSpan());
        lossSum = evaluationSums[0];
        correct = (long)evaluationSums[1];
        samples = (int)evaluationSums[2];
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
