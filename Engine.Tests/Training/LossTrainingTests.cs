// Every loss of the conformance schema as a compiled model's loss, trained through Trainer.Fit on every device: the
// loss falls, and the trainer reports the metrics of the loss's task.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Data;
using Engine.Nn;
using Engine.Optim;
using Engine.Tests.Infrastructure;
using Engine.Training;
using NUnit.Framework;
using static Engine.Tests.Training.TrainingTestUtil;

namespace Engine.Tests.Training;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public sealed class LossTrainingTests(DeviceConfig config)
{
    private const int Features = 4;
    private const int Classes = 3;

    private Device Dev => TestDevices.Get(config);

    /// <summary>Regression targets: two smooth functions of the blob features.</summary>
    private static InMemoryDataset Regression(int n)
    {
        var x = Blobs(n, Features, Classes, seed: 2);
        var y = new float[n * 2];
        for (int i = 0; i < n; i++)
        {
            var f = x.Sample(i);
            y[2 * i] = f[0] - (0.5f * f[1]);
            y[(2 * i) + 1] = MathF.Sin(f[2]) + f[3];
        }

        return new InMemoryDataset(x.Features.ToArray(), new Shape(Features), y, new Shape(2));
    }

    /// <summary>Multi-label 0/1 targets: whether each of three features is positive.</summary>
    private static InMemoryDataset MultiLabel(int n)
    {
        var x = Blobs(n, Features, Classes, seed: 3);
        var y = new float[n * 3];
        for (int i = 0; i < y.Length; i++)
        {
            y[i] = x.Sample(i / 3)[i % 3] > 0 ? 1 : 0;
        }

        return new InMemoryDataset(x.Features.ToArray(), new Shape(Features), y, new Shape(3));
    }

    /// <summary>Soft class probabilities: the one-hot label smoothed towards uniform.</summary>
    private static InMemoryDataset Soft(int n)
    {
        var x = Blobs(n, Features, Classes, seed: 4);
        var y = new float[n * Classes];
        for (int i = 0; i < n; i++)
        {
            for (int c = 0; c < Classes; c++)
            {
                y[(i * Classes) + c] = x.Label(i) == c ? 0.8f : 0.1f;
            }
        }

        return new InMemoryDataset(x.Features.ToArray(), new Shape(Features), y, new Shape(Classes));
    }

    public static IEnumerable<TestCaseData> Cases()
    {
        yield return Case("mse", Loss.Mse(), "regression", "rmse");
        yield return Case("mae", Loss.Mae(), "regression", "mae");
        yield return Case("huber", Loss.Huber(0.5f), "regression", "r2");
        yield return Case("smooth_l1", Loss.SmoothL1(0.5f), "regression", "rmse");
        yield return Case("cross_entropy indices", Loss.CrossEntropy(), "classes", "accuracy");
        yield return Case("cross_entropy probabilities", Loss.CrossEntropy(Engine.Ops.CrossEntropyTarget.Probabilities), "soft", "accuracy");
        yield return Case("bce", Loss.Bce(), "multilabel-probabilities", "binary_accuracy");
        yield return Case("bce_with_logits", Loss.BceWithLogits(), "multilabel", "binary_accuracy");
        yield return Case("focal", Loss.Focal(), "multilabel", "binary_accuracy");
        yield return Case("dice", Loss.Dice(), "onehot-probabilities", "accuracy");
        yield return Case("iou", Loss.Iou(), "onehot-probabilities", "accuracy");
        yield return Case("tversky", Loss.Tversky(0.3f, 0.7f), "onehot-probabilities", "accuracy");
        yield return Case("triplet", Loss.Triplet(), "triplets", "triplet_accuracy");
    }

    private static TestCaseData Case(string name, ILossSpec loss, string data, string metric) =>
        new TestCaseData(loss, data, metric).SetArgDisplayNames(name);

    [TestCaseSource(nameof(Cases))]
    public void Trains_through_fit_and_reports_its_task_metric(ILossSpec loss, string data, string metric)
    {
        IDataset train = data switch
        {
            "regression" => Regression(48),
            "soft" => Soft(48),
            "multilabel" or "multilabel-probabilities" => MultiLabel(48),
            "triplets" => new TripletDataset(Blobs(48, Features, Classes, seed: 5), seed: 1),
            _ => Blobs(48, Features, Classes, seed: 6),
        };
        int outputs = data switch { "regression" => 2, "multilabel" or "multilabel-probabilities" => 3, "triplets" => 5, _ => Classes };
        var layers = new List<Module> { new Linear(Features, 16), new Relu(), new Linear(16, outputs) };
        if (data == "multilabel-probabilities")
        {
            layers.Add(new Sigmoid());
        }

        if (data == "onehot-probabilities")
        {
            layers.Add(new Softmax());
        }

        int rows = data == "triplets" ? 3 * 8 : 8;
        using var model = new Sequential([.. layers]);
        using var net = model.Compile(Dev, new Shape(rows, Features), loss, new CompileOptions { Seed = 2 });
        using var opt = new Adam(net.Parameters, new AdamOptions { LR = 0.02 });
        using var trainer = new Trainer(net, opt, options: new TrainingOptions { Epochs = 6, BatchSize = 8, Seed = 3 });
        var r = trainer.Fit(train, validation: train);
        var first = r.History[0];
        var last = r.History[^1];
        Assert.That(last.TrainLoss, Is.LessThan(first.TrainLoss), "the loss falls");
        Assert.That(r.History.Select(h => h.TrainLoss), Is.All.Matches<double>(double.IsFinite));
        Assert.That(last.TrainMetrics.ContainsKey(metric) || last.ValidationMetrics.ContainsKey(metric), Is.True, $"{metric} in {last.ValidationMetrics}");
        Assert.That(last.ValidationMetrics[metric], Is.Not.NaN);
    }
}
