// The task samples end to end, each for a few epochs on a subset: the autoencoder, segmentation and triplet samples on
// the first real MNIST digits, the regression on a CSV file the test writes; each ends with its result line, writes
// its files and reaches a quality floor. Bad options and data give clear errors.
using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Engine.Tests.Data;
using Engine.Training;
using Microsoft.Extensions.Logging.Abstractions;
using MnistTrainer;
using NUnit.Framework;
using SkiaSharp;

namespace Engine.Tests.Samples;

public sealed class TaskSampleTests
{
    private static async Task<(int Code, string Last, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await TrainerApp.RunAsync(args, stdout, stderr, NullLoggerFactory.Instance, interactive: false);
        return (code, stdout.ToString().TrimEnd().Split('\n').Last(), stderr.ToString());
    }

    private static double Number(string line, string pattern) =>
        double.Parse(System.Text.RegularExpressions.Regex.Match(line, pattern).Groups[1].Value, CultureInfo.InvariantCulture);

    [Test]
    public async Task The_autoencoder_reconstructs_real_digits()
    {
        using var tmp = new TempDir();
        string digits = RealDigits.Subset(tmp, 2000, 500);
        var (code, last, err) = await Run("autoencoder", "--data", digits, "--out", tmp["out"], "--device", "cpu", "--epochs", "5", "--lr", "0.005");
        Assert.That(err, Is.Empty);
        Assert.That(code, Is.Zero);
        Assert.That(last, Does.Match(@"^test mse: 0\.\d{5} \(per pixel; 500 samples\)$"));

        // Measured: 0.03704 (3 epochs at the default lr: 0.06314, about what the mean image gives).
        Assert.That(Number(last, @"mse: ([\d.]+)"), Is.LessThan(0.045), last);
        using var png = SKBitmap.Decode(Path.Combine(tmp["out"], "reconstructions.png"));
        Assert.That(png.Width, Is.GreaterThan(16 * 84));
        var log = TrainingLog.ReadJson(Path.Combine(tmp["out"], "metrics.json"));
        Assert.That(log.Run["task"], Is.EqualTo("autoencoder"));
        Assert.That(log.Epochs[^1].ValidationMetrics.Keys, Is.EqualTo(new[] { "mae", "rmse", "r2" }));
    }

    [Test]
    public async Task Segmentation_labels_every_pixel_of_real_digits()
    {
        using var tmp = new TempDir();
        string digits = RealDigits.Subset(tmp, 3000, 300);
        var (code, last, err) = await Run("segment", "--data", digits, "--out", tmp["out"], "--device", "cpu", "--epochs", "3", "--batch-size", "16", "--lr", "0.004");
        Assert.That(err, Is.Empty);
        Assert.That(code, Is.Zero);
        Assert.That(last, Does.Match(@"^test mean IoU: \d+\.\d\d% \(11 classes; pixel accuracy \d+\.\d\d%; 300 samples\)$"));

        // Measured: mean IoU 34.06%, pixel accuracy 92.60% (all background would give about 8% and 81%).
        Assert.That(Number(last, @"IoU: ([\d.]+)%"), Is.GreaterThan(25), last);
        Assert.That(Number(last, @"pixel accuracy ([\d.]+)%"), Is.GreaterThan(90), last);
        var log = TrainingLog.ReadJson(Path.Combine(tmp["out"], "metrics.json"));
        Assert.That(log.Epochs[^1].ValidationMetrics.Keys, Does.Contain("iou_10").And.Contain("dice_0"));
        Assert.That(File.ReadAllLines(Path.Combine(tmp["out"], "metrics.csv"))[0], Does.Contain("validation_mean_iou"));
    }

    [Test]
    public async Task The_triplet_embedding_classifies_real_digits_by_their_neighbours()
    {
        using var tmp = new TempDir();
        string digits = RealDigits.Subset(tmp, 2000, 500);
        var (code, last, err) = await Run("triplet", "--data", digits, "--out", tmp["out"], "--device", "cpu", "--epochs", "3", "--lr", "0.004");
        Assert.That(err, Is.Empty);
        Assert.That(code, Is.Zero);
        Assert.That(last, Does.Match(@"^test kNN accuracy: \d+\.\d\d% \(500 samples, 5 nearest of 2000 training embeddings\)$"));
        Assert.That(Number(last, @"accuracy: ([\d.]+)%"), Is.GreaterThan(80), last + " (measured: 84.40%)");
        var v = TrainingLog.ReadJson(Path.Combine(tmp["out"], "metrics.json")).Epochs[^1].ValidationMetrics;
        Assert.That(v.Keys, Is.EqualTo(new[] { "triplet_accuracy", "knn_accuracy" }));
    }

    [Test]
    public async Task The_regression_reads_any_numeric_csv_and_reports_rmse_and_r2()
    {
        using var tmp = new TempDir();
        var rng = new Random(5);
        var csv = new StringBuilder("id,a,b,kind,y\n");
        for (int i = 0; i < 300; i++)
        {
            double a = rng.NextDouble() * 4, b = (rng.NextDouble() * 2) - 1;
            csv.Append(CultureInfo.InvariantCulture, $"{i},{a:F4},{b:F4},{(i % 2 == 0 ? "x" : "\"y\"")},{(3 * a) - (2 * b * b) + (0.1 * rng.NextDouble()):F4}\n");
        }

        File.WriteAllText(tmp["data.csv"], csv.ToString());
        var (code, last, err) = await Run("regression", "--csv", tmp["data.csv"], "--target", "y", "--out", tmp["out"], "--device", "cpu", "--epochs", "40");
        Assert.That(err, Is.Empty);
        Assert.That(code, Is.Zero);
        Assert.That(last, Does.Match(@"^test RMSE: [\d.]+, R²: [\d.]+, MAE: [\d.]+ \(60 samples\)$"));
        Assert.That(Number(last, @"R²: ([\d.]+)"), Is.GreaterThan(0.9), last);
        var log = TrainingLog.ReadJson(Path.Combine(tmp["out"], "metrics.json"));
        Assert.That(log.Run["features"], Is.EqualTo("id,a,b"), "the non-numeric column is left out");

        (code, last, err) = await Run("regression", "--csv", tmp["data.csv"], "--target", "z", "--out", tmp["out"]);
        Assert.That((code, err), Is.EqualTo((1, "error: '" + tmp["data.csv"] + "' has no column 'z' for the target; its columns are id, a, b, kind, y." + Environment.NewLine)));
        (code, _, err) = await Run("regression", "--csv", tmp["data.csv"], "--target", "kind", "--out", tmp["out"]);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(err, Does.Contain("line 2: the target 'kind' is 'x', not a number"));
        (code, _, err) = await Run("regression", "--csv", tmp["data.csv"]);
        Assert.That((code, err.Trim()), Is.EqualTo((1, "error: --csv needs --target NAME, the column to predict.")));
    }

    [Test]
    public async Task Task_options_are_checked_and_explained()
    {
        foreach (string task in new[] { "autoencoder", "segment", "triplet", "regression" })
        {
            var stdout = new StringWriter();
            int code = await TrainerApp.RunAsync([task, "--help"], stdout, new StringWriter(), NullLoggerFactory.Instance, interactive: false);
            Assert.That(code, Is.Zero);
            Assert.That(stdout.ToString(), Does.StartWith($"usage: ./build.sh train {task} [OPTIONS]").And.Contain("--train-samples"));
        }

        var (bad, _, err) = await Run("segment", "--epochs", "0");
        Assert.That(bad, Is.EqualTo(2));
        Assert.That(err, Does.Contain("--epochs must be a whole number from 1").And.Contain("./build.sh train segment --help"));
        var help = new StringWriter();
        await TrainerApp.RunAsync(["--help"], help, new StringWriter(), NullLoggerFactory.Instance, interactive: false);
        Assert.That(help.ToString(), Does.Contain("./build.sh train autoencoder").And.Contain("./build.sh train regression"));
    }
}
