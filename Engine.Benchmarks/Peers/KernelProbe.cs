// Tuning aid (`peers --kernel-probe KC PANELS`): the best micro-kernel alone on cache-resident packed panels.
using System;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Engine.Backends.Cpu;

namespace Engine.Benchmarks.Peers;

public static unsafe class KernelProbe
{
    public static void Run(int kc, int panels)
    {
        double gflops = CpuGemm.BestKernel switch
        {
            GemmKernel.Vector512 => Probe<MicroKernel512>(kc, panels),
            GemmKernel.Vector256 => Probe<MicroKernel256>(kc, panels),
            _ => Probe<MicroKernel128>(kc, panels),
        };
        Console.WriteLine($"kernel {CpuGemm.BestKernel} kc={kc} panels={panels} best_gflops={gflops:F1}");
    }

    /// <summary>Best of 20 sweeps of one B micro-panel against PANELS packed A micro-panels (A: PANELS x KC x MR floats).</summary>
    private static double Probe<TK>(int kc, int panels)
        where TK : struct, IGemmMicroKernel
    {
        int mr = TK.MR, nr = TK.NR;
        float* a = (float*)NativeMemory.AlignedAlloc((nuint)(panels * kc * mr * 4), 64);
        float* b = (float*)NativeMemory.AlignedAlloc((nuint)(kc * nr * 4), 64);
        float* c = (float*)NativeMemory.AlignedAlloc((nuint)(panels * mr * nr * 4), 64);
        try
        {
            new Span<float>(a, panels * kc * mr).Fill(0.001f);
            new Span<float>(b, kc * nr).Fill(0.002f);
            new Span<float>(c, panels * mr * nr).Clear();
            double best = 0;
            for (int t = 0; t < 20; t++)
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int rep = 0; rep < 200; rep++)
                {
                    for (int p = 0; p < panels; p++)
                    {
                        TK.Run(kc, a + (p * kc * mr), b, nr, c + (p * mr * nr), nr, 1f, 1f);
                    }
                }

                double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                best = Math.Max(best, 200.0 * panels * 2 * mr * nr * kc / s / 1e9);
            }

            return best;
        }
        finally
        {
            NativeMemory.AlignedFree(a);
            NativeMemory.AlignedFree(b);
            NativeMemory.AlignedFree(c);
        }
    }
}
