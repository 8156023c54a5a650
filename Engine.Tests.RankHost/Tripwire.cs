// A pass-through layer that makes its rank fail at a chosen training step: the process kills itself (SIGKILL, as the
// OOM killer or a lost machine would) or hangs forever in forward.
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using Engine.Nn;
using Engine.Ops;

namespace Engine.Tests.RankHost;

internal sealed class Tripwire(int dieAtStep, int hangAtStep) : Layer
{
    public override string Describe() => "Tripwire";

    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs) => [inputs[0]];

    public override void Forward(NodeContext context)
    {
        if (context.Training && context.Step == dieAtStep)
        {
            System.Console.WriteLine($"tripwire: killing this rank at step {dieAtStep}");
            System.Console.Out.Flush();
            Process.GetCurrentProcess().Kill();
        }

        if (context.Training && context.Step == hangAtStep)
        {
            System.Console.WriteLine($"tripwire: this rank hangs at step {hangAtStep}");
            System.Console.Out.Flush();
            Thread.Sleep(Timeout.Infinite);
        }

        Elementwise.Copy(context.Input(), context.Output());
    }

    public override void Backward(NodeContext context)
    {
        if (context.InputGrad() is { } dx)
        {
            Elementwise.Copy(context.OutputGrad(), dx);
        }
    }
}
