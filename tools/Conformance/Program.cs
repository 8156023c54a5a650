// Conformance runner CLI: one line per case (op, label, pass/FAIL, worst errors), then "N passed, N failed".
using System;
using System.IO;
using Engine;
using Engine.Conformance;
using Microsoft.Extensions.Logging;

if (args.Length is 1 or 2 && args[0] == "--op-table")
{
    string? table = (args.Length == 1 ? "dispatch" : args[1]) switch
    {
        "dispatch" => Engine.Dispatch.OpTable.ToMarkdown(),
        "activations" => Engine.Ops.ActivationTable.ToMarkdown(),
        "losses" => Engine.Ops.LossTable.ToMarkdown(),
        "binary" => Engine.Ops.BinaryTable.ToMarkdown(),
        "optimizers" => Engine.Optim.OptimizerTable.ToMarkdown(),
        _ => null,
    };
    if (table is null)
    {
        Console.Error.WriteLine($"unknown table '{args[1]}'; expected dispatch, activations, losses, binary or optimizers.");
        return 2;
    }

    Console.Write(table);
    return 0;
}

if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine("usage: engine-conformance FILE.json [FILE.json ...]\n" +
        "Runs every case on the default device (ENGINE_DEVICE=cpu|cuda|opencl|<index> overrides).\n" +
        "engine-conformance --op-table [dispatch|activations|losses|binary|optimizers] prints that table as Markdown\n" +
        "(the dispatch table by default); docs/ops.md and docs/optimizers.md embed them.");
    return args.Length == 0 ? 2 : 0;
}

using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information));
using var device = Device.Create(DeviceKind.Auto, new DeviceOptions { Logger = loggerFactory.CreateLogger("Engine") });
int passed = 0, failed = 0;
foreach (var file in args)
{
    if (!File.Exists(file))
    {
        Console.WriteLine($"{file}: no such file");
        failed++;
        continue;
    }

    Console.WriteLine($"# {file}");
    try
    {
        ConformanceRunner.RunFile(device, file, r =>
        {
            Console.WriteLine(r);
            if (r.Passed)
            {
                passed++;
            }
            else
            {
                failed++;
            }
        });
    }
    catch (Exception ex) when (ex is FormatException or System.Text.Json.JsonException)
    {
        Console.WriteLine($"{file}: not a conformance file: {ex.Message}");
        failed++;
    }
}

Console.WriteLine($"{passed} passed, {failed} failed");
return failed == 0 ? 0 : 1;
