// The trainer's per-batch work allocates no managed memory once warm (what a call allocates does not grow with the
// number of batches), and its accuracy takes the first of tied scores, as torch.argmax does.
using System;
using System.Linq;
using Engine.Data;
using Engine.Nn;
using Engine.Optim;
using Engine.Tests.Infrastructure;
using Engine.Training;
using NUnit.Framework;
using static Engine.Tests.Training.TrainingTestUtil;

namespace Engine.Tests.Training;

public sealed class TrainerAllocationTests
{
    private static Device Host => TestDevices.Get(new DeviceConfig("cpu-host", DeviceKind.Cpu, ForceKernels: false));

    /// <summary>
    /// Bytes the calling thread allocates in one warm run of <paramref name="action"/>: the least of three runs after
    /// warm-up runs. Tier-0 code heap-allocates what tier-1 code keeps on the stack, and on a loaded machine the
    /// background tier-up of a method can land between two measurements; a steady-state allocation shows in all three.
    /// </summary>
    private static long Allocated(Action action)
    {
        for (int i = 0; i < 40; i++)
        {
            action();
        }

        long least = long.MaxValue;
        for (int i = 0; i < 3; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            action();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return least;
    }

    [Test]
    public void Evaluation_allocates_nothing_per_batch_once_warm()
    {
        using var model = Mlp(4, 8, 3);
        using var net = model.Compile(Host, [8, 4], Loss.CrossEntropy(), new CompileOptions { Seed = 3 });
        using var opt = new Adam(net.Parameters, new AdamOptions());
        using var trainer = new Trainer(net, opt);
        using var few = new DeviceDataLoader(Host, Blobs(21, 4, 3, 1), new DataLoaderOptions { BatchSize = 8, Shuffle = false });     // 8, 8, 5
        using var many = new DeviceDataLoader(Host, Blobs(237, 4, 3, 1), new DataLoaderOptions { BatchSize = 8, Shuffle = false });   // 29 x 8, 5
        var first = trainer.Evaluate(few);
        long a = Allocated(() => trainer.Evaluate(few));
        long b = Allocated(() => trainer.Evaluate(many));
        Assert.That(b, Is.EqualTo(a), "bytes allocated by a warm evaluation of 30 batches and of 3");
        Assert.That(trainer.Evaluate(few), Is.EqualTo(first), "evaluation does not change the model");
        Assert.That(first.Samples, Is.EqualTo(21));
    }

    [Test]
    public void Training_allocates_nothing_per_step_once_warm()
    {
        using var model = Mlp(4, 8, 3);
        using var net = model.Compile(Host, [8, 4], Loss.CrossEntropy(), new CompileOptions { Seed = 3 });
        using var opt = new Adam(net.Parameters, new AdamOptions());
        using var few = new DeviceDataLoader(Host, Blobs(21, 4, 3, 1), new DataLoaderOptions { BatchSize = 8 });
        using var many = new DeviceDataLoader(Host, Blobs(237, 4, 3, 1), new DataLoaderOptions { BatchSize = 8 });
        var progress = new ListProgress<TrainingProgress>();
        long Epoch(DeviceDataLoader loader) => Allocated(() =>
        {
            using var trainer = new Trainer(net, opt, options: new TrainingOptions { Epochs = 1 });
            trainer.Fit(loader, null, progress);
            progress.Reports.Clear();
        });

        long a = Epoch(few);
        long b = Epoch(many);
        Assert.That(b, Is.EqualTo(a), "bytes allocated by a warm one-epoch Fit of 30 steps and of 3 (with progress after each)");
    }

    [Test]
    public void Training_on_float_targets_allocates_nothing_per_step_once_warm()
    {
        using var model = new Sequential(new Linear(2, 8), new Relu(), new Linear(8, 1));
        using var net = model.Compile(Host, [8, 2], Loss.Mse(), new CompileOptions { Seed = 3 });
        using var opt = new Adam(net.Parameters, new AdamOptions());
        using var few = new DeviceDataLoader(Host, TaskTrainingTests.Linear(21, 1), new DataLoaderOptions { BatchSize = 8 });
        using var many = new DeviceDataLoader(Host, TaskTrainingTests.Linear(237, 2), new DataLoaderOptions { BatchSize = 8 });
        var progress = new ListProgress<TrainingProgress>();
        long Epoch(DeviceDataLoader loader) => Allocated(() =>
        {
            using var trainer = new Trainer(net, opt, options: new TrainingOptions { Epochs = 1 });
            trainer.Fit(loader, null, progress);
            progress.Reports.Clear();
        });

        long a = Epoch(few);
        long b = Epoch(many);
        Assert.That(b, Is.EqualTo(a), "bytes allocated by a warm one-epoch regression Fit (mae/rmse/r2 after each step) of 30 steps and of 3");
    }

    [Test]
    public void Segmentation_training_allocates_nothing_per_step_once_warm()
    {
        using var model = new Sequential(new Conv2d(1, 4, 3, padding: 1), new Relu(), new Conv2d(4, 3, 1));
        using var net = model.Compile(Host, [4, 1, 6, 6], Loss.DiceCrossEntropy(), new CompileOptions { Seed = 3 });
        using var opt = new Adam(net.Parameters, new AdamOptions());
        var data = TaskTrainingTests.Squares(60);
        using var few = new DeviceDataLoader(Host, data.Subset([.. Enumerable.Range(0, 10)]), new DataLoaderOptions { BatchSize = 4, Transforms = [new RandomShift(1)] });
        using var many = new DeviceDataLoader(Host, data, new DataLoaderOptions { BatchSize = 4, Transforms = [new RandomShift(1)] });
        long Epoch(DeviceDataLoader loader) => Allocated(() =>
        {
            using var trainer = new Trainer(net, opt, options: new TrainingOptions { Epochs = 1 });
            trainer.Fit(loader);
        });

        // Both sizes warm up first: the larger run's first rounds still JIT-compile (tiered) a little.
        Epoch(few);
        Epoch(many);
        long a = Epoch(few);
        long b = Epoch(many);
        Assert.That(b, Is.EqualTo(a), "bytes allocated by a warm one-epoch segmentation Fit (per-pixel losses, IoU after each step) of 15 steps and of 3");
    }

    [Test]
    public void Accuracy_counts_tied_scores_as_the_first_class()
    {
        // All-zero weights give every class the same score, so every prediction is class 0, as torch.argmax picks.
        using var model = new Sequential(new Linear(4, 3));
        using var net = model.Compile(Host, [8, 4], Loss.CrossEntropy());
        net.Parameters.Values.Fill(0f);

        using var opt = new Adam(net.Parameters, new AdamOptions());
        using var trainer = new Trainer(net, opt);
        var data = new InMemoryDataset(new float[40 * 4], [.. Enumerable.Range(0, 40).Select(i => i % 4 == 0 ? 0 : 1 + (i % 2))], new Shape(4), 3);
        var r = trainer.Evaluate(data);
        Assert.That(r.Accuracy, Is.EqualTo(10 / 40.0), "the 10 samples of class 0");
        Assert.That(r.Loss, Is.EqualTo(Math.Log(3)).Within(1e-6));
    }
}
