// The model example of docs/graph.md, compiled and run by a test; the test also checks the doc shows this exact code.
using System;
using System.Collections.Generic;
using Engine.Checkpoints;
using Engine.Nn;
using Engine.Optim;

namespace Engine.Tests.Docs;

public static class ModelExample
{
    /// <summary>Trains the example CNN for two epochs over <paramref name="batches"/>, saves it, and returns the last loss.</summary>
    public static float Run(IReadOnlyList<(float[] Images, float[] Labels)> batches, string weightsPath)
    {
        // GRAPH-EXAMPLE-START
        using var device = Device.Create();
        using var model = new Sequential(
            new Conv2d(1, 8, 3, padding: 1), new BatchNorm2d(8), new Relu(), new MaxPool2d(2),
            new Flatten(), new Linear(8 * 14 * 14, 10));
        using var net = model.Compile(device, inputShape: [64, 1, 28, 28], loss: Loss.CrossEntropy());
        using var opt = new Adam(net.Parameters, new AdamOptions { LR = 1e-3 });
        Console.WriteLine(net.Summary());
        for (int epoch = 0; epoch < 2; epoch++)
        {
            foreach (var (images, labels) in batches)   // 64 images of 28x28 floats, 64 class numbers
            {
                net.ForwardBackward(images, labels);    // loss, output, and every parameter's gradient
                opt.Step();
            }
        }

        Console.WriteLine($"loss {net.ReadLoss()}");
        net.SaveWeights(weightsPath);                   // safetensors under PyTorch's state-dict names
        // GRAPH-EXAMPLE-END
        return net.ReadLoss();
    }
}
