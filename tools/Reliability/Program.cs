// Entry point of engine-reliability: `./build.sh inspect`, `./build.sh fuzz` (through scripts/fuzz.sh),
// `./build.sh crash-kill` and `./build.sh soak` (docs/reliability.md).
using System;
using System.Linq;
using Engine.Reliability.Fuzz;
using Engine.Reliability.Inspect;

const string usage =
    "usage: engine-reliability VERB [ARGS...]\n" +
    "  inspect PATH...             what a safetensors file, checkpoint (file or folder) or IDX file holds\n" +
    FuzzCommand.Usage;

switch (args.FirstOrDefault())
{
    case "inspect" when args.Length >= 2:
        return args[1..].Select(p => FileInspector.Inspect(p, Console.Out)).Max();
    case "fuzz":
        return FuzzCommand.Run(args[1..], Console.Out, Console.Error);
    case "-h" or "--help":
        Console.WriteLine(usage);
        return 0;
    default:
        Console.Error.WriteLine(usage);
        return 2;
}
