// Host path of the broadcast binary ops, generic over the operator struct's Vector<float> forms. The collapsed
// broadcast's innermost dimension is a contiguous row (each operand either runs along it or is one scalar for it), so
// the forward is vector rows; the backward either accumulates whole rows into the operand's gradient (its rows are the
// output's) or, when the operand is broadcast along the row, sums each of its elements over its rows.
using System;
using System.Numerics;
using Engine.Kernels.Elementwise;
using ILGPU;

namespace Engine.Backends.Cpu;

/// <summary>Managed SIMD broadcast binary ops over CPU-accelerator buffers, for any <see cref="IBinaryOperator"/>.</summary>
internal static unsafe class CpuBinary
{
    private const int Tile = 16384;

    /// <summary>y = f(a, b).</summary>
    public static void Forward<TOp>(Device device, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, in BroadcastParams p, int length)
        where TOp : struct, IBinaryOperator
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
        fixed (float* pa = HostViews.Span(a), pb = HostViews.Span(b), py = HostViews.Span(y))
        {
            int inner = p.D3, perRow = (inner + Tile - 1) / Tile;
            var body = new ForwardBody<TOp> { A = pa, B = pb, Y = py, P = p, PerRow = perRow };
            HostParallel.For(p.D0 * p.D1 * p.D2 * perRow, ref body, Math.Max(1, Tile / Math.Min(inner, Tile)));
        }
    }

    /// <summary>dx (=|+=) the gradient of operand x (a or b, as p says) summed over its broadcast dimensions.</summary>
    public static void Backward<TOp>(Device device, ArrayView<float> x, ArrayView<float> other, ArrayView<float> dy, ArrayView<float> dx, in BroadcastGradParams p, int length)
        where TOp : struct, IBinaryOperator
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Synchronize();
        fixed (float* px = HostViews.Span(x), po = HostViews.Span(other), pdy = HostViews.Span(dy), pdx = HostViews.Span(dx))
        {
            long reduced = (long)p.R0 * p.R1 * p.R2 * p.R3;
            if (p.R3 == 1)
            {
                // x runs along the row: tiles of x's rows, each the sum of the output rows it was broadcast to.
                int inner = p.K3, perRow = (inner + Tile - 1) / Tile;
                var body = new RowGradBody<TOp> { X = px, Other = po, Dy = pdy, Dx = pdx, P = p, PerRow = perRow };
                HostParallel.For(p.K0 * p.K1 * p.K2 * perRow, ref body, (int)Math.Max(1, Tile / Math.Max(1, Math.Min(inner, Tile) * reduced)));
            }
            else
            {
                var body = new ElementGradBody<TOp> { X = px, Other = po, Dy = pdy, Dx = pdx, P = p };
                HostParallel.For(length, ref body, (int)Math.Max(1, Tile / reduced));
            }
        }
    }

    private struct ForwardBody<TOp> : IRangeBody
        where TOp : struct, IBinaryOperator
    {
        public float* A, B, Y;
        public BroadcastParams P;
        public int PerRow;

        public readonly void Run(int start, int end)
        {
            var op = default(TOp);
            int w = Vector<float>.Count, inner = P.D3;
            for (int t = start; t < end; t++)
            {
                int row = t / PerRow, s = t % PerRow * Tile, e = Math.Min(inner, s + Tile);
                int c2 = row % P.D2, c1 = row / P.D2 % P.D1, c0 = row / P.D2 / P.D1;
                float* a = A + (c0 * P.A0) + (c1 * P.A1) + (c2 * P.A2);
                float* b = B + (c0 * P.B0) + (c1 * P.B1) + (c2 * P.B2);
                float* y = Y + ((long)row * inner);
                int i = s;
                if (P.A3 != 0 && P.B3 != 0)
                {
                    for (; i + w <= e; i += w)
                    {
                        op.Apply(Vector.Load(a + i), Vector.Load(b + i)).Store(y + i);
                    }
                }
                else if (P.A3 != 0)
                {
                    var bv = new Vector<float>(*b);
                    for (; i + w <= e; i += w)
                    {
                        op.Apply(Vector.Load(a + i), bv).Store(y + i);
                    }
                }
                else if (P.B3 != 0)
                {
                    var av = new Vector<float>(*a);
                    for (; i + w <= e; i += w)
                    {
                        op.Apply(av, Vector.Load(b + i)).Store(y + i);
                    }
                }

                for (; i < e; i++)
                {
                    y[i] = op.Apply(a[i * P.A3], b[i * P.B3]);
                }
            }
        }
    }

    private struct RowGradBody<TOp> : IRangeBody
        where TOp : struct, IBinaryOperator
    {
        public float* X, Other, Dy, Dx;
        public BroadcastGradParams P;
        public int PerRow;

        public readonly void Run(int start, int end)
        {
            var op = default(TOp);
            bool ofB = P.OfB != 0;
            int w = Vector<float>.Count, inner = P.K3;
            for (int t = start; t < end; t++)
            {
                int row = t / PerRow, s = t % PerRow * Tile, e = Math.Min(inner, s + Tile);
                int k2 = row % P.K2, k1 = row / P.K2 % P.K1, k0 = row / P.K2 / P.K1;
                float* x = X + ((long)row * inner);
                float* dx = Dx + ((long)row * inner);
                if (P.Accumulate == 0)
                {
                    new Span<float>(dx + s, e - s).Clear();
                }

                for (int i0 = 0; i0 < P.R0; i0++)
                {
                    for (int i1 = 0; i1 < P.R1; i1++)
                    {
                        for (int i2 = 0; i2 < P.R2; i2++)
                        {
                            int c0 = k0 + i0, c1 = k1 + i1, c2 = k2 + i2;
                            float* g = Dy + (c0 * P.O0) + (c1 * P.O1) + (c2 * P.O2);
                            float* o = Other + (c0 * P.T0) + (c1 * P.T1) + (c2 * P.T2);
                            int i = s;
                            if (P.T3 != 0)
                            {
                                for (; i + w <= e; i += w)
                                {
                                    var gv = Vector.Load(g + i);
                                    var ov = Vector.Load(o + i);
                                    var xv = Vector.Load(x + i);
                                    (Vector.Load(dx + i) + (ofB ? op.GradB(gv, ov, xv) : op.GradA(gv, xv, ov))).Store(dx + i);
                                }
                            }
                            else
                            {
                                var ov = new Vector<float>(*o);
                                for (; i + w <= e; i += w)
                                {
                                    var gv = Vector.Load(g + i);
                                    var xv = Vector.Load(x + i);
                                    (Vector.Load(dx + i) + (ofB ? op.GradB(gv, ov, xv) : op.GradA(gv, xv, ov))).Store(dx + i);
                                }
                            }

                            for (; i < e; i++)
                            {
                                float ov = o[i * P.T3];
                                dx[i] += ofB ? op.GradB(g[i], ov, x[i]) : op.GradA(g[i], x[i], ov);
                            }
                        }
                    }
                }
            }
        }
    }

    private struct ElementGradBody<TOp> : IRangeBody
        where TOp : struct, IBinaryOperator
    {
        public float* X, Other, Dy, Dx;
        public BroadcastGradParams P;

        public readonly void Run(int start, int end)
        {
            var op = default(TOp);
            bool ofB = P.OfB != 0;
            int w = Vector<float>.Count, run = P.R3;
            for (int j = start; j < end; j++)
            {
                // x is broadcast along the row (K3 = 1): element j sums whole output rows.
                int k2 = j % P.K2, k1 = j / P.K2 % P.K1, k0 = j / P.K2 / P.K1;
                float xs = X[j];
                var xv = new Vector<float>(xs);
                var accv = Vector<float>.Zero;
                float acc = 0f;
                for (int i0 = 0; i0 < P.R0; i0++)
                {
                    for (int i1 = 0; i1 < P.R1; i1++)
                    {
                        for (int i2 = 0; i2 < P.R2; i2++)
                        {
                            int c0 = k0 + i0, c1 = k1 + i1, c2 = k2 + i2;
                            float* g = Dy + (c0 * P.O0) + (c1 * P.O1) + (c2 * P.O2);
                            float* o = Other + (c0 * P.T0) + (c1 * P.T1) + (c2 * P.T2);
                            int i = 0;
                            if (P.T3 != 0)
                            {
                                for (; i + w <= run; i += w)
                                {
                                    var gv = Vector.Load(g + i);
                                    var ov = Vector.Load(o + i);
                                    accv += ofB ? op.GradB(gv, ov, xv) : op.GradA(gv, xv, ov);
                                }
                            }

                            for (; i < run; i++)
                            {
                                float ov = o[i * P.T3];
                                acc += ofB ? op.GradB(g[i], ov, xs) : op.GradA(g[i], xs, ov);
                            }
                        }
                    }
                }

                acc += Vector.Sum(accv);
                Dx[j] = P.Accumulate != 0 ? Dx[j] + acc : acc;
            }
        }
    }
}
