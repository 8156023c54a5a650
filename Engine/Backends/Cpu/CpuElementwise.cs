// Host element-wise ops for the CPU device: TensorPrimitives over chunks, parallel through HostParallel when large.
using System;
using System.Numerics.Tensors;
using Engine.Kernels.Elementwise;

namespace Engine.Backends.Cpu;

/// <summary>Managed implementations of <see cref="Ops.Elementwise"/> over CPU-accelerator buffers.</summary>
internal static unsafe class CpuElementwise
{
    /// <summary>Elements per parallel chunk (below it, one thread does the whole op).</summary>
    private const int Chunk = 1 << 16;

    private enum Kind
    {
        Add,
        Axpy,
        Scale,
    }

    /// <summary>y = a + b.</summary>
    public static void Add(Tensor a, Tensor b, Tensor y) => Run(Kind.Add, a, b, y, 1f);

    /// <summary>y += alpha * x.</summary>
    public static void Accumulate(Tensor x, Tensor y, float alpha) => Run(Kind.Axpy, x, x, y, alpha);

    /// <summary>y = alpha * x.</summary>
    public static void Scale(Tensor x, Tensor y, float alpha) => Run(Kind.Scale, x, x, y, alpha);

    /// <summary>y += bias along the axis described by <paramref name="p"/>.</summary>
    public static void AddBias(Tensor y, Tensor bias, BiasParams p)
    {
        y.Device.Synchronize();
        int segments = (int)(y.Length / (p.Inner == 1 ? p.F : p.Inner));
        var body = new BiasBody { Y = HostSimd.Ptr(y), Bias = HostSimd.Ptr(bias), P = p };
        HostParallel.For(segments, ref body, Math.Max(1, Chunk / (p.Inner == 1 ? p.F : p.Inner)));
    }

    /// <summary>dbias[f] (=|+=) sum of dy over the other axes.</summary>
    public static void BiasBackward(Tensor dy, Tensor dbias, BiasParams p, bool accumulate)
    {
        dy.Device.Synchronize();
        var body = new BiasBackwardBody { Dy = HostSimd.Ptr(dy), DBias = HostSimd.Ptr(dbias), P = p, Outer = (int)(dy.Length / ((long)p.F * p.Inner)), Accumulate = accumulate };
        int work = p.Inner == 1 ? (p.F + BiasBackwardBody.ColumnBlock - 1) / BiasBackwardBody.ColumnBlock : p.F;
        HostParallel.For(work, ref body);
    }

    private static void Run(Kind kind, Tensor a, Tensor b, Tensor y, float alpha)
    {
        a.Device.Synchronize();
        int n = (int)y.Length;
        var body = new ChunkBody { A = HostSimd.Ptr(a), B = HostSimd.Ptr(b), Y = HostSimd.Ptr(y), Length = n, Alpha = alpha, Kind = kind };
        HostParallel.For((n + Chunk - 1) / Chunk, ref body);
    }

    private struct ChunkBody : IRangeBody
    {
        public float* A, B, Y;
        public int Length;
        public float Alpha;
        public Kind Kind;

        public readonly void Run(int start, int end)
        {
            int s = start * Chunk;
            int len = Math.Min(Length, end * Chunk) - s;
            var a = new ReadOnlySpan<float>(A + s, len);
            var y = new Span<float>(Y + s, len);
            switch (Kind)
            {
                case Kind.Add:
                    TensorPrimitives.Add(a, new ReadOnlySpan<float>(B + s, len), y);
                    break;
                case Kind.Axpy:
                    TensorPrimitives.MultiplyAdd(a, Alpha, y, y);
                    break;
                default:
                    TensorPrimitives.Multiply(a, Alpha, y);
                    break;
            }
        }
    }

    private struct BiasBody : IRangeBody
    {
        public float* Y, Bias;
        public BiasParams P;

        public readonly void Run(int start, int end)
        {
            int f = P.F, inner = P.Inner;
            if (inner == 1)
            {
                var bias = new ReadOnlySpan<float>(Bias, f);
                for (int r = start; r < end; r++)
                {
                    var row = new Span<float>(Y + ((long)r * f), f);
                    TensorPrimitives.Add(row, bias, row);
                }

                return;
            }

            for (int seg = start; seg < end; seg++)
            {
                var y = new Span<float>(Y + ((long)seg * inner), inner);
                TensorPrimitives.Add(y, Bias[seg % f], y);
            }
        }
    }

    private struct BiasBackwardBody : IRangeBody
    {
        public const int ColumnBlock = 256;
        public float* Dy, DBias;
        public BiasParams P;
        public int Outer;
        public bool Accumulate;

        public readonly void Run(int start, int end)
        {
            int f = P.F, inner = P.Inner;
            if (inner == 1)
            {
                for (int blk = start; blk < end; blk++)
                {
                    int c0 = blk * ColumnBlock;
                    var acc = new Span<float>(DBias + c0, Math.Min(ColumnBlock, f - c0));
                    if (!Accumulate)
                    {
                        acc.Clear();
                    }

                    for (int r = 0; r < Outer; r++)
                    {
                        TensorPrimitives.Add(acc, new ReadOnlySpan<float>(Dy + ((long)r * f) + c0, acc.Length), acc);
                    }
                }

                return;
            }

            for (int c = start; c < end; c++)
            {
                double sum = 0;
                for (int o = 0; o < Outer; o++)
                {
                    sum += TensorPrimitives.Sum(new ReadOnlySpan<float>(Dy + ((((long)o * f) + c) * inner), inner));
                }

                DBias[c] = (float)((Accumulate ? DBias[c] : 0) + sum);
            }
        }
    }
}
