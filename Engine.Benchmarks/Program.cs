// Benchmark entry point: BenchmarkDotNet's switcher over every benchmark class, with the shared config.
using BenchmarkDotNet.Running;

namespace Engine.Benchmarks;

public static class Program
{
    public static void Main(string[] args) =>
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, new BenchConfig());
}
