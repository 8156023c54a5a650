// Entry point of `./build.sh train`: runs TrainerApp on the console; Ctrl+C stops after the current training step.
using System;
using System.Threading;
using MnistTrainer;

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cts.Cancel();
};

try
{
    return await TrainerApp.RunAsync(args, Console.Out, Console.Error, ct: cts.Token);
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("cancelled");
    return 130;
}
