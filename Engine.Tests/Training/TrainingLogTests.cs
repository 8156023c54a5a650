// The metrics log: metrics.json round-trips the Trainer's EpochMetrics (null for missing numbers), the CSV has one line
// per epoch, and a file that is not a log is refused with its name.
using System.Collections.Generic;
using System.IO;
using Engine.Tests.Data;
using Engine.Training;
using NUnit.Framework;

namespace Engine.Tests.Training;

public sealed class TrainingLogTests
{
    private static TrainingLog TwoEpochs()
    {
        var log = new TrainingLog(new Dictionary<string, string> { ["model"] = "cnn", ["device"] = "cpu" });
        log.Add(new EpochMetrics(1, 0.5, 0.8, 0.45, 0.82, 0.002, 250, 3.25, 2461.5));
        log.Add(new EpochMetrics(2, 0.25, 0.9, double.NaN, double.NaN, 0.001, 250, 3, 2500));
        return log;
    }

    [Test]
    public void Metrics_json_round_trips_and_writes_null_for_missing_numbers()
    {
        using var tmp = new TempDir();
        var log = TwoEpochs();
        string path = tmp["metrics.json"];
        log.WriteJson(path);
        string text = File.ReadAllText(path);
        Assert.That(text, Does.Contain("\"train_loss\": 0.5").And.Contain("\"validation_loss\": null").And.Contain("\"model\": \"cnn\"").And.Contain("\"lr\": 0.002"));
        var back = TrainingLog.ReadJson(path);
        Assert.That(back.Run["device"], Is.EqualTo("cpu"));
        Assert.That(back.Epochs[0], Is.EqualTo(log.Epochs[0]));
        Assert.That(back.Epochs[1].Steps, Is.EqualTo(250));
        Assert.That(double.IsNaN(back.Epochs[1].ValidationAccuracy), Is.True);
        Assert.That(File.Exists(path + ".tmp"), Is.False);
    }

    [Test]
    public void Metrics_csv_has_a_header_and_one_line_per_epoch()
    {
        using var tmp = new TempDir();
        string path = tmp["metrics.csv"];
        TwoEpochs().WriteCsv(path);
        Assert.That(File.ReadAllLines(path), Is.EqualTo(new[]
        {
            "epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,lr,steps,seconds,samples_per_second",
            "1,0.5,0.8,0.45,0.82,0.002,250,3.25,2461.5",
            "2,0.25,0.9,,,0.001,250,3,2500",
        }));
    }

    [Test]
    public void A_file_that_is_not_a_log_is_refused_with_its_name()
    {
        using var tmp = new TempDir();
        string path = tmp["metrics.json"];
        foreach (string bad in new[] { "{\"run\": {}}", "[1, 2]", "{\"run\": {}, \"epochs\": [{\"epoch\": 1}]}", "{\"run\": {\"a\": 1}, \"epochs\": []}", "not json" })
        {
            File.WriteAllText(path, bad);
            Assert.That(() => TrainingLog.ReadJson(path), Throws.InstanceOf<InvalidDataException>().With.Message.Contain("not a metrics file").And.Message.Contain(path), bad);
        }
    }
}
