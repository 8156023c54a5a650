// Benchmark entry point: BenchmarkDotNet's switcher over every benchmark class, `peers` for bench-peers.sh, or `ranks`
// for bench-ranks.sh (data-parallel training under mpirun).
using System.Linq;
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Running;

namespace Engine.Benchmarks;

public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "peers")
        {
            return Peers.PeersMode.Run(args.Skip(1).ToArray());
        }

        if (args.Length > 0 && args[0] == "ranks")
        {
            return Ranks.RanksMode.Run(args.Skip(1).ToArray());
        }

        return RunBenchmarkDotNet(args);
    }

    // Kept out of Main so that `peers` never loads BenchmarkDotNet: the GPU run carries Engine.Benchmarks.dll alone
    // next to the test build (scripts/gpu), without BenchmarkDotNet's 30 MB of dependencies.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int RunBenchmarkDotNet(string[] args)
    {
        bool outOfProcess = args.Contains("--out-of-process");
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args.Where(a => a != "--out-of-process").ToArray(), new BenchConfig(!outOfProcess));
        return 0;
    }
}
