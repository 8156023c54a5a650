// Host residual add with the ReLU after it folded in: one sweep for relu(a + b) forward, and one for backward that
// takes dy through relu' and hands the result to both inputs (written or added), instead of two separate ops each.
using System;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Engine.Backends.Cpu;

/// <summary>Managed implementations of <c>Ops.Elementwise.AddRelu</c> and its backward over CPU-accelerator buffers.</summary>
internal static unsafe class CpuAddRelu
{
    /// <summary>Elements per parallel chunk.</summary>
    private const int Chunk = 1 << 15;

    /// <summary>y = relu(a + b) (y may be a or b).</summary>
    public static void Forward(Tensor a, Tensor b, Tensor y)
    {
        a.Device.Synchronize();
        var body = new ForwardBody { A = HostSimd.Ptr(a), B = HostSimd.Ptr(b), Y = HostSimd.Ptr(y), Length = (int)y.Length };
        HostParallel.For((body.Length + Chunk - 1) / Chunk, ref body);
    }

    /// <summary>g = relu'(y) * dy; da (=|+=) g and db (=|+=) g, each skipped when null (da and db may be one tensor).</summary>
    public static void Backward(Tensor y, Tensor dy, Tensor? da, Tensor? db, bool accumulateA, bool accumulateB)
    {
        y.Device.Synchronize();
        var body = new BackwardBody
        {
            Y = HostSimd.Ptr(y), Dy = HostSimd.Ptr(dy), Da = HostSimd.PtrOrNull(da), Db = HostSimd.PtrOrNull(db),
            AccumulateA = accumulateA, AccumulateB = accumulateB, Length = (int)y.Length,
        };
        HostParallel.For((body.Length + Chunk - 1) / Chunk, ref body);
    }

    private struct ForwardBody : IRangeBody
    {
        public float* A, B, Y;
        public int Length;

        public readonly void Run(int start, int end)
        {
            int s = start * Chunk, len = Math.Min(Length, end * Chunk) - s;
            var a = new ReadOnlySpan<float>(A + s, len);
            var b = new ReadOnlySpan<float>(B + s, len);
            var y = new Span<float>(Y + s, len);
            int i = 0;
            if (Vector.IsHardwareAccelerated && len >= Vector<float>.Count)
            {
                var av = MemoryMarshal.Cast<float, Vector<float>>(a);
                var bv = MemoryMarshal.Cast<float, Vector<float>>(b);
                var yv = MemoryMarshal.Cast<float, Vector<float>>(y);
                for (int v = 0; v < av.Length; v++)
                {
                    var t = av[v] + bv[v];
                    yv[v] = Vector.ConditionalSelect(Vector.LessThan(t, Vector<float>.Zero), Vector<float>.Zero, t);
                }

                i = av.Length * Vector<float>.Count;
            }

            for (; i < len; i++)
            {
                float t = a[i] + b[i];
                y[i] = t < 0f ? 0f : t;
            }
        }
    }

    private struct BackwardBody : IRangeBody
    {
        public float* Y, Dy, Da, Db;
        public bool AccumulateA, AccumulateB;
        public int Length;

        public readonly void Run(int start, int end)
        {
            int s = start * Chunk, len = Math.Min(Length, end * Chunk) - s;
            var y = new ReadOnlySpan<float>(Y + s, len);
            var dy = new ReadOnlySpan<float>(Dy + s, len);
            var da = Da == null ? default : new Span<float>(Da + s, len);
            var db = Db == null ? default : new Span<float>(Db + s, len);
            bool hasA = Da != null, hasB = Db != null;
            int i = 0;
            if (Vector.IsHardwareAccelerated && len >= Vector<float>.Count)
            {
                var yv = MemoryMarshal.Cast<float, Vector<float>>(y);
                var gv = MemoryMarshal.Cast<float, Vector<float>>(dy);
                var av = MemoryMarshal.Cast<float, Vector<float>>(da);
                var bv = MemoryMarshal.Cast<float, Vector<float>>(db);
                for (int v = 0; v < yv.Length; v++)
                {
                    // relu' at the output equals relu' at its input (0 where <= 0), times dy as the relu backward computes it.
                    var g = Vector.ConditionalSelect(Vector.LessThanOrEqual(yv[v], Vector<float>.Zero), Vector<float>.Zero, Vector<float>.One) * gv[v];
                    if (hasA)
                    {
                        av[v] = AccumulateA ? av[v] + g : g;
                    }

                    if (hasB)
                    {
                        bv[v] = AccumulateB ? bv[v] + g : g;
                    }
                }

                i = yv.Length * Vector<float>.Count;
            }

            for (; i < len; i++)
            {
                float g = (y[i] <= 0f ? 0f : 1f) * dy[i];
                if (hasA)
                {
                    da[i] = AccumulateA ? da[i] + g : g;
                }

                if (hasB)
                {
                    db[i] = AccumulateB ? db[i] + g : g;
                }
            }
        }
    }
}
