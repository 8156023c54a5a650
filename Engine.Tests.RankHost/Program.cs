// The rank host of the distributed tests: Engine.Tests starts it under mpirun (one process per rank) or alone (one
// rank), and it runs one scenario: the collectives of a process group, or a small data-parallel training whose final
// parameters and buffers each rank writes to a file for the test to compare. It can also kill or hang one rank.
using System;
using System.Globalization;
using System.IO;
using Engine.Distributed;
using Engine.Tests.RankHost;

if (args.Length == 0)
{
    Console.Error.WriteLine("usage: RankHost collectives|train|example [--name value ...]");
    return 2;
}

var options = HostOptions.Parse(args[1..]);
if (args[0] == "example")
{
    // The docs' example makes its own process group.
    var result = DistributedExample.Run(TrainRun.Blobs(480, 4, 5), TrainRun.Blobs(120, 4, 6), options.String("checkpoints", "ck"));
    Console.WriteLine($"example done: {result.Reason} after {result.Steps} steps");
    return 0;
}

using var group = ProcessGroup.FromEnvironment(TimeSpan.FromSeconds(options.Double("timeout", 120)));
try
{
    return args[0] switch
    {
        "collectives" => Collectives.Run(group),
        "train" => TrainRun.Run(group, options),
        _ => throw new ArgumentException($"unknown scenario '{args[0]}'"),
    };
}
catch (Exception e) when (e is ProcessGroupException or InvalidOperationException or ArgumentException)
{
    // The error line the tests look for; disposing a faulted group then ends the whole job (MPI_Abort).
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rank {group.Rank} error: {e.GetType().Name}: {e.Message}"));
    Console.Out.Flush();
    File.WriteAllText(Path.Combine(options.String("out", "."), $"error.rank{group.Rank}.txt"), e.Message);
    return 1;
}
