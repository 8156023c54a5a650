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

/// <summary>Tuning aid (`peers --conv-probe`): the pieces of the host convolution alone, per image, on the calling thread.</summary>
public static unsafe class ConvProbe
{
    public static void Run()
    {
        Piece("im2col conv1 (1x28x28)", 1, 28, 28, 3, 1, out _);
        Piece("im2col conv2 (32x14x14)", 32, 14, 14, 3, 1, out _);
        float* src = Alloc(32 * 196), dst = Alloc(288 * 196);
        Time("288 memcpy 196 floats", () =>
        {
            for (int i = 0; i < 288; i++)
            {
                Buffer.MemoryCopy(src + ((i % 32) * 196), dst + (i * 196), 784, 784);
            }
        });
        Time("288 span copy 196 floats", () =>
        {
            for (int i = 0; i < 288; i++)
            {
                new ReadOnlySpan<float>(src + ((i % 32) * 196), 196).CopyTo(new Span<float>(dst + (i * 196), 196));
            }
        });
        Time("288 x 14 scalar stores", () =>
        {
            for (int i = 0; i < 288; i++)
            {
                for (int r = 0; r < 14; r++)
                {
                    dst[(i * 196) + (r * 14)] = 0f;
                }
            }
        });
        float* dy = Alloc(32 * 784), col = Alloc(9 * 784), dw = Alloc(32 * 9);
        Time("288 TensorPrimitives.Dot 784", () =>
        {
            for (int i = 0; i < 288; i++)
            {
                dw[i] = System.Numerics.Tensors.TensorPrimitives.Dot(new ReadOnlySpan<float>(dy + ((i % 32) * 784), 784), new ReadOnlySpan<float>(col + ((i % 9) * 784), 784));
            }
        });
        Time("weightgrad conv1 32x9x784", () => ConvSmallK.WeightGrad(dy, 32, 784, col, 9, dw));
        float* w2 = Alloc(64 * 288), col2 = Alloc(288 * 196), y2 = Alloc(64 * 196), dy2 = Alloc(64 * 196), dw2 = Alloc(64 * 288);
        Time("direct fwd conv2 64x196x288", () => GemmSerial.Direct(w2, 288, false, col2, 196, y2, 196, 64, 196, 288, 0f));
        Time("packed fwd conv2 64x196x288", () => GemmSerial.Packed(w2, col2, y2, 64, 196, 288, 288, 196, 196, false, false, 0f));
        Time("packed dW conv2 64x288x196 NT", () => GemmSerial.Packed(dy2, col2, dw2, 64, 288, 196, 196, 196, 288, false, true, 1f));
        Time("direct dcol conv2 288x196x64 TN", () => GemmSerial.Direct(w2, 288, true, dy2, 196, col2, 196, 288, 196, 64, 0f));
        Time("packed dcol conv2 288x196x64 TN", () => GemmSerial.Packed(w2, dy2, col2, 288, 196, 64, 288, 196, 196, true, false, 0f));
    }

    private static float* Alloc(int n)
    {
        var p = (float*)NativeMemory.AlignedAlloc((nuint)(n * 4), 64);
        var r = new Random(n);
        for (int i = 0; i < n; i++)
        {
            p[i] = (float)r.NextDouble() - 0.5f;
        }

        return p;
    }

    private static void Piece(string name, int c, int h, int w, int k, int pad, out double us)
    {
        float* x = Alloc(c * h * w), col = Alloc(c * k * k * h * w);
        var p = new Engine.Kernels.Conv.Im2ColParams
        {
            Images = 1, Channels = c, Height = h, Width = w, KernelH = k, KernelW = k, StrideH = 1, StrideW = 1,
            PadTop = pad, PadLeft = pad, DilationH = 1, DilationW = 1, OutH = h, OutW = w,
        };
        us = Time(name, () => ConvColumns.Im2Col(x, col, p));
        Time(name + " col2im", () => ConvColumns.Col2Im(col, x, p));
        Time(name + " (row copies)", () => new CpuConv.Im2ColBody { Image = x, Col = col, P = p }.Run(0, c));
    }

    private static double Time(string name, Action a)
    {
        double best = double.MaxValue;
        for (int t = 0; t < 200; t++)
        {
            long t0 = Stopwatch.GetTimestamp();
            a();
            best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
        }

        Console.WriteLine($"probe {name}: best {best:F1} us");
        return best;
    }
}
