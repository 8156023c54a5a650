// Embedding quality: how often a triple's anchor is nearer its positive than its negative, and the k-nearest-neighbour
// classification accuracy of the embeddings of a whole evaluation pass (leave-one-out).
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using Engine.Backends.Cpu;

namespace Engine.Training;

/// <summary>
/// For triplet outputs (3N, D) (anchors, positives, negatives): <c>triplet_accuracy</c>, the fraction of triples whose
/// anchor is nearer (Euclidean) its positive than its negative.
/// </summary>
public sealed class TripletAccuracy : Metric
{
    private int dim;

    /// <inheritdoc />
    public override IReadOnlyList<string> Names { get; } = ["triplet_accuracy"];

    /// <inheritdoc />
    public override void Bind(Shape output, Shape target)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (output.Rank != 2 || output[0] % 3 != 0)
        {
            throw new ArgumentException($"triplet_accuracy needs triplet embeddings (3N, D); the model's output is {output}.", nameof(output));
        }

        dim = output[1];
    }

    /// <inheritdoc />
    public override int StateLength(int samples) => 2;

    /// <inheritdoc />
    public override void Update(Span<double> state, ReadOnlySpan<float> output, ReadOnlySpan<float> target, int rows)
    {
        int n = rows / 3, d = dim;
        long correct = 0;
        for (int i = 0; i < n; i++)
        {
            var a = output.Slice(i * d, d);
            double dp = KnnAccuracy.SquaredDistance(a, output.Slice((n + i) * d, d));
            double dn = KnnAccuracy.SquaredDistance(a, output.Slice(((2 * n) + i) * d, d));
            correct += dp < dn ? 1 : 0;
        }

        state[0] += correct;
        state[1] += n;
    }

    /// <inheritdoc />
    public override void Compute(ReadOnlySpan<double> state, Span<double> values) => values[0] = state[1] > 0 ? state[0] / state[1] : double.NaN;
}

/// <summary>
/// <c>knn_accuracy</c>: over a whole evaluation pass, the fraction of samples whose class is the majority class of their
/// <see cref="K"/> nearest other embeddings (Euclidean; a tie goes to the class of the nearest tied neighbour). With
/// <c>anchorsOnly</c> (the triplet layout) only the first third of each batch's rows, the anchors, are embedded samples;
/// targets are the rows' class labels. Evaluation only: it keeps every embedding of the pass and compares all pairs. In
/// data-parallel evaluation every rank's embeddings are gathered to every rank (<see cref="ShardContribution"/>) and each
/// rank scores them all, so the value is a single process's.
/// </summary>
public sealed class KnnAccuracy : Metric
{
    private int dim;

    /// <summary>Creates the metric with <paramref name="k"/> neighbours.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is below 1.</exception>
    public KnnAccuracy(int k = 5, bool anchorsOnly = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        K = k;
        AnchorsOnly = anchorsOnly;
    }

    /// <summary>Neighbours that vote.</summary>
    public int K { get; }

    /// <summary>Whether rows are triplets (only the anchors count) rather than one embedding per sample.</summary>
    public bool AnchorsOnly { get; }

    /// <inheritdoc />
    public override IReadOnlyList<string> Names { get; } = ["knn_accuracy"];

    /// <inheritdoc />
    public override bool EvaluationOnly => true;

    /// <inheritdoc />
    public override void Bind(Shape output, Shape target)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(target);
        if (output.Rank != 2 || target.Rank != 1 || target[0] != output[0] || (AnchorsOnly && output[0] % 3 != 0))
        {
            throw new ArgumentException(
                $"knn_accuracy needs embeddings ({(AnchorsOnly ? "3N" : "N")}, D) and their class labels as targets; the output is {output} and the target {target}.", nameof(output));
        }

        dim = output[1];
    }

    /// <inheritdoc />
    public override int StateLength(int samples) => 1 + checked(samples * (dim + 1));

    /// <inheritdoc />
    public override void Update(Span<double> state, ReadOnlySpan<float> output, ReadOnlySpan<float> target, int rows)
    {
        int n = AnchorsOnly ? rows / 3 : rows, d = dim;
        int stored = (int)state[0];
        int capacity = (state.Length - 1) / (d + 1);
        for (int i = 0; i < n && stored < capacity; i++, stored++)
        {
            var row = state.Slice(1 + (stored * (d + 1)), d + 1);
            row[0] = target[i];
            for (int j = 0; j < d; j++)
            {
                row[1 + j] = output[(i * d) + j];
            }
        }

        state[0] = stored;
    }

    /// <summary>
    /// Places this shard's embeddings at their positions in the whole pass (shard position j is position
    /// shardIndex + j shardCount; positions past the pass, the padding of even shards, are left out), so that the sum
    /// over the shards holds every embedding once, in a single process's order, and every rank computes the same value.
    /// </summary>
    public override void ShardContribution(ReadOnlySpan<double> state, Span<double> contribution, int shardIndex, int shardCount)
    {
        int row = dim + 1, stored = (int)state[0];
        long capacity = (contribution.Length - 1) / row;
        int placed = 0;
        for (int j = 0; j < stored; j++)
        {
            long at = shardIndex + ((long)j * shardCount);
            if (at >= capacity)
            {
                break;
            }

            state.Slice(1 + (j * row), row).CopyTo(contribution.Slice(1 + (int)(at * row), row));
            placed++;
        }

        contribution[0] = placed;
    }

    /// <inheritdoc />
    public override void Compute(ReadOnlySpan<double> state, Span<double> values)
    {
        int n = (int)state[0], d = dim;
        var embeddings = new float[n * d];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            var row = state.Slice(1 + (i * (d + 1)), d + 1);
            labels[i] = (int)row[0];
            for (int j = 0; j < d; j++)
            {
                embeddings[(i * d) + j] = (float)row[1 + j];
            }
        }

        values[0] = n > 1 ? Score(embeddings, labels, embeddings, labels, d, K, leaveOneOut: true) : double.NaN;
    }

    /// <summary>
    /// The fraction of <paramref name="queries"/> (rows of <paramref name="dim"/>) whose label is the majority label of
    /// their <paramref name="k"/> nearest rows of <paramref name="reference"/>; with <paramref name="leaveOneOut"/> the
    /// queries are the reference rows themselves and each skips itself. Runs across cores.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths do not fit <paramref name="dim"/> and the label counts.</exception>
    public static double Score(float[] reference, int[] referenceLabels, float[] queries, int[] queryLabels, int dim, int k, bool leaveOneOut = false)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(referenceLabels);
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(queryLabels);
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (reference.Length != referenceLabels.Length * dim || queries.Length != queryLabels.Length * dim)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{reference.Length} reference and {queries.Length} query values do not make {referenceLabels.Length} and {queryLabels.Length} rows of {dim}."), nameof(reference));
        }

        int nq = queryLabels.Length;
        if (nq == 0)
        {
            return double.NaN;
        }

        // On the engine's host threads (capped by HostThreads), not the .NET thread pool.
        var body = new VoteBody(reference, referenceLabels, queries, queryLabels, dim, k, leaveOneOut);
        HostParallel.For(nq, ref body);
        return body.Correct / (double)nq;
    }

    /// <summary>Votes for queries [start, end) and adds the correct ones to <see cref="Correct"/> (shared by every thread).</summary>
    private struct VoteBody(float[] reference, int[] referenceLabels, float[] queries, int[] queryLabels, int dim, int k, bool leaveOneOut) : IRangeBody
    {
        public int Correct;

        public void Run(int start, int end)
        {
            int local = 0;
            for (int q = start; q < end; q++)
            {
                int label = Vote(reference, referenceLabels, queries.AsSpan(q * dim, dim), dim, k, leaveOneOut ? q : -1);
                local += label == queryLabels[q] ? 1 : 0;
            }

            Interlocked.Add(ref Correct, local);
        }
    }

    /// <summary>Sum of squared differences.</summary>
    internal static double SquaredDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double e = a[i] - b[i];
            s += e * e;
        }

        return s;
    }

    private static int Vote(float[] reference, int[] labels, ReadOnlySpan<float> query, int dim, int k, int skip)
    {
        // The k nearest, kept sorted by distance (k is small).
        Span<double> best = stackalloc double[k];
        Span<int> who = stackalloc int[k];
        best.Fill(double.PositiveInfinity);
        who.Fill(-1);
        for (int j = 0; j < labels.Length; j++)
        {
            if (j == skip)
            {
                continue;
            }

            double dist = SquaredDistance(query, reference.AsSpan(j * dim, dim));
            if (dist >= best[k - 1])
            {
                continue;
            }

            int at = k - 1;
            while (at > 0 && best[at - 1] > dist)
            {
                best[at] = best[at - 1];
                who[at] = who[at - 1];
                at--;
            }

            best[at] = dist;
            who[at] = j;
        }

        // Majority; on a tie, the class of the nearest of the tied classes' neighbours.
        int winner = -1, winnerVotes = 0;
        for (int a = 0; a < k && who[a] >= 0; a++)
        {
            int label = labels[who[a]], votes = 0;
            for (int b = 0; b < k && who[b] >= 0; b++)
            {
                votes += labels[who[b]] == label ? 1 : 0;
            }

            if (votes > winnerVotes)
            {
                winner = label;
                winnerVotes = votes;
            }
        }

        return winner;
    }
}
