// Entry point of the fine-tuning example: parses the options, runs FineTune and prints its result.
using System;
using Microsoft.Extensions.Logging;
using OnnxFineTune;

var (options, error) = FineTuneOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine($"error: {error}\n\n{FineTuneOptions.Help}");
    return 2;
}

if (options.ShowHelp)
{
    Console.WriteLine(FineTuneOptions.Help);
    return 0;
}

using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true));
try
{
    var result = FineTune.Run(options, loggers.CreateLogger("OnnxFineTune"));
    Console.WriteLine(result);
    return 0;
}
catch (Exception e) when (e is Engine.Onnx.OnnxFormatException or System.IO.IOException or UnauthorizedAccessException or ArgumentException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
