// How data-parallel evaluation combines the task metrics: each rank's state for its shard (positions r, r + R, ... of
// the pass, in batches) contributes to an element-wise sum over the ranks (Metric.ShardContribution), and the summed
// state must give the values of one pass over all the data: counts and sums for accuracy, top-k, binary accuracy,
// MAE/RMSE/R², IoU/Dice and triplet accuracy; every embedding at its own position for kNN accuracy. No MPI needed:
// the ranks are simulated here; DataParallelTests checks the same under mpirun.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Training;
using NUnit.Framework;

namespace Engine.Tests.Distributed;

public sealed class MetricShardTests
{
    /// <summary>A metric, its batch shapes for one sample (rows per sample, output and target row lengths) and how to draw a sample.</summary>
    public sealed record Case(string Name, Func<Metric> Make, int Rows, int[] Output, int[] Target, Func<Random, int, (float[] Output, float[] Target)> Draw)
    {
        public override string ToString() => Name;
    }

    private const int Classes = 4;

    public static IEnumerable<Case> Cases()
    {
        yield return new("accuracy", () => new Accuracy(), 1, [Classes], [], (r, i) => (Scores(r, Classes), [i % Classes]));
        yield return new("top2 accuracy", () => new Accuracy(2), 1, [Classes], [], (r, i) => (Scores(r, Classes), [r.Next(Classes)]));
        yield return new("binary accuracy", () => new BinaryAccuracy(logits: true), 1, [3], [3], (r, _) => (Scores(r, 3), [.. Scores(r, 3).Select(v => v > 0 ? 1f : 0f)]));
        yield return new("regression", () => new RegressionMetrics(), 1, [2], [2], (r, _) => (Scores(r, 2), Scores(r, 2)));
        yield return new("segmentation", () => new SegmentationMetrics(), 1, [Classes, 3, 2], [3, 2], (r, _) => (Scores(r, Classes * 6), [.. Enumerable.Range(0, 6).Select(_ => (float)r.Next(Classes))]));
        yield return new("triplet accuracy", () => new TripletAccuracy(), 3, [5], [], (r, i) => (Scores(r, 15), [i % 3, i % 3, (i + 1) % 3]));
        yield return new("knn accuracy", () => new KnnAccuracy(k: 3, anchorsOnly: false), 1, [5], [], (r, i) => (Cluster(r, i % 3, 5), [i % 3]));
        yield return new("knn accuracy of triplet anchors", () => new KnnAccuracy(k: 3), 3, [5], [], (r, i) => ([.. Cluster(r, i % 3, 5), .. Scores(r, 10)], [i % 3, i % 3, (i + 1) % 3]));
    }

    [TestCaseSource(nameof(Cases))]
    public void Shards_summed_give_the_values_of_one_pass(Case c)
    {
        const int samples = 23, batch = 4;
        var rng = new Random(7);
        var drawn = Enumerable.Range(0, samples).Select(i => c.Draw(rng, i)).ToArray();
        var (oneState, metric) = Pass(c, drawn, [.. Enumerable.Range(0, samples)], samples, batch);
        var want = Compute(metric, oneState);
        Assert.That(want.Any(double.IsNaN), Is.False, $"{c.Name}: the reference has a value for every name ({string.Join(", ", want)})");

        foreach (int ranks in new[] { 2, 3, 4 })
        {
            var sum = new double[oneState.Length];
            for (int r = 0; r < ranks; r++)
            {
                // Uneven shards, as evaluation reads them: positions r, r + R, ... below the sample count.
                int[] positions = [.. Enumerable.Range(0, samples).Where(p => p % ranks == r)];
                var (state, m) = Pass(c, drawn, positions, samples, batch);
                var contribution = new double[state.Length];
                m.ShardContribution(state, contribution, r, ranks);
                for (int i = 0; i < sum.Length; i++)
                {
                    sum[i] += contribution[i];
                }
            }

            var got = Compute(metric, sum);
            Assert.That(got, Is.EqualTo(want).Within(1e-12), $"{c.Name} over {ranks} shards");
        }
    }

    [Test]
    public void Knn_contributions_leave_out_the_padding_of_even_shards()
    {
        // 5 samples on 2 even shards: shard 1 reads positions 1, 3 and (padding) 5 -> 0; the padding must not count twice.
        var m = new KnnAccuracy(k: 1, anchorsOnly: false);
        m.Bind(new Shape(3, 2), new Shape(3));
        var state = new double[m.StateLength(5)];
        m.Update(state, [1, 1, 2, 2, 3, 3], [0, 1, 2], 3);
        var contribution = new double[state.Length];
        m.ShardContribution(state, contribution, 1, 2);
        Assert.That(contribution[0], Is.EqualTo(2), "two embeddings placed, the third is padding");
        Assert.That(contribution.AsSpan(1 + 3, 3).ToArray(), Is.EqualTo(new double[] { 0, 1, 1 }), "position 1: label 0, embedding (1, 1)");
        Assert.That(contribution.AsSpan(1 + 9, 3).ToArray(), Is.EqualTo(new double[] { 1, 2, 2 }), "position 3");
        Assert.That(contribution.AsSpan(1, 3).ToArray(), Is.EqualTo(new double[3]), "position 0 is shard 0's");
    }

    /// <summary>The state of a pass over <paramref name="positions"/> of the drawn samples, in batches, sized for <paramref name="samples"/>.</summary>
    private static (double[] State, Metric Metric) Pass(Case c, (float[] Output, float[] Target)[] drawn, int[] positions, int samples, int batch)
    {
        var m = c.Make();
        m.Bind(new Shape([batch * c.Rows, .. c.Output]), new Shape([batch * c.Rows, .. c.Target]));
        var state = new double[m.StateLength(samples)];
        int outRow = c.Output.Aggregate(1, (a, b) => a * b), targetRow = c.Target.Aggregate(1, (a, b) => a * b);
        for (int start = 0; start < positions.Length; start += batch)
        {
            int n = Math.Min(batch, positions.Length - start);
            var output = new float[batch * c.Rows * outRow];
            var target = new float[batch * c.Rows * targetRow];
            for (int i = 0; i < n; i++)
            {
                var (o, t) = drawn[positions[start + i]];
                for (int k = 0; k < c.Rows; k++)
                {
                    // Triplet layout: row k of sample i goes to row k n + i (anchors, then positives, then negatives).
                    int row = (k * n) + i;
                    o.AsSpan(k * outRow, outRow).CopyTo(output.AsSpan(row * outRow));
                    t.AsSpan(k * targetRow, targetRow).CopyTo(target.AsSpan(row * targetRow));
                }
            }

            m.Update(state, output, target, n * c.Rows);
        }

        return (state, m);
    }

    private static double[] Compute(Metric m, double[] state)
    {
        var values = new double[m.Names.Count];
        m.Compute(state, values);
        return values;
    }

    private static float[] Scores(Random r, int n) => [.. Enumerable.Range(0, n).Select(_ => (float)((2 * r.NextDouble()) - 1))];

    /// <summary>A point near class <paramref name="label"/>'s centre, so that kNN is right for most but not all.</summary>
    private static float[] Cluster(Random r, int label, int dim) =>
        [.. Enumerable.Range(0, dim).Select(j => (float)((j == label ? 1.0 : 0.0) + (0.8 * (r.NextDouble() - 0.5))))];
}
