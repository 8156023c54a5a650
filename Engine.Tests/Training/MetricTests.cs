// The task metrics on hand-worked examples, their names, and their trip through metrics.json, metrics.csv and
// checkpoint history.
using System;
using System.IO;
using System.Linq;
using Engine.Tests.Data;
using Engine.Training;
using NUnit.Framework;

namespace Engine.Tests.Training;

public sealed class MetricTests
{
    private static double[] Run(Metric m, Shape output, Shape target, float[] o, float[] t, int samples = 16)
    {
        m.Bind(output, target);
        var state = new double[m.StateLength(samples)];
        m.Update(state, o, t, output[0]);
        var values = new double[m.Names.Count];
        m.Compute(state, values);
        return values;
    }

    [Test]
    public void Accuracy_takes_the_first_of_tied_scores_and_counts_the_top_k()
    {
        float[] scores = [0.1f, 0.7f, 0.2f, /**/ 0.5f, 0.5f, 0.0f, /**/ 0.3f, 0.2f, 0.1f];
        Assert.That(Run(new Accuracy(), new Shape(3, 3), new Shape(3), scores, [1, 1, 2]), Is.EqualTo(new[] { 1 / 3.0 }), "only the first row; a tie goes to class 0");
        Assert.That(Run(new Accuracy(2), new Shape(3, 3), new Shape(3), scores, [1, 1, 2]), Is.EqualTo(new[] { 2 / 3.0 }));
        Assert.That(Run(new Accuracy(), new Shape(3, 3), new Shape(3, 3), scores, [0, 1, 0, 0, 1, 0, 1, 0, 0]), Is.EqualTo(new[] { 2 / 3.0 }), "one-hot targets");
        Assert.That(new Accuracy(5).Names, Is.EqualTo(new[] { "top5_accuracy" }));
        Assert.That(() => new Accuracy(4).Bind(new Shape(2, 3), new Shape(2)), Throws.ArgumentException.With.Message.Contain("the output has 3 classes"));
    }

    [Test]
    public void Regression_metrics_are_mae_rmse_and_r2_over_every_value()
    {
        float[] p = [1, 2, 4, 4];
        float[] y = [1, 3, 3, 5];
        var v = Run(new RegressionMetrics(), new Shape(2, 2), new Shape(2, 2), p, y);
        double sse = 0 + 1 + 1 + 1, sst = 4 + 0 + 0 + 4;   // mean of y is 3
        Assert.That(v, Is.EqualTo(new[] { 3 / 4.0, Math.Sqrt(sse / 4), 1 - (sse / sst) }).Within(1e-12));
    }

    [Test]
    public void Segmentation_metrics_count_per_class_overlaps_over_every_position()
    {
        // One sample, 2 classes, 4 positions: predicted classes 0 1 1 0, true classes 0 1 0 0.
        float[] scores = [0.9f, 0.1f, 0.2f, 0.8f, /**/ 0.1f, 0.9f, 0.8f, 0.2f];
        var m = new SegmentationMetrics();
        var v = Run(m, new Shape(1, 2, 4), new Shape(1, 4), scores, [0, 1, 0, 0]);
        Assert.That(m.Names.Take(3), Is.EqualTo(new[] { "pixel_accuracy", "mean_iou", "mean_dice" }));
        double iou0 = 2 / 3.0, iou1 = 1 / 2.0, dice0 = 4 / 5.0, dice1 = 2 / 3.0;
        Assert.That(v, Is.EqualTo(new[] { 3 / 4.0, (iou0 + iou1) / 2, (dice0 + dice1) / 2, iou0, iou1, dice0, dice1 }).Within(1e-12));
        var oneHot = Run(new SegmentationMetrics(), new Shape(1, 2, 4), new Shape(1, 2, 4), scores, [1, 0, 1, 1, 0, 1, 0, 0]);
        Assert.That(oneHot, Is.EqualTo(v), "a one-hot target gives the same");
    }

    [Test]
    public void Knn_accuracy_votes_among_the_nearest_embeddings()
    {
        float[] refs = [0, 0, 0.1f, 0, 5, 5, 5.2f, 5];
        int[] refLabels = [0, 0, 1, 1];
        Assert.That(KnnAccuracy.Score(refs, refLabels, [0.05f, 0.1f, 5, 4.9f], [0, 1], 2, 1), Is.EqualTo(1.0));
        Assert.That(KnnAccuracy.Score(refs, refLabels, refs, refLabels, 2, 1, leaveOneOut: true), Is.EqualTo(1.0), "each point's other neighbour has its class");
        var triplets = Run(new TripletAccuracy(), new Shape(6, 1), new Shape(6), [0, 0, /*pos*/ 1, 5, /*neg*/ 2, 1], [0, 0, 0, 0, 1, 1]);
        Assert.That(triplets, Is.EqualTo(new[] { 0.5 }), "the first anchor is nearer its positive, the second nearer its negative");
    }

    [Test]
    public void Metrics_survive_metrics_json_and_widen_metrics_csv()
    {
        var train = new MetricValues(["mae", "rmse", "r2"], [0.5, 0.75, 0.9]);
        var val = new MetricValues(["mae", "rmse", "r2"], [0.6, 0.8, double.NaN]);
        var log = new TrainingLog();
        log.Add(new EpochMetrics(1, 0.5, double.NaN, 0.6, double.NaN, 0.01, 10, 1, 100) { TrainMetrics = train, ValidationMetrics = val });
        using var tmp = new TempDir();
        log.WriteJson(tmp["m.json"]);
        log.WriteCsv(tmp["m.csv"]);
        var back = TrainingLog.ReadJson(tmp["m.json"]).Epochs.Single();
        Assert.That(back, Is.EqualTo(log.Epochs[0]));
        Assert.That(back.ValidationMetrics["r2"], Is.NaN);
        var csv = File.ReadAllLines(tmp["m.csv"]);
        Assert.That(csv[0], Does.EndWith(",train_mae,train_rmse,train_r2,validation_mae,validation_rmse,validation_r2"));
        Assert.That(csv[1], Does.EndWith(",0.5,0.75,0.9,0.6,0.8,"));
        Assert.That(() => train["iou"], Throws.InstanceOf<System.Collections.Generic.KeyNotFoundException>().With.Message.Contain("there are: mae, rmse, r2"));
        Assert.That(train.ToString(), Is.EqualTo("mae 0.5, rmse 0.75, r2 0.9"));
    }
}
