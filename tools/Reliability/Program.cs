// Entry point of engine-reliability: `./build.sh inspect`, `./build.sh fuzz` (through scripts/fuzz.sh),
// `./build.sh crash-kill` and `./build.sh soak` (docs/reliability.md).
using System;
using System.Globalization;
using System.Linq;
using Engine.Reliability.Fuzz;
using Engine.Reliability.Inspect;
using Engine.Reliability.Runs;

const string usage =
    "usage: engine-reliability VERB [ARGS...]\n" +
    "  inspect PATH...             what a safetensors file, checkpoint (file or folder) or IDX file holds\n" +
    "  crash-kill [KILLS] [SEED]   SIGKILL a training child KILLS times (default 50); resumes must end bit for bit\n" +
    "  crash-child DIR             the child crash-kill starts (trains in DIR, resuming from its latest checkpoint)\n" +
    "  soak [STEPS] [kernels]      STEPS training steps (default 20000): resident memory, allocator bytes, kernel cache\n" +
    FuzzCommand.Usage;

int Number(int index, int fallback) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;

switch (args.FirstOrDefault())
{
    case "inspect" when args.Length >= 2:
        return args[1..].Select(p => FileInspector.Inspect(p, Console.Out)).Max();
    case "fuzz":
        return FuzzCommand.Run(args[1..], Console.Out, Console.Error);
    case "crash-child" when args.Length == 2:
        return CrashKill.Child(args[1]);
    case "crash-kill":
    {
        int kills = Number(1, 50);
        var r = CrashKill.Run(kills, Number(2, 1), Console.Out);
        r.Problems.ToList().ForEach(p => Console.WriteLine($"PROBLEM: {p}"));
        Console.WriteLine($"crash-kill: {r.Kills} kills ({r.MidSave} left a save's files behind), {r.Completions} resumed runs completed, {r.Problems.Count} problems");
        return r.Problems.Count == 0 ? 0 : 1;
    }

    case "soak":
        return Soak.Run(Number(1, 20000), Console.Out, kernels: args.Contains("kernels")).Flat ? 0 : 1;
    case "-h" or "--help":
        Console.WriteLine(usage);
        return 0;
    default:
        Console.Error.WriteLine(usage);
        return 2;
}
