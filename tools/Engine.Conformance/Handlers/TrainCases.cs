// Conformance handler for `train` cases: a sequential model and an optimizer, several full-batch training steps on
// one x and target through the Trainer's step, compared with torch.nn.Sequential + torch.optim.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using Engine.Training;

namespace Engine.Conformance.Handlers;

/// <summary>
/// Runs <c>train</c> cases: the <c>sequential</c> params plus <c>optimizer</c> (an object as in the optimizer op) and
/// <c>steps</c>. Outputs <c>loss_stepK</c> (the loss of step K, before its update), <c>final.NAME</c> for every
/// parameter and buffer after the last step.
/// </summary>
internal sealed class TrainCases : IConformanceHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> Ops { get; } = ["train"];

    /// <inheritdoc />
    public IReadOnlyDictionary<string, HostTensor> Run(Device device, ConformanceCase testCase)
    {
        ArgumentNullException.ThrowIfNull(testCase);
        int steps = testCase.Params.Int("steps", 0);
        var optimizerParams = new CaseParams(testCase.Params.Node("optimizer") as JsonObject ?? throw new FormatException("param 'optimizer' must be an optimizer object"));
        if (steps < 1)
        {
            throw new FormatException($"param 'steps' must be at least 1, got {steps}");
        }

        using var m = ModelCase.Load(device, testCase);
        var net = m.Compiled;
        using var opt = OptimizerCases.Create(net.Parameters, optimizerParams);
        var unread = optimizerParams.Unread.ToList();
        if (unread.Count > 0)
        {
            throw new FormatException($"optimizer: unknown setting(s) {string.Join(", ", unread)}");
        }

        using var x = Tensor.Empty(device, net.Input.Shape);
        using var target = Tensor.Empty(device, net.Target!.Shape);
        x.CopyFrom(net.Input);
        target.CopyFrom(net.Target);
        using var trainer = new Trainer(net, opt, options: new TrainingOptions { Mode = GradientDescentMode.Batch, Shuffle = false });
        var got = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        for (int k = 1; k <= steps; k++)
        {
            float loss = trainer.TrainStep(x, target);
            if (testCase.Wants($"loss_step{k}"))
            {
                got[$"loss_step{k}"] = HostTensor.From([1], [loss]);
            }
        }

        foreach (var p in net.Parameters)
        {
            got["final." + p.Name] = HostTensor.From(p.Value);
        }

        foreach (var b in net.Buffers)
        {
            got["final." + b.Name] = HostTensor.From(b.Value);
        }

        return got;
    }
}
