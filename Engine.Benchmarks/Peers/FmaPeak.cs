// Measures the machine's FMA throughput (the GEMM roofline): independent vector FMA chains on every core.
using System;
using System.Diagnostics;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Threading;
using Engine.Backends.Cpu;

namespace Engine.Benchmarks.Peers;

public static class FmaPeak
{
    private const int Iterations = 1 << 24;

    /// <summary>
    /// Best-of-<paramref name="tries"/> float32 GFLOP/s of <paramref name="threads"/> threads issuing FMAs at once:
    /// each thread times its own loop (about 35 ms), and the rates add up.
    /// </summary>
    public static double Measure(int threads, int tries = 5)
    {
        bool wide = CpuGemm.BestKernel == GemmKernel.Vector512;
        double flopsPerThread = 2.0 * Iterations * 12 * (wide ? 16 : 8);
        double best = 0;
        for (int t = 0; t < tries; t++)
        {
            using var go = new ManualResetEventSlim(false);
            var rates = new double[threads];
            var sink = new float[threads];
            var workers = new Thread[threads];
            for (int i = 0; i < threads; i++)
            {
                int id = i;
                workers[i] = new Thread(() =>
                {
                    go.Wait();
                    long t0 = Stopwatch.GetTimestamp();
                    sink[id] = wide ? Chains512(Iterations) : Chains256(Iterations);
                    rates[id] = flopsPerThread / Stopwatch.GetElapsedTime(t0).TotalSeconds / 1e9;
                });
                workers[i].Start();
            }

            Thread.Sleep(20);
            go.Set();
            foreach (var w in workers)
            {
                w.Join();
            }

            best = Math.Max(best, rates.Sum());
        }

        return best;
    }

    /// <summary>Width of the vectors the measurement uses, in bits.</summary>
    public static int Width => CpuGemm.BestKernel == GemmKernel.Vector512 ? 512 : 256;

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains256(int n)
    {
        // Twelve independent accumulators cover FMA latency x throughput (4 x 2 on Zen 3, 4 x 2 on Skylake).
        var x = Vector256.Create(1.0000001f);
        var y = Vector256.Create(0.9999999f);
        Vector256<float> a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
        for (int i = 0; i < n; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, y, x);
            a1 = Vector256.FusedMultiplyAdd(a1, y, x);
            a2 = Vector256.FusedMultiplyAdd(a2, y, x);
            a3 = Vector256.FusedMultiplyAdd(a3, y, x);
            a4 = Vector256.FusedMultiplyAdd(a4, y, x);
            a5 = Vector256.FusedMultiplyAdd(a5, y, x);
            a6 = Vector256.FusedMultiplyAdd(a6, y, x);
            a7 = Vector256.FusedMultiplyAdd(a7, y, x);
            a8 = Vector256.FusedMultiplyAdd(a8, y, x);
            a9 = Vector256.FusedMultiplyAdd(a9, y, x);
            a10 = Vector256.FusedMultiplyAdd(a10, y, x);
            a11 = Vector256.FusedMultiplyAdd(a11, y, x);
        }

        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains512(int n)
    {
        var x = Vector512.Create(1.0000001f);
        var y = Vector512.Create(0.9999999f);
        Vector512<float> a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
        for (int i = 0; i < n; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, y, x);
            a1 = Vector512.FusedMultiplyAdd(a1, y, x);
            a2 = Vector512.FusedMultiplyAdd(a2, y, x);
            a3 = Vector512.FusedMultiplyAdd(a3, y, x);
            a4 = Vector512.FusedMultiplyAdd(a4, y, x);
            a5 = Vector512.FusedMultiplyAdd(a5, y, x);
            a6 = Vector512.FusedMultiplyAdd(a6, y, x);
            a7 = Vector512.FusedMultiplyAdd(a7, y, x);
            a8 = Vector512.FusedMultiplyAdd(a8, y, x);
            a9 = Vector512.FusedMultiplyAdd(a9, y, x);
            a10 = Vector512.FusedMultiplyAdd(a10, y, x);
            a11 = Vector512.FusedMultiplyAdd(a11, y, x);
        }

        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
