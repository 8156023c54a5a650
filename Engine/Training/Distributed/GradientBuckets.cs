// How data-parallel training cuts the flat gradient buffer into all-reduce buckets: parameters in reverse order (the
// order backward finishes them), each bucket a contiguous range of the buffer of about BucketBytes, the first one
// smaller so that communication starts early in backward; and, per compiled plan, which buckets are final after each
// backward step.
using System;
using System.Collections.Generic;
using Engine.Nn;

namespace Engine.Training;

/// <summary>One all-reduce bucket: elements [Start, Start + Length) of the flat gradient buffer.</summary>
/// <param name="Start">First element.</param>
/// <param name="Length">Number of elements.</param>
/// <param name="FirstParameter">Index (in the parameter set) of the first parameter it covers.</param>
/// <param name="LastParameter">Index of the last parameter it covers.</param>
internal readonly record struct GradientBucket(long Start, long Length, int FirstParameter, int LastParameter);

/// <summary>The bucket layout of a parameter set.</summary>
internal static class GradientBuckets
{
    /// <summary>PyTorch DDP's cap of the first bucket: the first all-reduce starts after the last layers' backward.</summary>
    public const int FirstBucketBytes = 1 << 20;

    /// <summary>
    /// Buckets over <paramref name="parameters"/> from the last parameter to the first: a bucket closes once it holds at
    /// least <paramref name="bucketBytes"/> (the first at least min(1 MiB, bucketBytes)); a parameter is never split.
    /// </summary>
    public static GradientBucket[] Layout(ParameterSet parameters, int bucketBytes)
    {
        var buckets = new List<GradientBucket>();
        long cap = Math.Min(FirstBucketBytes, bucketBytes) / sizeof(float);
        int last = parameters.Count - 1;
        long length = 0;
        for (int i = parameters.Count - 1; i >= 0; i--)
        {
            length += parameters[i].Length;
            if (length >= cap || i == 0)
            {
                buckets.Add(new GradientBucket(parameters[i].Offset, length, i, last));
                last = i - 1;
                length = 0;
                cap = Math.Max(1, bucketBytes / sizeof(float));
            }
        }

        return [.. buckets];
    }

    /// <summary>
    /// For each backward step k of <paramref name="plan"/>: how many leading buckets (0, 1, ...) hold only final
    /// gradients once step k has run. The last entry is always the bucket count.
    /// </summary>
    public static int[] ReadyAfterStep(CompiledModel plan, GradientBucket[] buckets)
    {
        var paramReady = plan.GradientReadySteps();
        var bucketReady = new int[buckets.Length];
        for (int b = 0; b < buckets.Length; b++)
        {
            int ready = 0;
            for (int p = buckets[b].FirstParameter; p <= buckets[b].LastParameter; p++)
            {
                ready = Math.Max(ready, paramReady[p]);
            }

            bucketReady[b] = ready;
        }

        int steps = Math.Max(1, plan.BackwardStepCount);
        var table = new int[steps];
        int leading = 0;
        for (int k = 0; k < steps; k++)
        {
            while (leading < buckets.Length && bucketReady[leading] <= k)
            {
                leading++;
            }

            table[k] = leading;
        }

        table[^1] = buckets.Length;
        return table;
    }
}
