// The `fuzz` verbs of engine-reliability: the afl-fuzz entry point (SharpFuzz's fork server), replay of inputs,
// writing the seed corpus, and the instrumentation list that scripts/fuzz.sh hands to the sharpfuzz tool.
using System;
using System.IO;
using System.Linq;
using SharpFuzz;

namespace Engine.Reliability.Fuzz;

internal static class FuzzCommand
{
    public const string Usage =
        "  fuzz list                   the targets\n" +
        "  fuzz instrument             per assembly, the namespace prefixes to instrument (for scripts/fuzz.sh)\n" +
        "  fuzz seed DIR               writes each target's seed inputs to DIR/TARGET/seed-NAME\n" +
        "  fuzz run TARGET             the afl-fuzz entry point (reads one input per run from afl-fuzz, or stdin)\n" +
        "  fuzz replay TARGET FILE...  runs inputs through a target and prints accepted/rejected (exit 1 on a contract breach)\n";

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        switch (args.FirstOrDefault())
        {
            case "list":
                foreach (var t in FuzzTargets.All)
                {
                    stdout.WriteLine($"{t.Name,-18} {t.Description}");
                }

                return 0;
            case "instrument":
                foreach (var (assembly, prefixes) in FuzzTargets.Instrumentation())
                {
                    stdout.WriteLine($"{assembly} {string.Join(' ', prefixes)}");
                }

                return 0;
            case "seed" when args.Length == 2:
                foreach (var t in FuzzTargets.All)
                {
                    string dir = Path.Combine(args[1], t.Name);
                    Directory.CreateDirectory(dir);
                    foreach (var (name, data) in t.Seeds())
                    {
                        File.WriteAllBytes(Path.Combine(dir, "seed-" + name), data);
                    }
                }

                return 0;
            case "run" when args.Length == 2:
            {
                // Instrumented code writes its coverage to SharpFuzz's trace map, which Fuzzer.Run points at afl's shared
                // memory; until then it gets a private map (else the first instrumented branch writes through null).
                unsafe
                {
                    SharpFuzz.Common.Trace.SharedMem = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(1 << 16);
                }

                var target = FuzzTargets.Find(args[1]);
                using var w = new FuzzWorkspace();

                // One seed first: a target's one-time setup (the checkpoint target trains a model) is not charged to an input.
                target.Execute(target.Seeds().First().Data, w);
                Fuzzer.Run(stream =>
                {
                    using var ms = new MemoryStream();
                    stream.CopyTo(ms);
                    target.Execute(ms.ToArray(), w);
                });
                return 0;
            }

            case "replay" when args.Length >= 3:
            {
                var target = FuzzTargets.Find(args[1]);
                using var w = new FuzzWorkspace();
                int breaches = 0;
                foreach (string file in args[2..])
                {
                    try
                    {
                        var outcome = target.Execute(File.ReadAllBytes(file), w, out string? message);
                        stdout.WriteLine($"{file}: {outcome}{(message is null ? string.Empty : ": " + message)}");
                    }
                    catch (FuzzContractException e)
                    {
                        breaches++;
                        stdout.WriteLine($"{file}: CONTRACT BREACH: {e.Message}\n{e.InnerException}");
                    }
                }

                return breaches == 0 ? 0 : 1;
            }

            default:
                stderr.WriteLine("usage: engine-reliability fuzz list|instrument|seed DIR|run TARGET|replay TARGET FILE...\n" + Usage);
                return 2;
        }
    }
}
